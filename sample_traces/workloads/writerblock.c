/*
 * writerblock - one thread holds mmap_lock for write for long stretches
 * (mprotect of a large populated region changes every PTE under the write
 * lock) while FAULTERS threads touch, one after the other, fresh anonymous VMAs
 * prepared beforehand (each without an anon_vma yet).  Shape (c) of
 * docs/per-vma-lock.md: the first touch of such a VMA needs mmap_lock for
 * read (the mmap_read_trylock of __vmf_anon_prepare); when the writer holds it
 * the fault returns VM_FAULT_RETRY and waits for the writer in
 * lock_mm_and_find_vma.
 *
 * build: gcc -O1 -pthread -o writerblock writerblock.c
 * usage: writerblock [FAULTERS=2] [VMAS=24] [BIG_MB=128] [FLIPS=40]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int vmas = 24, flips = 40;
static size_t big;
static long page;
static volatile int writing = 1;

static void *faulter(void *arg)
{
	char *p = arg;	/* vmas read-write pages, each followed by a PROT_NONE one */
	for (int i = 0; i < vmas; i++) {
		((volatile char *)p)[2L * i * page] = (char)i;
		usleep(300);
	}
	return NULL;
}

static void *writer(void *arg)
{
	char *b = arg;
	for (int i = 0; i < flips && writing; i++)
		mprotect(b, big, (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ);
	return NULL;
}

int main(int argc, char **argv)
{
	int faulters = argc > 1 ? atoi(argv[1]) : 2;
	if (argc > 2)
		vmas = atoi(argv[2]);
	big = (size_t)(argc > 3 ? atoi(argv[3]) : 128) << 20;
	if (argc > 4)
		flips = atoi(argv[4]);
	if (faulters < 1 || faulters > 64 || vmas < 1 || big == 0 || flips < 1) {
		fprintf(stderr, "usage: writerblock [FAULTERS] [VMAS] [BIG_MB] [FLIPS]\n");
		return 2;
	}
	page = sysconf(_SC_PAGESIZE);
	char *b = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	/* populated with small pages but without faults (no events): mprotect then
	 * has every PTE to change while it holds the write lock */
	madvise(b, big, MADV_NOHUGEPAGE);
	if (madvise(b, big, MADV_POPULATE_WRITE))
		memset(b, 1, big);
	char *areas[64];
	for (int t = 0; t < faulters; t++) {
		areas[t] = mmap(NULL, 2L * vmas * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (areas[t] == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		for (int i = 0; i < vmas; i++)	/* separate VMAs: no merging, no anon_vma */
			mprotect(areas[t] + 2L * i * page, page, PROT_READ | PROT_WRITE);
	}
	pthread_t w, t[64];
	pthread_create(&w, NULL, writer, b);
	for (int i = 0; i < faulters; i++)
		pthread_create(&t[i], NULL, faulter, areas[i]);
	for (int i = 0; i < faulters; i++)
		pthread_join(t[i], NULL);
	writing = 0;
	pthread_join(w, NULL);
	return 0;
}
