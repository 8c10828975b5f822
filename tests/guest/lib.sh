# shellcheck shell=sh
# Helpers for in-guest test scripts (busybox sh). Output is KTAP (the
# kernel's test format, Documentation/dev-tools/ktap.rst, as in
# tools/testing/selftests/kselftest/ktap_helpers.sh): run.sh prints the
# top-level header and plan, each test file (./NN-name.sh) is one subtest
# of it. A file states up front how many checks it runs (ktap_plan N);
# every check prints one result line, "ok N NAME" or "not ok N NAME" with
# the reason on "#" lines before it (as KUnit prints its failed
# expectations, and as the parser files them: with the test that follows); a check that cannot run here prints
# "ok N NAME # SKIP REASON". The file's own result line ("ok K NN-name",
# K its place in run.sh's plan) is printed when it exits: "not ok" if a
# check failed or it ran a number of checks other than its plan. The host
# parses all of it with the kernel's KTAP parser (kunit.py parse), which
# also fails a file whose plan and results disagree. Any other output of a
# file is free text (keep it off the start of a line with "ok", "not ok",
# "1.." or "KTAP"); "# figure: " lines are collected into the summary.

KTAP_N=0 KTAP_BAD=0 KTAP_PLAN=
# The running kernel's page size in bytes (4096, or 16384 on an arm64
# kernel with 16 KiB pages), from the kernel's own account of this shell's
# mappings, not from mapdrv: the checks that count bytes derive them from it.
PAGE_SIZE="$(awk '/^KernelPageSize:/ { print $2 * 1024; exit }' /proc/self/smaps)"
KTAP_NAME="$(basename "$0" .sh)"
# free_kb: free memory in kB as the page allocator sees it, MemFree plus
# the pages on the per-CPU free lists (/proc/zoneinfo's pagesets, "count:",
# in pages). MemFree counts only the buddy lists (NR_FREE_PAGES:
# rmqueue_bulk() takes pages out of it to fill a per-CPU list,
# free_pcppages_bulk() puts them back), and each list's `high` mark is tuned
# at run time up to a share of its zone's low watermark, so the lists alone
# swing MemFree by megabytes between two reads (about 9 MiB over 100 load
# cycles on arm64 with 16 KiB pages, where this sum moved by under 40 pages).
free_kb() {
	awk -v ps="$PAGE_SIZE" '$1 == "MemFree:" {kb = $2} $1 == "count:" {n += $2}
		END {print kb + n * ps / 1024}' /proc/meminfo /proc/zoneinfo
}
# ktap_plan N: this file runs N checks (call once, before the first).
ktap_plan() {
	KTAP_PLAN="$1"
	echo "    KTAP version 1"
	echo "    # Subtest: $KTAP_NAME"
	echo "    1..$1"
}
case "$0" in
*/[0-9]*.sh)
	trap 'ktap_file_result; [ "$KTAP_BAD" = 0 ] && [ "$KTAP_N" = "$KTAP_PLAN" ] || exit 1' EXIT
	;;
esac
# ktap_file_result: this file's result line in run.sh's plan.
ktap_file_result() {
	if [ -z "$KTAP_PLAN" ]; then
		echo "    # $KTAP_NAME never stated its plan (ktap_plan N)"
		echo "not ok ${KTAP_INDEX:-1} $KTAP_NAME"
	elif [ "$KTAP_BAD" = 0 ] && [ "$KTAP_N" = "$KTAP_PLAN" ]; then
		echo "ok ${KTAP_INDEX:-1} $KTAP_NAME"
	else
		[ "$KTAP_N" = "$KTAP_PLAN" ] || echo "    # $KTAP_NAME ran $KTAP_N checks, its plan says $KTAP_PLAN"
		echo "not ok ${KTAP_INDEX:-1} $KTAP_NAME"
	fi
}
# ktap_name NAME: NAME made safe for a result line ("#" starts a directive).
ktap_name() { printf '%s' "$1" | tr '#\n' '% '; }
# ktap_ok NAME / ktap_not_ok NAME WHY / ktap_skip NAME REASON: one result.
ktap_ok() {
	KTAP_N=$((KTAP_N + 1))
	echo "    ok $KTAP_N $(ktap_name "$1")"
}
ktap_not_ok() {
	KTAP_N=$((KTAP_N + 1)) KTAP_BAD=$((KTAP_BAD + 1))
	printf '%s\n' "$2" | sed 's/^/    # /'
	echo "    not ok $KTAP_N $(ktap_name "$1")"
}
ktap_skip() {
	KTAP_N=$((KTAP_N + 1))
	echo "    ok $KTAP_N $(ktap_name "$1") # SKIP $2"
}
# ktap_skip_checks N WHAT REASON: a block of N checks that cannot run here
# (their names need the run), one SKIP line each, so the plan stays whole.
ktap_skip_checks() {
	ktap_k=1
	while [ $ktap_k -le "$1" ]; do
		ktap_skip "$2, check $ktap_k of $1" "$3"
		ktap_k=$((ktap_k + 1))
	done
}

# check NAME COMMAND...: run COMMAND, report by its exit status.
# (busybox sh has no locals: check_name, not a name a caller may use.)
check() {
	check_name="$1"
	shift
	if out="$("$@" 2>&1)"; then
		ktap_ok "$check_name"
	else
		check_rc=$?
		ktap_not_ok "$check_name" "$(echo "$out" | tail -n 3)
(exit $check_rc from '$*')"
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
		ktap_ok "$1"
	else
		ktap_not_ok "$1" "no kernel log line matches /$2/"
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
