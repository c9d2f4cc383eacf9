/* Does a run of faults cost more when the thread slept before it?
 * (docs/simulator.md: in ebizzy -mTt 16 on the seed's guest every 128-fault run comes
 * after the thread slept ~5 ms on mmap_sem for its mmap; costs.c's fault_4k is the
 * same run back to back, caches and TLB warm.)
 *
 *   cc -O2 -o /tmp/fault_idle bench/sim_calibrate/fault_idle.c && /tmp/fault_idle
 *
 * One run: mmap 512 KiB, write one byte per page (128 faults), munmap (ebizzy's loop).
 * Before each run the thread sleeps SLEEP us (nanosleep: the CPU goes idle, the vCPU
 * halts); the sleep lengths are interleaved round by round so that the machine's load
 * weighs on all alike.  Pinned to CPU 0.  Per sleep length: the median, 25th and 75th
 * percentiles over ROUNDS runs of the run's mean cost per fault, microseconds.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define CHUNK (512 * 1024)
#define PAGE 4096
#define ROUNDS 301
#define LEVELS 5

#include "timing.h"

static double run(long sleep_us) {
  if (sleep_us) {
    struct timespec ts = {sleep_us / 1000000, (sleep_us % 1000000) * 1000};
    nanosleep(&ts, NULL);
  }
  char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  double t0 = now_us();
  for (int i = 0; i < CHUNK; i += PAGE) ((volatile char *)p)[i] = (char)0xff;
  double t = (now_us() - t0) / (CHUNK / PAGE);
  munmap(p, CHUNK);
  return t;
}

int main(void) {
  static const long sleeps[LEVELS] = {0, 300, 1000, 3000, 10000};
  static double v[LEVELS][ROUNDS];
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(0, &s);
  sched_setaffinity(0, sizeof s, &s);
  for (int r = 0; r < 50; r++) run(0); /* warm up */
  for (int r = 0; r < ROUNDS; r++)
    for (int k = 0; k < LEVELS; k++) v[k][r] = run(sleeps[k]);
  for (int k = 0; k < LEVELS; k++) {
    qsort(v[k], ROUNDS, sizeof v[k][0], cmp);
    printf("idle_%ld %.4f idle_%ld_p25 %.4f idle_%ld_p75 %.4f%s", sleeps[k], v[k][ROUNDS / 2],
           sleeps[k], v[k][ROUNDS / 4], sleeps[k], v[k][3 * ROUNDS / 4],
           k + 1 < LEVELS ? " " : "\n");
  }
  return 0;
}
