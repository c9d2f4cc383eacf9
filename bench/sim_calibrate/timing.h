/* Shared by the calibration microbenchmarks (costs.c, fault_cold.c, vma_window.c):
 * a monotonic clock in microseconds and a comparator for qsort of doubles (medians). */
#ifndef SIM_CALIBRATE_TIMING_H
#define SIM_CALIBRATE_TIMING_H
#include <time.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
#endif
