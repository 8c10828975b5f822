# The seeded fuzzer with its model of the contract, in every map mode (and a
# buffer size that is not a multiple of the fault-around window): every
# result and every byte read is held to the model; most executed operations
# are system calls. Lines starting "# figure:" are collected into the test
# summary. (Apart from 40-reliability.sh so that the two test guests of
# scripts/test take about as long.)
. ./lib.sh
ktap_plan 9

FUZZ_SEED="${MAPDRV_FUZZ_SEED:-20261122}"
FUZZ_SECONDS="${MAPDRV_FUZZ_SECONDS:-21}"

for run in "0 10 $FUZZ_SECONDS" "1 37 $((FUZZ_SECONDS / 3))" "2 3 $((FUZZ_SECONDS / 3))"; do
	set -- $run
	modprobe mapdrv report=0 verbose=0 map_mode=$1 buffer_pages=$2
	maptest --json fuzz --seed "$FUZZ_SEED" --seconds "$3" >/tmp/fuzz.out
	frc=$?
	sed 's/^/# /' /tmp/fuzz.out | tail -n 30
	# (not $out: check() uses that name)
	summary="$(tail -n 1 /tmp/fuzz.out)"
	echo "# figure: fuzz map_mode=$1 buffer_pages=$2: $(field "$summary" runs) runs, $(field "$summary" syscalls) system calls and $(field "$summary" accesses) loads/stores checked"
	# On failure the "not ok" line carries the fuzzer's verdict.
	check "fuzz map_mode=$1 buffer_pages=$2 (seed $FUZZ_SEED, $3 s): no contract violation" \
		sh -c "[ $frc = 0 ] || { grep -m1 'FAILURE' /tmp/fuzz.out; exit 1; }"
	calls=$(field "$summary" syscalls) accesses=$(field "$summary" accesses)
	check "fuzz map_mode=$1: most executed operations are system calls ($calls calls, $accesses loads/stores)" \
		[ "${calls:-0}" -gt 0 -a "${calls:-0}" -ge "${accesses:-1}" ]
	[ "$1" = 0 ] && echo "# figure: bad-input mmaps refused by the device so far: $(maptest --json stats | maptest field mmaps_refused)"
	check "rmmod after fuzzing map_mode=$1" rmmod mapdrv
done

