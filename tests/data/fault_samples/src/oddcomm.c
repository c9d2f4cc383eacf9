#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
/* names itself "a b:1 [2] \xff" (space, colon, digits, brackets, a non-UTF-8 byte), then faults 8 pages */
int main(void)
{
	prctl(PR_SET_NAME, "a b:1 [2] \xff", 0, 0, 0);
	char *p = mmap(0, 8 << 12, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < 8; i++)
		p[i << 12] = 1;
	return 0;
}
