/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Probe for README "Known problems" (maptest verify's fork checks read back
 * as failed): does a record appended to a heap array right after
 * fork + waitpid ever read back changed? Each round appends 40 records,
 * forking before records 20, 21 and 22 as verify's three fork checks do (the
 * child writes one byte through a shared mapping of /dev/mapdrv, if given,
 * and _exits), then checks every record.
 *
 * Build on the host and run in a guest (debug kernel, host under load):
 *   gcc -O2 -static -o build/fork-records tests/repro/fork-records.c
 *   printf 'modprobe mapdrv report=0 buffer_pages=1 map_mode=2\n./fork-records 1500 /dev/mapdrv\n./fork-records 1500\n' >build/fr.sh
 *   scripts/vm --no-build --flavor debug --timeout 1500 --add build/fork-records \
 *       --add build/fr.sh --exec 'sh ./fr.sh'
 * Prints "BAD ..." per changed record and "fork-records: N rounds, M bad".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
struct rec { const char *name; size_t a, b, c; unsigned char ok; };
int main(int argc, char **argv)
{
	long n = atol(argv[1]), bad = 0;
	volatile unsigned char *map = NULL;
	if (argc > 2) {
		int fd = open(argv[2], O_RDWR);
		if (fd < 0) { perror("open"); return 2; }
		map = mmap(NULL, sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) { perror("mmap"); return 2; }
		(void)map[0];
	}
	for (long it = 0; it < n; it++) {
		struct rec *v = NULL;
		size_t cap = 0, len = 0;
		for (size_t k = 0; k < 40; k++) {
			int forked = (k >= 20 && k < 23);
			if (forked) {
				pid_t p = fork();
				if (p == 0) { if (map) map[9] = 0xc1; _exit(0); }
				int st;
				waitpid(p, &st, 0);
			}
			if (len == cap) { cap = cap ? cap * 2 : 4; v = realloc(v, cap * sizeof *v); }
			v[len].name = "x"; v[len].a = it; v[len].b = k; v[len].c = forked; v[len].ok = 1;
			len++;
		}
		for (size_t k = 0; k < len; k++)
			if (!v[k].ok || v[k].b != k || v[k].a != (size_t)it) {
				bad++;
				printf("BAD it=%ld k=%zu ok=%d a=%zu b=%zu forked=%zu\n", it, k, v[k].ok, v[k].a, v[k].b, v[k].c);
			}
		free(v);
	}
	printf("fork-records: %ld rounds, %ld bad\n", n, bad);
	return bad != 0;
}
