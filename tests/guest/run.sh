# Runs every tests/guest/[0-9]*.sh in order (busybox sh, in the guest's /root).
. ./lib.sh
for t in ./[0-9]*.sh; do
	echo "# guest test file $t"
	sh "$t"
done
