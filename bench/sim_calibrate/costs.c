/* Microbenchmarks for the simulator's constants (docs/simulator.md).
 *
 *   cc -O2 -pthread -o costs costs.c && ./costs
 *
 * Each line: NAME median_us (over REPS repetitions).  Measured in-process with
 * clock_gettime(CLOCK_MONOTONIC); run it on an idle machine if you can, and
 * read ratios rather than absolutes when it is not.
 *   fault_4k       first-touch anonymous write fault, per page (512 KiB chunk)
 *   fault_4k_p25/p75  quartiles of that per-chunk mean: the spread of a run's pace
 *   mmap_512k      mmap of a 512 KiB private anonymous chunk (ebizzy's record)
 *   munmap_512k_1  munmap of that chunk, all 128 pages touched, mm on 1 CPU
 *   munmap_512k_8pages / _0pages  the same with 8 / 0 pages touched: the
 *                  fixed part of munmap and its cost per mapped page
 *   munmap_512k_2  the same while a second thread of the mm runs on the other
 *                  CPU: the difference is the TLB-shootdown IPI to one CPU
 *   fault_file_private / fault_file_shared  write fault per page on a private
 *                  (copy-on-write) / shared mapping of a cached file: page_fault2/3
 *   clear_4k       memset of 4 KiB (the page clearing inside a fault)
 *   wake           futex wake to the woken thread running (half a ping-pong)
 *   wake_p25/p75   its quartiles: the spread of a wake-up
 *   line           one cache-line transfer between the two CPUs (atomic ping-pong)
 *   ebizzy_1/2     records/s of ebizzy -mT's loop (mmap, touch, munmap) with 1, 2 threads
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (512 * 1024)
#define PAGE 4096
#define REPS 2000

#include "timing.h"

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp);
  return v[n / 2];
}

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static double fault_v[REPS], mmap_v[REPS], munmap_v[REPS];

static void chunk_cycle_n(int reps, int touch) {
  for (int r = 0; r < reps; r++) {
    double t0 = now_us();
    char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    double t1 = now_us();
    for (int i = 0; i < touch * PAGE; i += PAGE) p[i] = (char)0xff;
    double t2 = now_us();
    munmap(p, CHUNK);
    double t3 = now_us();
    mmap_v[r] = t1 - t0;
    fault_v[r] = touch ? (t2 - t1) / touch : 0;
    munmap_v[r] = t3 - t2;
  }
}

static void chunk_cycle(int reps) { chunk_cycle_n(reps, CHUNK / PAGE); }

/* will-it-scale page_fault2 / page_fault3: write faults on a private / shared mapping
 * of a file (tmpfs here, a temporary file there), per page, pages already cached */
static double file_fault(int flags) {
  char path[] = "/tmp/sim_costs_XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  if (fd < 0 || ftruncate(fd, CHUNK) != 0) return -1;
  char *w = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  memset(w, 1, CHUNK); /* populate the page cache */
  munmap(w, CHUNK);
  double v[REPS / 4];
  for (int r = 0; r < REPS / 4; r++) {
    char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, flags, fd, 0);
    double t0 = now_us();
    for (int i = 0; i < CHUNK; i += PAGE) p[i] = (char)0xff;
    v[r] = (now_us() - t0) / (CHUNK / PAGE);
    munmap(p, CHUNK);
  }
  close(fd);
  return median(v, REPS / 4);
}

static atomic_int spin_stop;
static void *spinner(void *arg) {
  (void)arg;
  pin(1);
  while (!atomic_load(&spin_stop)) {
  }
  return NULL;
}

static atomic_int fword;
static atomic_int line_word;
static double wake_sum;

static long futex(atomic_int *a, int op, int v) {
  return syscall(SYS_futex, a, op, v, NULL, NULL, 0);
}

static void *ponger(void *arg) {
  (void)arg;
  pin(1);
  for (int r = 0; r < REPS; r++) {
    while (atomic_load(&fword) != 1) futex(&fword, FUTEX_WAIT_PRIVATE, 0);
    atomic_store(&fword, 0);
    futex(&fword, FUTEX_WAKE_PRIVATE, 1);
  }
  return NULL;
}

static void *line_peer(void *arg) {
  (void)arg;
  pin(1);
  for (int r = 0; r < REPS * 100; r++) {
    while (atomic_load(&line_word) != 2 * r + 1) {
    }
    atomic_store(&line_word, 2 * r + 2);
  }
  return NULL;
}

