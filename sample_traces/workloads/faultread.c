/*
 * faultread - one thread: user faults on fresh anonymous pages, interleaved
 * with read() of a file into untouched pages (kernel-mode faults from
 * copy_to_user, which always take mmap_lock) and madvise(MADV_DONTNEED)
 * (mmap_lock for read, not a fault).  Shape (b) of docs/per-vma-lock.md:
 * almost nothing falls back, although the thread takes mmap_lock often.
 *
 * build: gcc -O1 -o faultread faultread.c
 * usage: faultread [ROUNDS=8] [PAGES=16] [FILE=/proc/self/exe] [EXIT=0]
 * EXIT is the exit status (tests check that capture passes it through).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 8;
	int pages = argc > 2 ? atoi(argv[2]) : 16;
	const char *file = argc > 3 ? argv[3] : "/proc/self/exe";
	int status = argc > 4 ? atoi(argv[4]) : 0;
	long page = sysconf(_SC_PAGESIZE);
	if (rounds < 1 || pages < 2) {
		fprintf(stderr, "usage: faultread [ROUNDS] [PAGES] [FILE] [EXIT]\n");
		return 2;
	}
	int fd = open(file, O_RDONLY);
	if (fd < 0) {
		perror(file);
		return 1;
	}
	char *p = mmap(NULL, (size_t)pages * page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i + 1 < pages; i += 2) {
			((volatile char *)p)[(long)i * page] = (char)r;	/* user fault */
			if (pread(fd, p + (long)(i + 1) * page, 64, 0) < 0)	/* kernel fault */
				perror("pread");
		}
		madvise(p, (size_t)pages * page, MADV_DONTNEED);
	}
	close(fd);
	return status;
}
