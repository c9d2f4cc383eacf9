/* How much of ebizzy's mmap / munmap is the VMA rewrite that moves SPF's sequence
 * counts (docs/simulator.md, `seq_window_us`).
 *
 *   cc -O2 -o /tmp/vma_window bench/sim_calibrate/vma_window.c && /tmp/vma_window
 *
 * SPF v11/v12 write-begins a VMA's vm_sequence only inside __vma_adjust (patch
 * "mm: VMA sequence count": vma and vma->vm_next) and in unmap_page_range (the VMA
 * being unmapped).  The rest of the syscall (entry, get_unmapped_area, allocating
 * the vm_area_struct, accounting, the zap, the TLB flush) does not.  User space
 * cannot time __vma_adjust alone, so this bounds it by difference, page-less:
 *   alone_mmap / alone_munmap   a 512 KiB chunk with no neighbour (no merge, no split)
 *   merge_mmap    mmap into a 512 KiB hole between two anonymous chunks: the new
 *                 range merges with both (vma_merge; one VMA rewritten, one freed)
 *   split_munmap  munmap of the middle 512 KiB of a 1.5 MiB VMA (two splits)
 * merge_mmap - alone_mmap and split_munmap - alone_munmap are the cost of the VMA
 * rewrite (plus the vm_area_struct allocations the splits need): an upper bound of
 * the sequence-count window of each change.  Medians of REPS, microseconds.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#define CHUNK (512 * 1024)
#define REPS 20000

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#include "timing.h"

static double q(double *v, int n, double f) {
  qsort(v, n, sizeof *v, cmp);
  return v[(int)(n * f)];
}

static double am[REPS], au[REPS], mm[REPS], su[REPS];

int main(void) {
  const int prot = PROT_READ | PROT_WRITE, fl = MAP_PRIVATE | MAP_ANONYMOUS;
  /* a reserved 16 MiB window, then freed: its middle is a place with no neighbours */
  char *win = mmap(NULL, 16 << 20, PROT_NONE, fl, -1, 0);
  munmap(win, 16 << 20);
  char *alone = win + (8 << 20);
  char *trio = win + (2 << 20); /* [trio, trio + 3 chunks): one merged VMA */
  if (mmap(trio, 3 * CHUNK, prot, fl | MAP_FIXED_NOREPLACE, -1, 0) != trio) return 1;
  for (int r = 0; r < REPS; r++) {
    double t0 = now_us();
    char *p = mmap(alone, CHUNK, prot, fl | MAP_FIXED_NOREPLACE, -1, 0);
    double t1 = now_us();
    munmap(p, CHUNK);
    double t2 = now_us();
    munmap(trio + CHUNK, CHUNK); /* split the merged VMA twice */
    double t3 = now_us();
    char *h = mmap(trio + CHUNK, CHUNK, prot, fl | MAP_FIXED_NOREPLACE, -1, 0);
    double t4 = now_us();
    if (p != alone || h != trio + CHUNK) return 2;
    am[r] = t1 - t0;
    au[r] = t2 - t1;
    su[r] = t3 - t2;
    mm[r] = t4 - t3;
  }
  printf("alone_mmap %.4f alone_munmap %.4f merge_mmap %.4f split_munmap %.4f\n",
         q(am, REPS, 0.5), q(au, REPS, 0.5), q(mm, REPS, 0.5), q(su, REPS, 0.5));
  printf("p25: alone_mmap %.4f alone_munmap %.4f merge_mmap %.4f split_munmap %.4f\n",
         q(am, REPS, 0.25), q(au, REPS, 0.25), q(mm, REPS, 0.25), q(su, REPS, 0.25));
  return 0;
}
