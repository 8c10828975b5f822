"""What mapdrv's test runner (scripts/test) reads, and how it judges it.

Everything a test run produces is read here: guest consoles and kernel
logs, the KTAP of the guest test files (tests/guest/lib.sh), of KUnit, of
scripts/compile-fail and of scripts/docs, and the output of `cargo test`.
KTAP is parsed by the kernel's own parser, `kunit_parser` of
tools/testing/kunit/ in the fetched kernel tree (the code behind
`kunit.py parse --json`), imported once by load_kunit(). Its JSON
(`kunit_json`) is written beside the logs for the record; the judgement
reads the parsed tree, which keeps what the JSON drops (a suite's own
result line, each test's errors).

Tested by tests/harness/test_harness.py on the logs in tests/harness/data/.
"""

import importlib
import os
import re
import sys
from dataclasses import dataclass, field

# A kernel line: "[ seconds.micros] message", as the console and dmesg print it.
KERNEL_TS = re.compile(r"\[\s*(\d+\.\d+)\] ?")
# A kernel log line that fails a test run: BUG (KASAN's reports included),
# WARNING, oops, panic, UBSAN, hung task, soft lockup, lockdep.
KERNEL_LOG_BAD = re.compile(
    r"BUG:|WARNING:|Oops|general protection fault|Kernel panic|kernel BUG at|UBSAN:"
    r"|blocked for more than|soft lockup|circular locking"
)

_kunit = None


def load_kunit(tree):
    """The kernel's KTAP parser modules, from kernel source TREE."""
    global _kunit
    if _kunit is None:
        path = os.path.join(tree, "tools", "testing", "kunit")
        if not os.path.isfile(os.path.join(path, "kunit_parser.py")):
            raise FileNotFoundError(f"no kunit_parser.py under {path}")
        sys.path.insert(0, path)
        _kunit = (
            importlib.import_module("kunit_parser"),
            importlib.import_module("kunit_json"),
            importlib.import_module("kunit_printer"),
        )
    return _kunit


