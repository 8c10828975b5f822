# /dev/mapdrv: the device contract (maptest verify, several buffer sizes),
# the log story, parameter bounds, and the module pinned while open or mapped.
. ./lib.sh
ktap_plan 86

# verify is told what the test loaded (--pages, --mode, --window): a module
# that runs anything else fails, and every expectation comes from here.
# Sizes: the default, 1, 3, 64, and 37 (not a multiple of the window).
# verify_loaded NAME PAGES MODE WINDOW PARAMS...: load, verify, unload
# (WINDOW "-": not fault-around, no window to state).
verify_loaded() {
	name="$1" pages="$2" mode="$3" window="$4"
	shift 4
	check "modprobe mapdrv $name" modprobe mapdrv report=0 verbose=0 buffer_pages=$pages "$@"
	expect="--pages $pages --mode $mode"
	[ "$window" = - ] || expect="$expect --window $window"
	maptest verify $expect >/tmp/verify.out 2>&1
	verify_rc=$?
	sed -n 's/^FAIL  /# FAIL ('"$name"') /p' /tmp/verify.out
	# On failure the "not ok" line carries verify's first failing checks,
	# or, when it failed none (it died, or stopped with an error), its exit
	# status and last lines.
	check "maptest verify $expect passes every check ($name)" sh -c \
		"grep -Eq '^[1-9][0-9]* passed, 0 failed$' /tmp/verify.out || { grep -m2 '^FAIL' /tmp/verify.out ||
			{ echo 'maptest verify exited with status $verify_rc after:'; tail -n 2 /tmp/verify.out; }; exit 1; }"
	check "rmmod after verify ($name)" rmmod mapdrv
}
for pages in 10 1 3 37 64; do
	verify_loaded "buffer_pages=$pages" $pages fault -
done

# The opt-in map modes keep the contract (verify adapts its laziness checks
# to the mode and checks the fault and page counts of each).
for pages in 1 37 64; do
	verify_loaded "map_mode=1 buffer_pages=$pages" $pages fault-around 16 map_mode=1
	verify_loaded "map_mode=2 buffer_pages=$pages" $pages eager - map_mode=2
done
verify_loaded "map_mode=1 fault_around_pages=7 buffer_pages=64" 64 fault-around 7 map_mode=1 fault_around_pages=7
verify_loaded "map_mode=1 fault_around_pages=512 buffer_pages=64" 64 fault-around 512 map_mode=1 fault_around_pages=512
# A module loaded otherwise than the test says fails verify.
check "modprobe mapdrv buffer_pages=12 for a wrong expectation" modprobe mapdrv report=0 verbose=0 buffer_pages=12
check "verify --pages 10 fails on a module loaded with 12 pages" sh -c \
	'! maptest verify --pages 10 --mode fault >/tmp/v && grep -q "^FAIL  the module runs what the test loaded" /tmp/v'
check "rmmod after the wrong expectation" rmmod mapdrv
# touch_in_mode MODE NAME=VALUE...: `maptest touch` over 64 pages loaded in
# map mode MODE reports those fields.
touch_in_mode() {
	modprobe mapdrv report=0 verbose=0 buffer_pages=64 map_mode="$1" || return 1
	shift
	json_fields_are "$(maptest --json touch)" "$@"
	touch_rc=$?
	rmmod mapdrv && return $touch_rc
}
check "maptest touch: one fault per 16-page window in fault-around mode" touch_in_mode 1 faults=4 pages_mapped=64
check "maptest touch: no fault at all in eager mode" touch_in_mode 2 rss_kb_after_mmap=$((64 * PAGE_SIZE / 1024)) faults=0 pages_mapped=64
# fault_around_pages is checked in every mode, not only the one that uses it.
for bad in "map_mode=3" "map_mode=1 fault_around_pages=0" "map_mode=1 fault_around_pages=513" \
	"map_mode=0 fault_around_pages=0" "map_mode=2 fault_around_pages=513" "verbose=3"; do
	mark_log
	check "modprobe mapdrv $bad is refused" sh -c "! modprobe mapdrv report=0 $bad"
	check_log "the refusal of $bad is explained" 'mapdrv: (map_mode=3 is unknown|fault_around_pages=(0|513) is out of range|invalid parameters .* verbose=3)'
done

# Privilege: any opener may read the stats; the ioctls that run up to a
# million allocations in the kernel need CAP_SYS_ADMIN (EPERM otherwise).
check "modprobe mapdrv for the privilege checks" modprobe mapdrv report=0 verbose=0
chmod 0666 /dev/mapdrv
check "an unprivileged opener reads the stats" json_fields_are "$(maptest --uid 65534 --json stats)" buffer_pages=10
check "an unprivileged MAPDRV_IOC_EXERCISE is refused with EPERM" sh -c '
	! maptest --uid 65534 exercise pages 10 2>/tmp/eperm && grep -q "Operation not permitted" /tmp/eperm'
