"""Tests of the test runner's judgement (scripts/harness.py) on real logs.

The logs in data/ are recorded from real runs; the broken ones are real
logs with one documented edit each (data/README.md). Every expectation here
comes from what the fixture is known to hold, never from the harness's own
account of it. scripts/test runs these before it judges a live run; on
their own: `python3 -m unittest discover tests/harness` (the kernel tree
is found as scripts/test finds it, with scripts/fetch-kernel).
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(HERE, "data")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import harness  # noqa: E402

TREE = subprocess.run([os.path.join(ROOT, "scripts", "fetch-kernel")], check=True, capture_output=True,
                      text=True).stdout.strip()
harness.load_kunit(TREE)

# console-quick.log: `scripts/test --flavor normal --quick` on 2026-12-03,
# one guest running every file. The files' plans (tests/guest/*.sh at that
# commit): 10-module 9, 30-device 86, 20-allocators 19, 40-reliability 44,
# 90-kmemleak 1; the normal kernel skips 22 fault-injection checks and the
# kmemleak check.
FILES = ["10-module", "30-device", "20-allocators", "40-reliability", "90-kmemleak"]
CHECKS, SKIPPED = 9 + 86 + 19 + 44 + 1, 22 + 1
# dmesg-quick.log: the same run's kernel log: the built-in "1..0" block at
# boot, then the first load of the module running every suite.
EARLY = "[    0.812345] BUG: KASAN: wild-memory-access in do_raw_spin_lock+0xba/0x230"


def data(name):
    return harness.read(os.path.join(DATA, name))


def guest(console, files=FILES):
    lines = harness.user_lines(console)
    if "@@guest-tests-end" in lines:
        lines = lines[:lines.index("@@guest-tests-end")]
    docs = harness.ktap_documents(lines)
    return harness.judge_guest(harness.parse_ktap(docs[0], TREE) if docs else None, files, "guest a")


def kunit(dmesg, declared):
    return harness.judge_kunit(harness.ktap_documents(harness.kernel_lines(dmesg)), declared, TREE)[0]


def suites_in(dmesg):
    """The suites the fixture's KTAP names, read here without the harness."""
    return set(re.findall(r"^\[[^]]*\]     # Subtest: (\w+)$", dmesg, re.M))


def cases_in(dmesg):
    """The passing cases the fixture's KTAP reports (suites print them indented by 4)."""
    return len(re.findall(r"^\[[^]]*\]     ok \d+ ", dmesg, re.M))


class GuestKtap(unittest.TestCase):
    def test_a_passing_run_counts_every_check(self):
        v = guest(data("console-quick.log"))
        self.assertEqual(v.failures, [])
        self.assertEqual((v.passed, v.skipped), (CHECKS - SKIPPED, SKIPPED))

    def test_a_truncated_plan_fails_its_file(self):
        # The guest died in the middle of 30-device (the console ends there).
        v = guest(data("truncated-plan.log"))
        self.assertTrue(any("30-device" in f for f in v.failures), v.failures)
        self.assertTrue(any("20-allocators did not report" in f for f in v.failures), v.failures)

    def test_a_missing_file_fails(self):
        # 20-allocators' whole subtest removed: the top-level plan is short.
        v = guest(data("missing-file.log"))
        self.assertTrue(any("20-allocators did not report" in f for f in v.failures), v.failures)
        self.assertEqual(v.passed, CHECKS - SKIPPED - 19)

    def test_a_failing_check_is_named_with_its_reason(self):
        # One check of 10-module turned into "not ok" with its "#" reason.
        v = guest(data("failing-check.log"))
        self.assertEqual(len(v.failures), 1, v.failures)
        self.assertIn("mapdrv is listed in /proc/modules", v.failures[0])
        self.assertIn("planted reason", v.failures[0])
        self.assertEqual(v.passed, CHECKS - SKIPPED - 1)

    def test_more_checks_than_planned_fails(self):
        # 10-module's plan says 8; it reports 9.
        v = guest(data("more-checks-than-planned.log"))
        self.assertIn("guest a: 10-module: 1 KTAP error(s) (a plan and its results disagree, "
                      "or a result line is missing)", v.failures)

    def test_a_file_whose_own_result_is_not_ok_fails(self):
        # Every check of 10-module passed, but the file exited non-zero after them.
        v = guest(data("file-result-not-ok.log"))
        self.assertEqual(v.failures, ["guest a: 10-module: result FAILURE although every check it reported passed"])

    def test_a_top_level_plan_longer_than_the_files_fails(self):
        v = guest(data("top-plan-too-long.log"))
        self.assertEqual(v.failures, ["guest a: its top-level plan says 6 files, 5 reported, 5 given"])

    def test_a_file_that_never_stated_its_plan_fails(self):
        # 10-module died before its plan (lib.sh's exit trap still reports it).
        v = guest(data("no-plan.log"))
        self.assertEqual(v.failures,
                         ["guest a: 10-module FAILURE without a check: 10-module never stated its plan (ktap_plan N)"])
        self.assertEqual(v.passed, CHECKS - SKIPPED - 9)

    def test_a_guest_that_printed_nothing_fails(self):
        v = guest("[    1.0] Run /init as init process\n")
        self.assertEqual(v.failures, ["guest a: printed no KTAP (run.sh never started)"])

    def test_a_file_not_given_is_noticed(self):
        v = guest(data("console-quick.log"), [f for f in FILES if f != "30-device"])
        self.assertTrue(any("30-device" in f for f in v.failures), v.failures)


