# The mm operations a process can apply to a /dev/mapdrv mapping (madvise,
# fork, mremap, splits, GUP, read/write, core dumps), in every map mode,
# each held to the kernel's page accounting (maptest mm: see
# userspace/src/mm.rs for what the kernel decides and where). After all of
# them, every buffer page's map count in /proc/kpagecount is back at 0 and
# its reference count at vmalloc's own.
. ./lib.sh
ktap_plan 9

# mm_in_mode MODE: load an 8-page buffer in map mode MODE, run maptest mm.
mm_in_mode() {
	mode="$1" name="$2"
	check "modprobe mapdrv map_mode=$mode for maptest mm" modprobe mapdrv report=0 verbose=0 buffer_pages=8 map_mode=$mode
	maptest mm --pages 8 --mode "$name" >/tmp/mm.out 2>&1
	sed -n 's/^FAIL  /# FAIL ('"$name"') /p' /tmp/mm.out
	check "maptest mm --mode $name: every operation keeps the contract and the page accounting" sh -c \
		"grep -Eq '^[1-9][0-9]* passed, 0 failed$' /tmp/mm.out || { grep -m3 '^FAIL' /tmp/mm.out; tail -n 2 /tmp/mm.out; exit 1; }"
	check "rmmod after maptest mm ($name)" rmmod mapdrv
}
mm_in_mode 0 fault
mm_in_mode 1 fault-around
mm_in_mode 2 eager
grep -c '^PASS' /tmp/mm.out | sed 's/^/# figure: maptest mm: /; s/$/ checks per map mode passed/'