static atomic_int go;
static atomic_long records;
static void *ebizzy_thread(void *arg) {
  pin((int)(long)arg);
  long n = 0;
  while (atomic_load(&go) == 0) {
  }
  while (atomic_load(&go) == 1) {
    char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (int i = 0; i < CHUNK; i += PAGE) p[i] = (char)0xff;
    munmap(p, CHUNK);
    n++;
  }
  atomic_fetch_add(&records, n);
  return NULL;
}

static double ebizzy(int threads, double seconds) {
  pthread_t th[8];
  atomic_store(&go, 0);
  atomic_store(&records, 0);
  for (long i = 0; i < threads; i++) pthread_create(&th[i], NULL, ebizzy_thread, (void *)i);
  double t0 = now_us();
  atomic_store(&go, 1);
  usleep((useconds_t)(seconds * 1e6));
  atomic_store(&go, 2);
  double t1 = now_us();
  for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
  return atomic_load(&records) / ((t1 - t0) / 1e6);
}

int main(void) {
  pin(0);
  chunk_cycle(200); /* warm up */
  chunk_cycle(REPS);
  printf("fault_4k %.4f\n", median(fault_v, REPS));
  printf("fault_4k_p25 %.4f\nfault_4k_p75 %.4f\n", fault_v[REPS / 4], fault_v[3 * REPS / 4]);
  printf("mmap_512k %.4f\n", median(mmap_v, REPS));
  printf("munmap_512k_1 %.4f\n", median(munmap_v, REPS));
  chunk_cycle_n(REPS, 8);
  printf("munmap_512k_8pages %.4f\n", median(munmap_v, REPS));
  chunk_cycle_n(REPS, 0);
  printf("munmap_512k_0pages %.4f\n", median(munmap_v, REPS));

  printf("fault_file_private %.4f\n", file_fault(MAP_PRIVATE));
  printf("fault_file_shared %.4f\n", file_fault(MAP_SHARED));

  pthread_t s;
  atomic_store(&spin_stop, 0);
  pthread_create(&s, NULL, spinner, NULL);
  usleep(10000);
  chunk_cycle(REPS);
  atomic_store(&spin_stop, 1);
  pthread_join(s, NULL);
  printf("munmap_512k_2 %.4f\n", median(munmap_v, REPS));
  printf("fault_4k_2 %.4f\n", median(fault_v, REPS));

  static char buf[PAGE * 256];
  double cv[REPS];
  for (int r = 0; r < REPS; r++) {
    char *b = buf + (r % 256) * PAGE;
    double t0 = now_us();
    for (int k = 0; k < 16; k++) memset(b, k, PAGE);
    cv[r] = (now_us() - t0) / 16;
  }
  printf("clear_4k %.4f\n", median(cv, REPS));

  pthread_t p;
  pthread_create(&p, NULL, ponger, NULL);
  usleep(10000);
  double wv[REPS];
  for (int r = 0; r < REPS; r++) {
    double t0 = now_us();
    atomic_store(&fword, 1);
    futex(&fword, FUTEX_WAKE_PRIVATE, 1);
    while (atomic_load(&fword) != 0) futex(&fword, FUTEX_WAIT_PRIVATE, 1);
    wv[r] = (now_us() - t0) / 2;
  }
  pthread_join(p, NULL);
  printf("wake %.4f\n", median(wv, REPS));
  printf("wake_p25 %.4f\nwake_p75 %.4f\n", wv[REPS / 4], wv[3 * REPS / 4]);
  (void)wake_sum;

  pthread_t l;
  atomic_store(&line_word, 0);
  pthread_create(&l, NULL, line_peer, NULL);
  double lv[REPS];
  for (int r = 0; r < REPS; r++) {
    double t0 = now_us();
    for (int k = 0; k < 100; k++) {
      int i = r * 100 + k;
      atomic_store(&line_word, 2 * i + 1);
      while (atomic_load(&line_word) != 2 * i + 2) {
      }
    }
    lv[r] = (now_us() - t0) / 200;
  }
  pthread_join(l, NULL);
  printf("line %.4f\n", median(lv, REPS));

  printf("ebizzy_1 %.1f\n", ebizzy(1, 2.0));
  printf("ebizzy_2 %.1f\n", ebizzy(2, 2.0));
  return 0;
}
