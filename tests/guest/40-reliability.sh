# Reliability: fault injection into every allocator family (debug kernel),
# module load under injection, stress with concurrent rmmod attempts and 50
# load/unload cycles (the seeded fuzzer is 45-fuzz.sh).
# Lines starting "# figure:" are collected into the test summary.
. ./lib.sh
ktap_plan 35

FUZZ_SEED="${MAPDRV_FUZZ_SEED:-20261122}"
STRESS_SECONDS="${MAPDRV_STRESS_SECONDS:-10}"
CYCLES=5000
DBG=/sys/kernel/debug

stamp() { echo "# $(date +%s) $*"; }
kunit_off
check "modprobe mapdrv for the reliability runs" modprobe mapdrv report=0 verbose=0

# Baseline: without injection every cycle succeeds.
for f in pages kmalloc slab mempool vmalloc; do
	check "exercise $f 1000 without fault injection: every cycle ok" json_fields_are "$(maptest --json exercise $f 1000)" ok=1000 enomem=0 other=0
done

if [ -d $DBG/failslab ] && [ -d $DBG/fail_page_alloc ]; then
	# Scope both injectors to mapdrv's own code (a caller in the module's
	# address range must be on the stack) and to tasks that ask for it.
	# /proc/modules: name size refs deps state address (root sees it).
	set -- $(grep '^mapdrv ' /proc/modules)
	start=$6 end=$(printf '0x%x' $(($6 + $2)))
	scope() { for fi in failslab fail_page_alloc; do echo $1 >$DBG/$fi/require-start; echo $2 >$DBG/$fi/require-end; done; }
	for fi in failslab fail_page_alloc; do
		echo Y >$DBG/$fi/task-filter
		echo 0 >$DBG/$fi/verbose
		echo N >$DBG/$fi/ignore-gfp-wait
		echo 1 >$DBG/$fi/interval
		echo -1 >$DBG/$fi/times # bounded per family below
		echo 0 >$DBG/$fi/space
		echo 32 >$DBG/$fi/stacktrace-depth
		echo 30 >$DBG/$fi/probability
	done
	scope $start $end
	stamp injection
	echo N >$DBG/fail_page_alloc/ignore-gfp-highmem
	echo 0 >$DBG/fail_page_alloc/min-order
	injected=0
	# Each family gets a budget of BUDGET injected failures per injector
	# (`times` counts down as it injects): the ENOMEMs the module reports
	# can never exceed what the injectors say they injected.
	BUDGET=10000
	for f in pages kmalloc slab mempool vmalloc; do
		for fi in failslab fail_page_alloc; do echo $BUDGET >$DBG/$fi/times; done
		free0=$(free_kb)
		out="$(sh -c "echo 1 >/proc/self/make-it-fail; exec maptest --json exercise $f $CYCLES")"
		free1=$(free_kb)
		spent=$((2 * BUDGET - $(cat $DBG/failslab/times) - $(cat $DBG/fail_page_alloc/times)))
		ok=$(field "$out" ok) enomem=$(field "$out" enomem) other=$(field "$out" other) served=$(field "$out" reserve_served)
		echo "# figure: fault injection, $f: $CYCLES cycles, $spent failures injected, $enomem ENOMEM surfaced, $ok ok, $other other errors${served:+, $served elements from the mempool reserve}"
		injected=$((injected + ${enomem:-0}))
		check "injection into $f: every cycle ok or ENOMEM, none other" [ "${other:-1}" = 0 -a $((ok + enomem)) = $CYCLES ]
		check "injection into $f: ENOMEMs ($enomem) within the failures injected ($spent, budget $((2 * BUDGET)))" \
			[ "${enomem:-1}" -le "$spent" -a "$spent" -lt $((2 * BUDGET)) ]
		# kmemleak sees leaked slab objects and vmalloc areas, not pages:
		# the pages family (page allocator only, no slab) is judged by
		# free memory (MemFree and the per-CPU lists, lib.sh's free_kb).
		# A cycle that leaks on its error path loses thousands of pages.
		if [ "$f" = pages ]; then
			check "injection into pages: free memory back within 1024 pages (MemFree + per-CPU lists $free0 -> $free1 kB)" \
				[ $((free0 - free1)) -lt $((1024 * PAGE_SIZE / 1024)) ]
		fi
		if [ "$f" = mempool ]; then
			check "injection into mempool: the min_nr reserve keeps serving" [ "${served:-0}" -gt 0 ]
		else
			check "injection into $f really failed allocations" [ "${enomem:-0}" -gt 0 ]
		fi
	done
	for fi in failslab fail_page_alloc; do echo -1 >$DBG/$fi/times; done
	check "the module still works after injection" sh -c 'maptest read | grep -q "reads \"ok\""'
	check "rmmod after injection" rmmod mapdrv

	# Load under injection: every allocation made by mapdrv's init (its
	# own, and those of the kernel functions it calls, misc_register
	# included) may fail. A module reloaded in a quiet system lands at the
	# same address, so the scope of the previous load still applies; we
	# check that it did by comparing addresses after each successful load.
	# Each load either succeeds (and unloads) or fails leaving nothing behind.
	# mapdrv's init makes a few dozen allocations: 5% fails about three loads in four.
	for fi in failslab fail_page_alloc; do echo 5 >$DBG/$fi/probability; done
	stamp load-under-injection
	loaded=0 refused=0 half=0 moved=0
	# Nothing of a failed load may stay: no node, no module, no ^mapdrv
	# slab cache (mapdrv_object, mapdrv_exercise...), and no vmalloc area
	# (counted: a refused load's areas would pile up over the loads).
	leftovers() { grep -q '^mapdrv ' /proc/modules || [ -e /dev/mapdrv ] || grep -q '^mapdrv' /proc/slabinfo; }
	vmareas0=$(wc -l </proc/vmallocinfo)
	quiet_console
	i=0
	LOADS=30
	while [ $i -lt $LOADS ]; do
		if sh -c 'echo 1 >/proc/self/make-it-fail; exec modprobe mapdrv report=0 verbose=0' 2>/dev/null; then
			loaded=$((loaded + 1))
			set -- $(grep '^mapdrv ' /proc/modules)
			if [ "$6" != "$start" ]; then
				# Follow the module: the next loads most likely land here.
				moved=$((moved + 1))
				start=$6 end=$(printf '0x%x' $(($6 + $2)))
				scope $start $end
			fi
			[ -c /dev/mapdrv ] && grep -q '^mapdrv_object ' /proc/slabinfo || half=$((half + 1))
			rmmod mapdrv || half=$((half + 1))
			leftovers && half=$((half + 1))
		else
			refused=$((refused + 1))
			leftovers && half=$((half + 1))
		fi
		i=$((i + 1))
	done
	loud_console
	for fi in failslab fail_page_alloc; do echo 0 >$DBG/$fi/probability; done
	echo "# figure: module load under injection: $LOADS loads, $loaded succeeded, $refused failed cleanly, $half half-initialised"
	check "load under injection: every load succeeds or fails cleanly" [ $half = 0 -a $((loaded + refused)) = $LOADS ]
	check "load under injection: some loads failed, some succeeded" [ $loaded -gt 0 -a $refused -gt 0 ]
	vmareas1=$(wc -l </proc/vmallocinfo)
	echo "# figure: vmalloc areas before and after the $LOADS loads: $vmareas0 -> $vmareas1"
	# Noise: a few areas come and go (vmap'ed task stacks, per-CPU caches).
	check "load under injection: no vmalloc area left behind ($vmareas0 -> $vmareas1)" [ $((vmareas1 - vmareas0)) -le 8 ]
	echo "# figure: module load under injection: the module moved $moved times (the scope followed it)"
	echo "# figure: fault injections surfaced as ENOMEM in exercise cycles: $injected"
	check "modprobe after the injection runs" modprobe mapdrv report=0 verbose=0
