# shellcheck shell=sh
# Helpers for in-guest test scripts (busybox sh). Every check prints one line
# "ok - NAME" or "not ok - NAME: WHY"; scripts/test counts them.

# check NAME COMMAND...: run COMMAND, report by its exit status.
check() {
	name="$1"
	shift
	if out="$("$@" 2>&1)"; then
		echo "ok - $name"
	else
		echo "not ok - $name: exit $? from '$*': $(echo "$out" | tail -n 3 | tr '\n' ' ')"
	fi
}

# check_log NAME PATTERN: the kernel log (since the last mark_log) has a
# line matching the extended regex PATTERN.
check_log() {
	if dmesg | sed -n "$((${LOG_MARK:-0} + 1)),\$p" | grep -Eq "$2"; then
		echo "ok - $1"
	else
		echo "not ok - $1: no kernel log line matches /$2/"
	fi
}

# mark_log: later check_log calls only look at lines logged after this.
mark_log() { LOG_MARK="$(dmesg | wc -l)"; }

# is_loaded: mapdrv is in the module list.
is_loaded() { grep -q '^mapdrv ' /proc/modules; }
