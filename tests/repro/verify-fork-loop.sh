# Reproducer for README "Known problems": maptest verify counting its fork
# checks as failed. Run in a debug guest, two at once, with two CPU hogs on
# the host (`timeout 1200 yes >/dev/null &` twice); about 1 run in 300 shows it:
#   scripts/vm --no-build --flavor debug --timeout 2400 \
#       --add tests/repro/verify-fork-loop.sh --exec 'sh /root/verify-fork-loop.sh'
# Prints "ITER n" and verify's --json record for every run that did not pass.
printf 'mapdrv-no-suite-matches-this' >/sys/module/kunit/parameters/filter_glob
for i in $(seq 600); do
	modprobe mapdrv report=0 verbose=0 buffer_pages=1 map_mode=1
	maptest verify --pages 1 --mode fault-around --window 16 >/dev/null 2>&1
	rmmod mapdrv
	modprobe mapdrv report=0 verbose=0 buffer_pages=1 map_mode=2
	maptest --json verify --pages 1 --mode eager >/tmp/v 2>&1
	grep -q '"failed":0' /tmp/v || { echo "ITER $i"; cat /tmp/v; echo; }
	rmmod mapdrv
done
echo verify-fork-loop: done
