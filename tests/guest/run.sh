# Runs every tests/guest/[0-9]*.sh in order (busybox sh, in the guest's /root).
. ./lib.sh
# The first load of the run (scripts/test's own) reported the KUnit suites;
# the many loads below skip them (see kunit_off in lib.sh).
kunit_off
rc=0
for t in ./[0-9]*.sh; do
	echo "# guest test file $t"
	sh "$t" || rc=1
done
kunit_on
exit $rc
