/* Does a fault's cost depend on whether the page it clears is in cache?
 * (docs/simulator.md: the seed's fault windows need ~5-6 us; this machine's recycled
 * 4 KiB fault costs 1.49 us.)
 *
 *   cc -O2 -o /tmp/fault_cold bench/sim_calibrate/fault_cold.c && /tmp/fault_cold
 *
 * Interleaved, so that the machine's load weighs on both alike:
 *   hot_fault   write fault per page of a 512 KiB chunk mapped, touched and unmapped
 *               over and over (ebizzy's loop: the freed pages come back from this
 *               CPU's free lists, still in cache)
 *   cold_fault  the same per page of a 64 MiB chunk (each page cleared is one not
 *               touched for 64 MiB: out of the caches)
 *   hot_clear / cold_clear  memset of 4 KiB inside a 256 KiB / 256 MiB buffer
 *               walked in order (clear_4k_us's measurement, and its DRAM-bound twin)
 * Medians over ROUNDS of the per-page / per-4 KiB mean, microseconds.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PAGE 4096
#define ROUNDS 31

#include "timing.h"

static double fault_per_page(size_t bytes, int reps) {
  double t = 0;
  for (int r = 0; r < reps; r++) {
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    madvise(p, bytes, MADV_NOHUGEPAGE);
    double t0 = now_us();
    for (size_t i = 0; i < bytes; i += PAGE) ((volatile char *)p)[i] = 1;
    t += now_us() - t0;
    munmap(p, bytes);
  }
  return t / (reps * (double)(bytes / PAGE));
}

static double clear_per_4k(char *buf, size_t bytes, size_t *off, size_t n) {
  double t0 = now_us();
  for (size_t k = 0; k < n; k++) {
    memset(buf + *off, 0, PAGE);
    *off = (*off + PAGE) % bytes;
  }
  return (now_us() - t0) / n;
}

int main(void) {
  double hf[ROUNDS], cf[ROUNDS], hc[ROUNDS], cc[ROUNDS];
  size_t small = 256 << 10, big = (size_t)256 << 20;
  char *hb = malloc(small), *cb = malloc(big);
  memset(hb, 1, small);
  memset(cb, 1, big);
  size_t ho = 0, co = 0;
  for (int r = 0; r < ROUNDS; r++) {
    hf[r] = fault_per_page(512 << 10, 128);
    cf[r] = fault_per_page((size_t)64 << 20, 1);
    hc[r] = clear_per_4k(hb, small, &ho, 16384);
    cc[r] = clear_per_4k(cb, big, &co, 16384);
  }
  qsort(hf, ROUNDS, sizeof *hf, cmp);
  qsort(cf, ROUNDS, sizeof *cf, cmp);
  qsort(hc, ROUNDS, sizeof *hc, cmp);
  qsort(cc, ROUNDS, sizeof *cc, cmp);
  int m = ROUNDS / 2;
  printf("hot_fault %.4f cold_fault %.4f hot_clear %.4f cold_clear %.4f\n", hf[m], cf[m], hc[m],
         cc[m]);
  return 0;
}
