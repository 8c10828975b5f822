# Runs the given tests/guest files in order, then ./90-kmemleak.sh (busybox
# sh, in the guest's /root): `sh ./run.sh [--kunit] FILE...`. Prints one
# KTAP document (lib.sh), the files its subtests. scripts/test
# runs two guests at once, each with its share of the files.
#   --kunit   the first load runs the module's KUnit suites (one guest does)
# MAPDRV_FLAVOR (debug or normal) is exported to the files: on the debug
# kernel a block that needs its instruments (fault injection, kmemleak)
# fails instead of skipping.
. ./lib.sh
export MAPDRV_FLAVOR="${MAPDRV_FLAVOR:-normal}"
rc=0
# kmemleak: automatic scans off (each takes about 12 s under TCG; only the
# explicit one in 90-kmemleak.sh is judged) and the list cleared before
# this guest's first load. The kernel's own boot leaves nothing for kmemleak
# to report (checked: a scan right after boot reports 0), so the final scan
# sees what the tests left; should a boot leak ever appear, it fails there
# with its backtrace.
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan=off >/sys/kernel/debug/kmemleak
	echo clear >/sys/kernel/debug/kmemleak
fi
if [ "$1" = --kunit ]; then
	shift
	# The first load reports the KUnit suites; the many loads below skip
	# them (see kunit_off in lib.sh).
	modprobe mapdrv && rmmod mapdrv || rc=1
fi
kunit_off
# KTAP: one top-level plan, each file one subtest of it (lib.sh).
echo "KTAP version 1"
echo "1..$(($# + 1))"
i=0
for t in "$@" ./90-kmemleak.sh; do
	i=$((i + 1))
	KTAP_INDEX=$i sh "$t" || rc=1
done
kunit_on
exit $rc
