# kmemleak: run.sh cleared it before this guest's first load, so every
# unreferenced object reported now is new: the whole kernel must report
# none. Runs last in each guest.
. ./lib.sh
ktap_plan 1
DBG=/sys/kernel/debug
if [ -e $DBG/kmemleak ]; then
	# Two scans: a scan does not report an object whose contents changed
	# since the scan before (kmemleak's checksum), and for an object never
	# scanned that is always the case, so a leak shows only in the second.
	echo scan >$DBG/kmemleak
	echo scan >$DBG/kmemleak
	cat $DBG/kmemleak >/tmp/kmemleak
	total=$(grep -c '^unreferenced object' /tmp/kmemleak)
	ours=$(awk '/^unreferenced object/ {if (o) n++; o=0} /mapdrv/ {o=1} END {if (o) n++; print n + 0}' /tmp/kmemleak)
	echo "# figure: kmemleak: $total unreferenced objects since this guest's first load, $ours with mapdrv in their backtrace"
	[ "$total" = 0 ] || head -n 60 /tmp/kmemleak
	check "kmemleak reports no unreferenced object since this guest's first load" [ "$total" = 0 ]
elif [ "$MAPDRV_FLAVOR" = debug ]; then
	check "the debug kernel has kmemleak enabled" false
else
	ktap_skip "kmemleak reports no unreferenced object since this guest's first load" "no kmemleak in this kernel (the debug flavor has it)"
fi
