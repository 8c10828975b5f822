/* SPDX-License-Identifier: GPL-2.0 */
/*
 * QEMU TCG (x86_64 guest) restarts a faulting `SETcc m8` with wrong flags.
 *
 * `neg` of INT64_MIN sets OF. `seto (mem)` must then store 1. QEMU's x86
 * translator folds the lazily kept flags into its flag registers before the
 * store; when the store faults (here: the first store to a fresh anonymous
 * page; in maptest: the first store to a stack page after fork(), copy on
 * write), the guest kernel handles the fault and the instruction runs again
 * with the lazy flag state of its start but the flag operands already
 * overwritten, and OF reads 0. A real CPU, or a `seto` into a register, or
 * a page written before, always gives 1.
 *
 * This is the root of README "Known problems" (maptest verify's fork checks
 * recorded as failed): rustc spills `ok` of a check with `seto 0xd0(%rsp)`.
 * userspace/src/fork.rs is the workaround.
 *
 * Build on the host and run in a guest (any kernel flavor):
 *   gcc -O2 -static -o build/qemu-setcc-fault tests/repro/qemu-setcc-fault.c
 *   scripts/vm --no-build --flavor normal --mem small \
 *       --add build/qemu-setcc-fault --exec '/root/qemu-setcc-fault 1000'
 * Seen on 2026-12-05 and 06 with QEMU 7.2.22 (Debian 12) and 10.0.2 (Debian
 * 13, bookworm-backports):
 *   fault-on-store: 1000 of 1000 lost OF
 *   register: 0 of 1000 lost OF
 *   touched-page: 0 of 1000 lost OF
 * and on the host CPU (`./build/qemu-setcc-fault 1000`): 0 of 1000 each.
 * Exits 1 if any OF was lost.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* neg INT64_MIN (OF=1), then seto straight into *p. */
static void seto_mem(volatile uint8_t *p)
{
	asm volatile("movabs $0x8000000000000000, %%rax\n\t"
		     "neg %%rax\n\t"
		     "seto (%0)"
		     : : "r"(p) : "rax", "memory", "cc");
}

/* The same, through a register: no store can fault between the two. */
static void seto_reg(volatile uint8_t *p)
{
	uint8_t of;

	asm volatile("movabs $0x8000000000000000, %%rax\n\t"
		     "neg %%rax\n\t"
		     "seto %0"
		     : "=q"(of) : : "rax", "cc");
	*p = of;
}

static long run(long n, int mode)
{
	long ps = sysconf(_SC_PAGESIZE), lost = 0;

	for (long i = 0; i < n; i++) {
		volatile uint8_t *p = mmap(NULL, ps, PROT_READ | PROT_WRITE,
					   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("mmap");
			exit(2);
		}
		if (mode == 2)
			p[1] = 0;	/* the page is present and writable */
		if (mode == 1)
			seto_reg(p);
		else
			seto_mem(p);
		lost += *p != 1;
		munmap((void *)p, ps);
	}
	return lost;
}

int main(int argc, char **argv)
{
	static const char *const name[] = { "fault-on-store", "register", "touched-page" };
	long n = argc > 1 ? atol(argv[1]) : 1000, bad = 0;

	for (int mode = 0; mode < 3; mode++) {
		long lost = run(n, mode);

		printf("%s: %ld of %ld lost OF\n", name[mode], lost, n);
		bad += lost;
	}
	return bad != 0;
}
