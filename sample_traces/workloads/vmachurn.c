/*
 * vmachurn - FAULTERS threads take first-touch faults on fresh anonymous
 * mmaps while one more thread churns the address space (mmap, mprotect,
 * munmap of a region of its own).  Shape (a) of docs/per-vma-lock.md: most
 * faults complete under the per-VMA lock, some fall back to mmap_lock because
 * the churner holds it for write (a failed __vmf_anon_prepare trylock, or a
 * VMA lock that cannot be taken while its VMA is being changed).
 *
 * build: gcc -O1 -pthread -o vmachurn vmachurn.c
 * usage: vmachurn [FAULTERS=4] [ROUNDS=16] [PAGES=32] [CHURNS=200]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int rounds = 16, pages = 32, churns = 200;
static long page;

static void *faulter(void *arg)
{
	for (int r = 0; r < rounds; r++) {
		char *p = mmap(NULL, (size_t)pages * page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		for (int i = 0; i < pages; i++)
			((volatile char *)p)[(long)i * page] = (char)r;
		munmap(p, (size_t)pages * page);
	}
	return arg;
}

static void *churner(void *arg)
{
	for (int i = 0; i < churns; i++) {
		char *p = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		mprotect(p, 8 * page, PROT_READ);
		munmap(p, 16 * page);
	}
	return arg;
}

int main(int argc, char **argv)
{
	int faulters = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3)
		pages = atoi(argv[3]);
	if (argc > 4)
		churns = atoi(argv[4]);
	if (faulters < 1 || faulters > 256 || rounds < 1 || pages < 1 || churns < 0) {
		fprintf(stderr, "usage: vmachurn [FAULTERS] [ROUNDS] [PAGES] [CHURNS]\n");
		return 2;
	}
	page = sysconf(_SC_PAGESIZE);
	pthread_t t[257];
	for (int i = 0; i < faulters; i++)
		pthread_create(&t[i], NULL, faulter, NULL);
	pthread_create(&t[faulters], NULL, churner, NULL);
	for (int i = 0; i <= faulters; i++)
		pthread_join(t[i], NULL);
	return 0;
}
