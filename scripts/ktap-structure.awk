# Used by scripts/test; see there. Input: a kernel log with the timestamps removed.
# KTAP structure check of a kernel log (timestamps removed): for each suite
# run, its plan, the cases it reported and its suite-level result; for each
# top-level block, its plan and the suites it held.
function close_block() {
	if (top_plan != "") print "block", top_plan, top_suites
	top_plan = ""; top_suites = 0
}
/^KTAP version 1$/ { close_block(); in_block = 1; want_top_plan = 1; next }
want_top_plan && /^1\.\.[0-9]+$/ { top_plan = substr($0, 4); want_top_plan = 0; next }
/^    # Subtest: / { suite = $3; plan = ""; cases = 0; next }
suite != "" && /^    1\.\.[0-9]+$/ { plan = substr($0, 8); next }
suite != "" && /^    (ok|not ok) [0-9]+ / { cases++; next }
suite != "" && /^(ok|not ok) [0-9]+ / {
	name = $0; sub(/^(ok|not ok) [0-9]+ /, "", name); sub(/ #.*/, "", name)
	if (name == suite) {
		print "suite", suite, (plan == "" ? "none" : plan), cases, ($1 == "ok" ? "ok" : "fail")
		top_suites++
		suite = ""
	}
	next
}
END {
	if (suite != "") print "suite", suite, (plan == "" ? "none" : plan), cases, "unfinished"
	close_block()
}
