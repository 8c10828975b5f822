# maptest verify's fork checks at every stack offset (README "Known
# problems", userspace/src/fork.rs). With address space randomisation off,
# the stack's position depends only on what sits above it, here the
# environment, so a PAD variable of 16*i bytes moves every frame by 16*i. For
# i in 0..511 this runs verify once at each 16-byte stack offset in two pages
# (x86_64 4 KiB pages). Before the workaround one offset in 256 failed
# (`34 passed, 3 failed`, the three fork checks: QEMU's faulting `seto` of
# tests/repro/qemu-setcc-fault.c); with it none does. Takes about 10 s on the
# normal kernel:
#   scripts/vm --no-build --flavor normal --mem small --timeout 900 \
#       --add tests/repro/verify-stack-offsets.sh --exec 'sh /root/verify-stack-offsets.sh'
# Prints "FAIL pad=N" and verify's summary for each failing offset, then
# "verify-stack-offsets: F of 512 failed".
echo 0 >/proc/sys/kernel/randomize_va_space
printf 'mapdrv-no-suite-matches-this' >/sys/module/kunit/parameters/filter_glob
modprobe mapdrv report=0 verbose=0 buffer_pages=1 map_mode=1 || exit 2
maptest=$(command -v maptest)
fails=0
i=0
while [ $i -lt 512 ]; do
	pad=$(printf "%0$((16 * i))d" 0)
	out=$(env -i PAD="$pad" "$maptest" verify --pages 1 --mode fault-around --window 16 2>&1)
	case "$out" in
	*" 0 failed"*) ;;
	*)
		fails=$((fails + 1))
		echo "FAIL pad=$((16 * i))"
		echo "$out" | tail -n 1
		;;
	esac
	i=$((i + 1))
done
rmmod mapdrv
echo 2 >/proc/sys/kernel/randomize_va_space
echo "verify-stack-offsets: $fails of 512 failed"
[ $fails -eq 0 ]
