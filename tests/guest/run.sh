# Runs every tests/guest/[0-9]*.sh in order (busybox sh, in the guest's
# /root). MAPDRV_FLAVOR (debug or normal) is exported to them: on the debug
# kernel a block that needs its instruments (fault injection, kmemleak)
# fails instead of skipping.
. ./lib.sh
export MAPDRV_FLAVOR="${MAPDRV_FLAVOR:-normal}"
# kmemleak: scan and clear before the run's first load, so that
# 40-reliability.sh can demand that nothing new is reported.
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	echo clear >/sys/kernel/debug/kmemleak
fi
# The first load reports the KUnit suites; the many loads below skip them
# (see kunit_off in lib.sh).
modprobe mapdrv && rmmod mapdrv || rc=1
kunit_off
rc=${rc:-0}
for t in ./[0-9]*.sh; do
	echo "# guest test file $t"
	sh "$t" || rc=1
done
kunit_on
exit $rc
