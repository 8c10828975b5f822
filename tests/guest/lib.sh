# shellcheck shell=sh
# Helpers for in-guest test scripts (busybox sh). Every check prints one line
# "ok - NAME" or "not ok - NAME: WHY"; scripts/test counts them. A test file
# (./NN-name.sh) ends with "# checks: FILE OK NOT_OK" and exits 1 if any
# check failed; scripts/test knows how many checks each file must run.

CHECKS_OK=0 CHECKS_BAD=0
case "$0" in
*/[0-9]*.sh)
	trap 'echo "# checks: $0 $CHECKS_OK $CHECKS_BAD"; [ "$CHECKS_BAD" = 0 ] || exit 1' EXIT
	;;
esac

# check NAME COMMAND...: run COMMAND, report by its exit status.
check() {
	name="$1"
	shift
	if out="$("$@" 2>&1)"; then
		echo "ok - $name"
		CHECKS_OK=$((CHECKS_OK + 1))
	else
		check_rc=$?
		echo "not ok - $name: $(echo "$out" | tail -n 3 | tr '\n' ' ')(exit $check_rc from '$*')"
		CHECKS_BAD=$((CHECKS_BAD + 1))
	fi
}

# field JSON NAME: field NAME of maptest's one-line --json output. JSON is
# read by the tool (`maptest field`, serde_json), never by sed.
field() { echo "$1" | maptest field "$2"; }

# json_fields_are JSON NAME=VALUE...: each field of maptest's --json output
# has its value; says which one does not.
json_fields_are() {
	json="$1"
	shift
	for kv in "$@"; do
		got="$(field "$json" "${kv%%=*}")" || return 1
		[ "$got" = "${kv#*=}" ] || { echo "${kv%%=*} is '$got', not '${kv#*=}' in $json"; return 1; }
	done
}

# mark_log: later check_log calls only look at what was logged after this.
# It writes a unique marker into the kernel log (robust even if the log
# buffer wraps, unlike counting lines).
LOG_MARK=0
mark_log() {
	LOG_MARK=$((LOG_MARK + 1))
	echo "mapdrv-test: mark $$-$LOG_MARK" >/dev/kmsg
}

# since_mark: the kernel log after the last mark_log.
since_mark() { dmesg | sed -n "/mapdrv-test: mark $$-$LOG_MARK\$/,\$p"; }

# check_log NAME PATTERN: the kernel log (since the last mark_log) has a
# line matching the extended regex PATTERN.
check_log() {
	if since_mark | grep -Eq "$2"; then
		echo "ok - $1"
		CHECKS_OK=$((CHECKS_OK + 1))
	else
		echo "not ok - $1: no kernel log line matches /$2/"
		CHECKS_BAD=$((CHECKS_BAD + 1))
	fi
}

# quiet_console / loud_console: keep a long loop's kernel messages off the
# (slow, emulated serial) console; they stay in the kernel log.
quiet_console() { echo 1 >/proc/sys/kernel/printk; }
loud_console() { echo 8 >/proc/sys/kernel/printk; }

# is_loaded: mapdrv is in the module list.
is_loaded() { grep -q '^mapdrv ' /proc/modules; }

# kunit_off / kunit_on: stop (resume) running the module's KUnit suites at
# every load; the first load of a test run has already reported them.
# (printf, not echo: the parameter keeps a trailing newline as part of the
# glob, and "*\n" matches no suite.)
kunit_off() { printf 'mapdrv-no-suite-matches-this' >/sys/module/kunit/parameters/filter_glob; }
kunit_on() { printf '*' >/sys/module/kunit/parameters/filter_glob; }