elif [ "$MAPDRV_FLAVOR" = debug ]; then
	check "the debug kernel has fault injection (failslab, fail_page_alloc)" false
else
	ktap_skip_checks 22 "fault injection" "no fault injection in this kernel (the debug flavor has it)"
fi

# Stress, with rmmod attempts while it runs (each must be refused).
stamp stress
mkfifo /tmp/stress
maptest stress --procs 8 --seconds "$STRESS_SECONDS" --seed "$FUZZ_SEED" >/tmp/stress 2>/tmp/stress.err &
pid=$!
exec 3</tmp/stress
read -r line <&3
# Each attempt must be refused while stress holds the device, or, if stress
# has just let go, unload cleanly (module and node gone).
refusals=0 attempts=0 clean=0 unclean=0
while kill -0 $pid 2>/dev/null && [ $attempts -lt 200 ]; do
	attempts=$((attempts + 1))
	if rmmod mapdrv 2>/dev/null; then
		if grep -q '^mapdrv ' /proc/modules || [ -e /dev/mapdrv ]; then unclean=$((unclean + 1)); else clean=$((clean + 1)); fi
		break
	fi
	refusals=$((refusals + 1))
done
result="$(cat <&3)"
exec 3<&-
wait $pid
src=$?
rm -f /tmp/stress
echo "# figure: $result"
sed 's/^/# stress: /' /tmp/stress.err | head -n 20
echo "# figure: rmmod during stress: $attempts attempts, $refusals refused, $clean unloaded cleanly after stress let go, $unclean unclean"
check "stress: no lost or torn data, no crashed worker" [ $src = 0 ]
check "every rmmod during stress was refused or clean" [ $unclean = 0 -a $((refusals + clean)) = $attempts -a $refusals -gt 0 ]

# The opt-in map modes under the same stress: fault-around races faults of
# several processes on one window (the already-mapped path of
# vm_insert_pages), eager maps everything at mmap.
for mode in 1 2; do
	rmmod mapdrv 2>/dev/null
	modprobe mapdrv report=0 verbose=0 map_mode=$mode
	maptest stress --procs 8 --seconds 5 --seed "$FUZZ_SEED" >/tmp/stress.out 2>/tmp/stress.err
	src=$?
	result="$(tail -n 1 /tmp/stress.out)"
	echo "# figure: map_mode=$mode: $result"
	sed 's/^/# stress: /' /tmp/stress.err | head -n 20
	check "stress with map_mode=$mode: no lost or torn data, no crashed worker" [ $src = 0 ]
	check "rmmod after the map_mode=$mode stress" rmmod mapdrv
done

# 50 load/unload cycles: each rmmod clean (20-allocators.sh measures what
# 100 more leave behind).
stamp cycles
rmmod mapdrv 2>/dev/null
quiet_console
fails=0 i=0
while [ $i -lt 50 ]; do
	modprobe mapdrv report=0 verbose=0 && rmmod mapdrv || fails=$((fails + 1))
	i=$((i + 1))
done
loud_console
echo "# figure: modprobe/rmmod cycles: 50, $fails failed"
check "50 modprobe/rmmod cycles are all clean" [ $fails = 0 ]

stamp end
kunit_on