class KernelReports(unittest.TestCase):
    def test_a_report_from_the_kernels_own_boot_fails(self):
        self.assertEqual(harness.kernel_reports(data("early-kasan-console.log")), [EARLY])

    def test_a_replayed_report_is_the_same_report(self):
        got = harness.kernel_reports(data("early-kasan-console.log"), data("early-kasan-dmesg.log"))
        self.assertEqual(got, [EARLY])

    def test_test_output_that_looks_like_a_report_is_not_one(self):
        # console-quick.log's user lines mention no BUG:, so plant one.
        self.assertEqual(harness.kernel_reports(data("console-quick.log")), [])
        self.assertEqual(harness.kernel_reports("    ok 3 test output saying BUG: is not a kernel line\n"), [])

    def test_a_report_inside_a_line_of_user_output_is_found(self):
        # On a serial console the kernel can break into a line user space is printing.
        line = "    ok 4 maptest veri[   12.500000] WARNING: CPU: 1 PID: 80 at mm/memory.c:1 f+0x1\n"
        self.assertEqual(harness.kernel_reports(line), ["[   12.500000] WARNING: CPU: 1 PID: 80 at mm/memory.c:1 f+0x1"])

    def test_reports_are_in_timestamp_order(self):
        text = "[   10.000000] WARNING: late\n[    2.000000] BUG: early\n[   10.000000] WARNING: late\n"
        self.assertEqual(harness.kernel_reports(text), ["[    2.000000] BUG: early", "[   10.000000] WARNING: late"])


class KunitKtap(unittest.TestCase):
    def setUp(self):
        self.dmesg = data("dmesg-quick.log")
        self.suites = suites_in(self.dmesg)
        self.assertGreater(len(self.suites), 5)

    def test_the_module_run_passes_and_the_boot_block_is_ignored(self):
        v = kunit(self.dmesg, self.suites)
        self.assertEqual(v.failures, [])
        self.assertEqual(v.passed, cases_in(self.dmesg))

    def test_a_declared_suite_that_never_ran_fails(self):
        v = kunit(self.dmesg, self.suites | {"mapdrv_not_run"})
        self.assertEqual(v.failures, ["KUnit suite mapdrv_not_run is declared in src/ but did not run"])

    def test_a_short_suite_plan_fails(self):
        # One case's result line removed from mapdrv_gfp.
        v = kunit(data("kunit-short-plan.log"), self.suites)
        self.assertTrue(any(f.startswith("KUnit suite mapdrv_gfp: plan") for f in v.failures), v.failures)

    def test_a_failing_case_fails_by_name(self):
        v = kunit(data("kunit-failing-case.log"), self.suites)
        self.assertTrue(any(f.startswith("KUnit mapdrv_gfp.") for f in v.failures), v.failures)
        self.assertTrue(any("suite-level" in f for f in v.failures), v.failures)

    def test_a_top_level_plan_longer_than_the_suites_fails(self):
        # The module's block says 1..9; 8 suites ran.
        v = kunit(data("kunit-top-plan-too-long.log"), self.suites)
        self.assertEqual(v.failures, ["KTAP block: plan 1..9 but 8 suites reported"])

    def test_a_case_that_failed_in_one_load_fails_though_it_passed_in_another(self):
        v = kunit(data("kunit-failing-case.log") + self.dmesg, self.suites)
        self.assertTrue(any(f.startswith("KUnit mapdrv_gfp.agrees_with_kernel_crate") for f in v.failures), v.failures)
        v = kunit(self.dmesg + data("kunit-failing-case.log"), self.suites)
        self.assertTrue(any(f.startswith("KUnit mapdrv_gfp.agrees_with_kernel_crate") for f in v.failures), v.failures)

    def test_no_kunit_run_at_all_fails(self):
        boot = self.dmesg[:self.dmesg.index("Run /init")]
        v = kunit(boot, set())
        self.assertEqual(v.failures, ["KTAP: no KUnit run found in the kernel log"])

    def test_declared_suites_are_read_from_every_rust_file(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "mm"))
            with open(os.path.join(d, "top.rs"), "w") as f:
                f.write("#[kunit_tests(suite_one)]\nmod tests {}\n")
            with open(os.path.join(d, "mm", "deep.rs"), "w") as f:
                f.write("#[kunit_tests(suite_two)]\nmod t {}\n// kunit_tests(in_a_comment_counts_too)\n")
            with open(os.path.join(d, "mm", "notes.md"), "w") as f:
                f.write("#[kunit_tests(not_rust)]\n")
            self.assertEqual(harness.declared_suites(d), {"suite_one", "suite_two", "in_a_comment_counts_too"})


class OtherOutputs(unittest.TestCase):
    def test_compile_fail_ktap_is_held_to_the_case_count(self):
        p = harness.parse_ktap(harness.ktap_documents(data("compile-fail.log").splitlines())[0], TREE)
        groups = {t.name: t for t in p.test.subtests}
        n = len(re.findall(r"^    ok \d+ ", data("compile-fail.log").split("ok 1 compile-fail")[0], re.M))
        self.assertEqual(harness.judge_group(groups["compile-fail"], "compile-fail", n).failures, [])
        self.assertEqual(harness.judge_group(groups["compile-fail"], "compile-fail", n + 1).failures,
                         [f"compile-fail: {n} checks reported, expected {n + 1}"])

    def test_cargo_test_output(self):
        passed, failed, finished = harness.cargo_test(data("cargo-test.log"))
        self.assertEqual((passed, failed, finished),
                         (len(re.findall(r"^test .* \.\.\. ok$", data("cargo-test.log"), re.M)), [], True))
        passed, failed, finished = harness.cargo_test("test a::b ... FAILED\n")
        self.assertEqual((passed, failed, finished), (0, ["a::b"], False))


if __name__ == "__main__":
    unittest.main()
