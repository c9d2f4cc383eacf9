/*
 * mtfault — a small multi-threaded program that takes page faults and changes
 * its address space while doing so, used for every real capture in
 * sample_traces/ and tests/data/.
 *
 * Each of THREADS threads repeats ROUNDS times: mmap CHUNK bytes of anonymous
 * memory, touch every page (one fault each), mprotect half of it read-only,
 * then munmap it.  The mmap/mprotect/munmap calls take the mmap lock for
 * write while the other threads are faulting, which is exactly the churn that
 * makes speculative / per-VMA-lock faults fall back.
 *
 * build: gcc -O1 -pthread -o mtfault mtfault.c
 * usage: mtfault [THREADS=4] [ROUNDS=8] [CHUNK_KB=1024]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int rounds = 8;
static size_t chunk = 1 << 20;

static void *worker(void *arg)
{
	long page = sysconf(_SC_PAGESIZE);
	for (int r = 0; r < rounds; r++) {
		char *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			exit(1);
		}
		for (size_t off = 0; off < chunk; off += page)
			((volatile char *)p)[off] = (char)r;
		mprotect(p, chunk / 2, PROT_READ);
		munmap(p, chunk);
	}
	return arg;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3)
		chunk = (size_t)atoi(argv[3]) * 1024;
	if (threads < 1 || threads > 1024 || rounds < 1 || chunk < 4096) {
		fprintf(stderr, "usage: mtfault [THREADS] [ROUNDS] [CHUNK_KB]\n");
		return 2;
	}
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	free(t);
	return 0;
}