def read(path):
    """The text of PATH, or "" if it does not exist (a missing log is judged by its reader)."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def is_kernel_line(line):
    return KERNEL_TS.match(line) is not None


def kernel_lines(text):
    """The messages of the kernel lines of TEXT, timestamps removed (as dmesg -t would)."""
    return [KERNEL_TS.sub("", line, count=1) for line in text.splitlines() if is_kernel_line(line)]


def user_lines(text):
    """The lines of TEXT that are not kernel lines: what user space printed."""
    return [line for line in text.splitlines() if not is_kernel_line(line)]


def kernel_reports(*texts):
    """Every kernel report in TEXTS (consoles or kernel logs), each once.

    A report is a kernel message ("[ seconds] ...", wherever it starts in a
    line: on a serial console the kernel can interrupt a line of user
    output) matching KERNEL_LOG_BAD. The one rule: a report is identified by
    its kernel timestamp and text, so a dmesg replay of a line the console
    already showed is the same report, and no report is exempt, whenever
    in a boot it was printed: one from the kernel's own boot is a defect to
    remove, not noise (docs/kasan-la57.md). Sorted by timestamp.
    """
    found = {}
    for text in texts:
        for line in text.splitlines():
            starts = list(KERNEL_TS.finditer(line))
            for i, m in enumerate(starts):
                end = starts[i + 1].start() if i + 1 < len(starts) else len(line)
                msg = line[m.end():end].rstrip()
                if KERNEL_LOG_BAD.search(msg):
                    found.setdefault((float(m.group(1)), msg), f"[{m.group(1):>12}] {msg}")
    return [found[k] for k in sorted(found)]


def ktap_documents(lines):
    """The KTAP documents in LINES: each starts at a "KTAP version 1" line
    at the start of a line (a subtest's is indented) and runs to the next."""
    docs = []
    for line in lines:
        if line.rstrip() == "KTAP version 1":
            docs.append([])
        if docs:
            docs[-1].append(line)
    return docs


def is_empty_run(doc):
    """A document that says "1..0" and reports nothing: what the kernel's
    executor prints at boot when no KUnit suite is built in (the lines
    after it are other kernel messages, up to the next document)."""
    body = [line for line in doc[1:] if line.strip()]
    return bool(body) and body[0].strip() == "1..0" and not any(
        re.match(r"^\s*((ok|not ok) \d+|# Subtest:|1\.\.\d)", line) for line in body[1:])


@dataclass
class Parsed:
    """One KTAP document, parsed by kunit_parser."""

    test: object  # kunit_parser.Test (the document's top level)
    report: str  # kunit_parser's human-readable account
    json: str  # kunit_json.get_json_result() of it, as `kunit.py parse --json` writes


def parse_ktap(doc, tree):
    """DOC (lines of one KTAP document) parsed by the kernel's parser."""
    kunit_parser, kunit_json, kunit_printer = load_kunit(tree)
    import io

    out = io.StringIO()
    printer = kunit_printer.Printer(print=True, output=out)
    test = kunit_parser.parse_run_tests([line + "\n" for line in doc], printer)
    js = kunit_json.get_json_result(test, kunit_json.Metadata(arch="", def_config="", build_dir=""))
    return Parsed(test, out.getvalue(), js)


def status_name(test):
    return test.status.name


def ok_status(test):
    """A test that passed or was skipped (its reason is in its result line)."""
    return test.status.name in ("SUCCESS", "SKIPPED")


@dataclass
class Verdict:
    """What one judged source contributes: passed and skipped checks, failures by name."""

    passed: int = 0
    skipped: int = 0
    failures: list = field(default_factory=list)

    def add(self, other):
        self.passed += other.passed
        self.skipped += other.skipped
        self.failures += other.failures


def _diagnosis(test, lines=3):
    """The last lines of TEST's own log: the "#" lines its check printed
    right before its result (the parser files every line since the result
    before with it)."""
    log = [line.strip().lstrip("#").strip() for line in test.log if line.strip()]
    return "; ".join(log[-lines:])


def judge_cases(group, label):
    """Each leaf of GROUP (a parsed test with subtests) is one check."""
    v = Verdict()
    for case in group.subtests:
        if case.subtests:
            v.add(judge_cases(case, f"{label} {case.name}"))
        elif case.status.name == "SUCCESS":
            v.passed += 1
        elif case.status.name == "SKIPPED":
            v.skipped += 1
        else:
            why = _diagnosis(case)
            v.failures.append(f"{label}: {case.name or '(unnamed)'} {status_name(case)}{': ' + why if why else ''}")
    return v


def judge_group(group, label, want=None):
    """GROUP's checks, plus its own standing: its result line, the parser's
    errors (a plan that does not match the results reported, a missing
    result line) and, given WANT, that many checks reported."""
    v = judge_cases(group, label)
    if group.counts.errors:
        v.failures.append(f"{label}: {group.counts.errors} KTAP error(s) (a plan and its results disagree, "
                          f"or a result line is missing)")
    if not ok_status(group) and not v.failures:
        v.failures.append(f"{label}: result {status_name(group)} although every check it reported passed")
    if want is not None and len(group.subtests) != want:
        v.failures.append(f"{label}: {len(group.subtests)} checks reported, expected {want}")
    return v


def judge_guest(parsed, files, label):
    """A guest's KTAP (run.sh): one subtest per file of FILES, in order."""
    v = Verdict()
    if parsed is None:
        v.failures.append(f"{label}: printed no KTAP (run.sh never started)")
        return v
    top = parsed.test
    # A plan longer than the results makes the parser add an unnamed
    # "crashed" subtest per missing one: the plan check below names it.
    reported = [t for t in top.subtests if t.name]
    by_name = {t.name: t for t in reported}
    for f in files:
        t = by_name.get(f)
        if t is None:
            v.failures.append(f"{label}: {f} did not report (no result in the guest's KTAP)")
        elif not t.subtests and not ok_status(t):
            v.failures.append(f"{label}: {f} {status_name(t)} without a check: {_diagnosis(t) or 'no plan'}")
        else:
            v.add(judge_group(t, f"{label}: {f}"))
    extra = [t.name for t in reported if t.name not in files]
    if extra:
        v.failures.append(f"{label}: reported files it was not given: {', '.join(extra)}")
    own = top.counts.errors - sum(t.counts.errors for t in top.subtests)
    if own > 0 or top.expected_count != len(files):
        v.failures.append(f"{label}: its top-level plan says {top.expected_count} files, "
                          f"{len(reported)} reported, {len(files)} given")
    return v


def judge_kunit(docs, declared, tree):
    """KUnit in a run's kernel logs: DOCS, the KTAP documents of every boot
    (each module load with suites prints one). Every case counts once (a
    case that failed in any load fails); every suite of DECLARED must have
    run; every suite's own result must be ok and its plan kept."""
    v = Verdict()
    cases = {}
    suites = set()
    parsed_docs = []
    for doc in docs:
        if is_empty_run(doc):
            continue
        p = parse_ktap(doc, tree)
        parsed_docs.append(p)
        top = p.test
        # (unnamed: the parser's stand-in for a suite the plan promised)
        reported = [s for s in top.subtests if s.name]
        own = top.counts.errors - sum(s.counts.errors for s in top.subtests)
        if own > 0 or top.expected_count != len(reported):
            v.failures.append(f"KTAP block: plan 1..{top.expected_count} but {len(reported)} suites reported")
        for suite in reported:
            suites.add(suite.name)
            if suite.counts.errors:
                v.failures.append(f"KUnit suite {suite.name}: plan 1..{suite.expected_count} but "
                                  f"{len(suite.subtests)} cases reported")
            if not ok_status(suite):
                v.failures.append(f"KUnit suite {suite.name}: suite-level result {status_name(suite)}")
            for case in suite.subtests:
                key = f"{suite.name}.{case.name}"
                st = case.status.name
                if st not in ("SUCCESS", "SKIPPED"):
                    st = "FAIL"
                if key not in cases or st == "FAIL":
                    cases[key] = (st, _diagnosis(case))
    for key, (st, why) in sorted(cases.items()):
        if st == "SUCCESS":
            v.passed += 1
        elif st == "SKIPPED":
            v.skipped += 1
        else:
            v.failures.append(f"KUnit {key}{': ' + why if why else ''}")
    for s in sorted(declared):
        if s not in suites:
            v.failures.append(f"KUnit suite {s} is declared in src/ but did not run")
    if not parsed_docs:
        v.failures.append("KTAP: no KUnit run found in the kernel log")
    return v, parsed_docs


def declared_suites(src):
    """The KUnit suites declared in SRC (`kunit_tests(NAME)` attributes)."""
    names = set()
    for root, _, files in os.walk(src):
        for f in files:
            if f.endswith(".rs"):
                names.update(re.findall(r"kunit_tests\((\w+)\)", read(os.path.join(root, f))))
    return names


def cargo_test(text):
    """`cargo test`'s libtest output: (passed, failed names, finished)."""
    passed = sum(int(m) for m in re.findall(r"^test result: \w+\. (\d+) passed", text, re.M))
    failed = re.findall(r"^test (\S+) \.\.\. FAILED$", text, re.M)
    return passed, failed, re.search(r"^test result:", text, re.M) is not None