check "an unprivileged MAPDRV_IOC_BENCH is refused with EPERM" sh -c '
	! maptest --uid 65534 bench-alloc --rounds 1 --iterations 10 2>/tmp/eperm && grep -q "Operation not permitted" /tmp/eperm'
check "root may still run MAPDRV_IOC_EXERCISE" sh -c 'maptest exercise pages 10 | grep -q "10 ok"'
check "rmmod after the privilege checks" rmmod mapdrv
check "the C reference module serves the same buffer" sh -c '
	modprobe mapdrv_cref buffer_pages=4 && maptest --device /dev/mapdrv_cref read | grep -q "reads \"ok\"" && rmmod mapdrv_cref'

mark_log
check "modprobe mapdrv verbose=2" modprobe mapdrv report=0 verbose=2
check "maptest read prints the kernel's ok" sh -c 'maptest read | grep -q "reads \"ok\""'
check_log "the log tells the open" 'mapdrv: open: read-only \(1 files open\)'
check_log "the log tells the mmap, with nothing mapped yet" 'mapdrv: mmap: pages 0\.\.1 of 10, MAP_PRIVATE read-only, nothing mapped yet'
check_log "the log tells the fault on page 0" 'mapdrv: fault: page 0 of 10 \(read\) at user address 0x[0-9a-f]+, served from the buffer.s page array'
check_log "the log tells the unmap" 'mapdrv: unmap: 1 pages of the buffer \(from page 0\) unmapped, 0 mappings left'
check_log "the log tells the close" 'mapdrv: close: 0 files open, 0 mappings alive'
check "maptest stats --json reports the buffer" json_fields_are "$(maptest --json stats)" buffer_pages=10 buffer_size=$((10 * PAGE_SIZE))

# Pinned while open: rmmod is refused, then works once the fd is closed.
mkfifo /tmp/hold
maptest hold 600 >/tmp/hold &
pid=$!
read -r line </tmp/hold
# Refused as busy: delete_module() says EWOULDBLOCK (EAGAIN), not any error.
check "rmmod is refused with EAGAIN while /dev/mapdrv is open" sh -c \
	'! rmmod mapdrv 2>/tmp/rmmod.err && grep -q "Resource temporarily unavailable" /tmp/rmmod.err'
check "the module is still loaded and the node still there" sh -c 'grep -q "^mapdrv " /proc/modules && [ -c /dev/mapdrv ]'
kill $pid
wait $pid 2>/dev/null
# Pinned while mapped, even with the fd closed.
maptest hold --mapped 600 >/tmp/hold &
pid=$!
read -r line </tmp/hold
echo "# $line"
echo "# stats: $(maptest --json stats)"
check "the holder has no fd on /dev/mapdrv left" sh -c "! ls -l /proc/$pid/fd | grep -q mapdrv"
# The mapping keeps its struct file open (vma->vm_file): 2 = that + stats' own.
check "the holder's mapping is alive and keeps its file open" json_fields_are "$(maptest --json stats)" open_files=2 live_mappings=1
check "rmmod is refused with EAGAIN while a mapping exists (fd closed)" sh -c \
	'! rmmod mapdrv 2>/tmp/rmmod.err && grep -q "Resource temporarily unavailable" /tmp/rmmod.err'
kill $pid
wait $pid 2>/dev/null
rm -f /tmp/hold
check "rmmod succeeds once nothing is open or mapped" rmmod mapdrv
check "the node is gone after rmmod" sh -c '! [ -e /dev/mapdrv ]'

# Parameter bounds.
mark_log
check "buffer_pages=0 is refused" sh -c '! modprobe mapdrv report=0 buffer_pages=0'
check_log "buffer_pages=0 is explained in one line" 'mapdrv: buffer_pages=0 is out of range: it must be 1\.\.=65536'
check "buffer_pages=65537 is refused" sh -c '! modprobe mapdrv report=0 buffer_pages=65537'
check "a refused load leaves no node behind" sh -c '! [ -e /dev/mapdrv ] && ! grep -q "^mapdrv " /proc/modules'
check "buffer_pages=65536 (the most; 256 MiB with 4 KiB pages) loads" modprobe mapdrv report=0 verbose=0 buffer_pages=65536
# (verify's contents checks at this size take minutes under KASAN: a touch
# of every page and a read() of the last page stand for them here.)
check "every page of the largest buffer faults in once" json_fields_are "$(maptest --json touch)" faults=65536 pages_mapped=65536
check "the largest buffer reads a page of zeros in its last page" sh -c \
	"[ \"\$(dd if=/dev/mapdrv bs=$PAGE_SIZE skip=65535 count=1 2>/dev/null | od -An -tx1 -v | tr -s ' ' '\n' | grep -c '^00$')\" = $PAGE_SIZE ]"
check "rmmod the largest buffer" rmmod mapdrv
