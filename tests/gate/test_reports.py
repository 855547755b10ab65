"""The gate's reports: regressions grouped by cause and margins in the Markdown summary (on plain
records), and the JUnit XML of a real gate run checked against that run's own results.json and
the baseline, read independently of the writer."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.gate.causes import group_regressions
from harness.gate.compare import compare
from harness.gate.render import junit_xml, markdown_summary
from harness.results import (
    ANALYTIC,
    ERROR,
    FAIL,
    NUMERICAL,
    OK_VERDICTS,
    PASS,
    VALUE,
    CheckRecord,
    CheckResult,
    CollectionError,
)


def rec(case, check, arg, verdict=PASS, message="", ratio=0.01):
    return CheckRecord(
        case=case,
        check=check,
        arg=arg,
        verdict=verdict,
        message=message or f"{check} {arg} {verdict}",
        max_abs_error=1e-3 if verdict == FAIL else 1e-12,
        tolerance=1e-9,
        error_ratio=ratio if verdict in OK_VERDICTS else 1e6,
    )


def res(name, *records, source="cases/a.py:1"):
    return CheckResult(name, tuple(records), seconds=0.5, source=source)


def passing(name, source="cases/a.py:1"):
    return res(
        name,
        rec(name, VALUE, None),
        rec(name, NUMERICAL, "x"),
        rec(name, ANALYTIC, "x"),
        rec(name, NUMERICAL, "y"),
        source=source,
    )


def grouped(outcome):
    return [{(c.case, c.check) for c in cause.changes} for cause in group_regressions(outcome)]


def assert_partition(outcome):
    seen = [c for cause in group_regressions(outcome) for c in cause.changes]
    assert sorted(map(id, seen)) == sorted(map(id, outcome.regressions))


def test_a_wrong_value_carries_its_numerical_checks():
    now = res(
        "f",
        rec("f", VALUE, None, FAIL, "fn returned 1.2 but the reference gives 1.0"),
        rec("f", NUMERICAL, "x", FAIL, "numerical gradient disagrees at x[0]"),
        rec("f", ANALYTIC, "x"),
        rec("f", NUMERICAL, "y", FAIL, "numerical gradient disagrees at y[1]"),
    )
    outcome = compare([passing("f")], [now])
    assert grouped(outcome) == [{("f", "value"), ("f", "numerical x"), ("f", "numerical y")}]
    (cause,) = group_regressions(outcome)
    assert cause.changes[0].check == "value" and "finite differences" in cause.why
    summary = markdown_summary(outcome, "baseline.json")
    assert "3 regression(s) from 1 cause(s)" in summary
    assert "with it: f: numerical x, numerical y" in summary


def test_a_numerical_failure_alone_is_its_own_cause():
    # The twin: the value agrees, so nothing explains the numerical check but itself.
    now = res(
        "f",
        rec("f", VALUE, None),
        rec("f", NUMERICAL, "x", FAIL, "numerical gradient disagrees at x[0]"),
        rec("f", ANALYTIC, "x"),
        rec("f", NUMERICAL, "y"),
    )
    outcome = compare([passing("f")], [now])
    assert grouped(outcome) == [{("f", "numerical x")}]
    assert "1 regression(s) from 1 cause(s)" in markdown_summary(outcome, "b.json")


def test_both_gradients_of_one_argument_are_one_cause_other_arguments_are_not():
    now = res(
        "f",
        rec("f", VALUE, None),
        rec("f", NUMERICAL, "x", FAIL, "numerical gradient disagrees at x[0]"),
        rec("f", ANALYTIC, "x", FAIL, "analytic gradient disagrees at x[0]"),
        rec("f", NUMERICAL, "y", FAIL, "numerical gradient disagrees at y[2]"),
    )
    outcome = compare([passing("f")], [now])
    assert grouped(outcome) == [{("f", "numerical x"), ("f", "analytic x")}, {("f", "numerical y")}]
    assert_partition(outcome)


def test_one_message_for_every_check_is_one_cause():
    raised = "fn raised ValueError: shapes (2,) and (3,) not aligned"
    now = res(
        "f",
        rec("f", VALUE, None, ERROR, raised),
        rec("f", NUMERICAL, "x", ERROR, raised),
        rec("f", NUMERICAL, "y", ERROR, raised),
    )
    base = res("f", rec("f", VALUE, None), rec("f", NUMERICAL, "x"), rec("f", NUMERICAL, "y"))
    outcome = compare([base], [now])
    assert len(group_regressions(outcome)) == 1
    assert raised in group_regressions(outcome)[0].headline


def test_a_broken_case_file_carries_the_checks_of_its_cases():
    base = [
        passing("a/one", "cases/a.py:3"),
        passing("a/two", "cases/a.py:9"),
        passing("b/gone", "cases/b.py:2"),
        passing("c/kept", "cases/c.py:2"),
    ]
    now = [passing("c/kept", "cases/c.py:2")]
    errors = [CollectionError("cases/a.py", 5, "NameError: name 'np' is not defined")]
    outcome = compare(base, now, paths=["cases"], errors=errors)
    causes = group_regressions(outcome)
    # The import error and the 8 missing checks of a/one and a/two, then b/gone's 4 checks.
    assert [len(c.changes) for c in causes] == [9, 4]
    broken = causes[0]
    assert broken.changes[0].check == "import" and "NameError" in broken.headline
    assert {c.case for c in broken.changes[1:]} == {"a/one", "a/two"}
    gone = next(c for c in causes if "gone" in c.headline)
    assert {c.case for c in gone.changes} == {"b/gone"}
    assert_partition(outcome)


def test_margins_list_the_passing_checks_closest_to_their_tolerance():
    base = res("f", rec("f", VALUE, None, ratio=0.001), rec("f", NUMERICAL, "x", ratio=0.04))
    now = res(
        "f",
        rec("f", VALUE, None, ratio=0.002),
        rec("f", NUMERICAL, "x", ratio=0.3),
    )
    other = res("g", rec("g", NUMERICAL, "w", ratio=0.05))
    outcome = compare([base, other], [now, other])
    assert outcome.ok
    summary = markdown_summary(outcome, "b.json")
    assert "regression(s) from" not in summary
    section = summary.split("### Margins", 1)[1].split("###", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]
    # Largest error / tolerance first: 0.3 (baseline 0.04), then 0.05, then 0.002.
    assert rows == [
        ["f", "numerical x", "0.3", "0.04"],
        ["g", "numerical w", "0.05", "0.05"],
        ["f", "value", "0.002", "0.001"],
    ]


def test_junit_of_plain_records_counts_errors_apart_from_failures():
    base = [passing("f"), passing("g", "cases/g.py:7")]
    now = [
        res("f", rec("f", VALUE, None, ERROR, "fn raised"), rec("f", NUMERICAL, "x")),
        res("g", rec("g", VALUE, None), rec("g", NUMERICAL, "x", FAIL), source="cases/g.py:7"),
    ]
    suite = ET.fromstring(junit_xml(compare(base, now), started=0.0, seconds=2.0)).find("testsuite")
    kinds = {
        (c.get("classname"), c.get("name")): [child.tag for child in c]
        for c in suite.iter("testcase")
    }
    assert kinds[("f", "value")] == ["error"] and kinds[("g", "numerical x")] == ["failure"]
    assert kinds[("g", "value")] == []  # a passing check: no element, no <system-out>
    # f lost analytic x and numerical y, g lost analytic x and numerical y: missing = failures
    assert (suite.get("errors"), suite.get("failures")) == ("1", "5")
    assert suite.get("time") == "2.000"


# End to end: a real gate run, its JUnit checked against its own results.json.

CASES = """\
import numpy as np
import jax.numpy as jnp
from harness import case


def square_sum(x):
    return float(np.sum(x**2))


def square_sum_reference(x):
    return jnp.sum(x**2)


def raising_gradient(x):
    if RAISES:
        raise RuntimeError("planted")
    return 2 * x


case("keep/passes", fn=square_sum, reference=square_sum_reference, args=(np.array([0.5, 4.0]),))
case("plant/wrong-gradient", fn=square_sum, reference=square_sum_reference,
     args=(np.array([1.0, -2.0, 3.0]),), grad=lambda x: 2 * x * FACTOR)
case("plant/raises", fn=square_sum, reference=square_sum_reference,
     args=(np.array([1.0, 2.0]),), grad=raising_gradient)
"""

OTHER = """\
import numpy as np
from harness import case, oracle, scratch
BROKEN
case("other/f2", fn=scratch.function_2, reference=oracle.function_2, args=(np.array([3.0, 4.0]),))
"""


def write(project: Path, factor: str, raises: str, broken: str) -> None:
    (project / "cases").mkdir(exist_ok=True)
    text = CASES.replace("FACTOR", factor).replace("RAISES", raises)
    (project / "cases" / "squares.py").write_text(text)
    (project / "cases" / "other.py").write_text(OTHER.replace("BROKEN", broken))


@pytest.fixture(scope="module")
def gate_run(tmp_path_factory):
    """Baseline of a passing tree, then a gate run with three planted regressions: a wrong
    gradient (failure), a raising gradient (error), a case file that no longer imports."""
    project = tmp_path_factory.mktemp("gate")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(project)
        mp.setattr(sys, "dont_write_bytecode", True)
        mp.delenv("GITHUB_STEP_SUMMARY", raising=False)
        write(project, "1.0", "False", "")
        assert main(["baseline", "-o", "baseline.json"]) == 0
        write(project, "1.001", "True", "import no_such_module")
        before = time.time()
        code = main(
            ["gate", "--baseline", "baseline.json", "--report-dir", "out"]
            + ["--junit", "out/gate.xml", "--summary", "out/gate.md"]
        )
        after = time.time()
    assert code == 1
    return project, before, after


def test_junit_matches_the_runs_own_results(gate_run):
    project, before, after = gate_run
    root = ET.parse(project / "out" / "gate.xml").getroot()
    (suite,) = root.findall("testsuite")
    results = json.loads((project / "out" / "results.json").read_text())
    baseline = json.loads((project / "baseline.json").read_text())
    was_ok = {
        (r["name"], c["check"], c["arg"]): c["verdict"] in ("pass", "kink")
        for r in baseline["results"]
        for c in r["checks"]
    }
    # Expected, from results.json and the baseline alone.
    now = {(r["name"], c["check"], c["arg"]): c for r in results["results"] for c in r["checks"]}
    # Regressions: passed in the baseline, or new, and not passing now (known failures are not).
    regressed = {
        k: c for k, c in now.items() if was_ok.get(k, True) and c["verdict"] not in OK_VERDICTS
    }
    expected_errors = sum(c["verdict"] == "error" for c in regressed.values()) + len(
        results["collection_errors"]
    )
    missing = [k for k in was_ok if k not in now]
    expected_failures = len(regressed) - sum(c["verdict"] == "error" for c in regressed.values())
    expected_failures += len(missing)
    assert (int(suite.get("errors")), int(suite.get("failures"))) == (
        expected_errors,
        expected_failures,
    )
    # errors: grad raised, other.py; failures: wrong gradient, 3 checks missing
    assert expected_errors == 2 and expected_failures == 4
    assert int(suite.get("tests")) == len(suite.findall("testcase"))
    # Suite attributes as pytest writes them.
    stamp = datetime.fromisoformat(suite.get("timestamp"))
    assert stamp.tzinfo is not None and before - 1 <= stamp.timestamp() <= after
    assert suite.get("hostname") == platform.node()
    assert 0 < float(suite.get("time")) <= after - before + 0.001
    # Per testcase: file and line of the declaration, read from the case file's own text.
    text = (project / "cases" / "squares.py").read_text().splitlines()
    declared = {
        line.split('"')[1]: n for n, line in enumerate(text, 1) if line.startswith('case("')
    }
    times: dict[str, float] = {}
    for testcase in suite.iter("testcase"):
        name = testcase.get("classname")
        assert "system-out" not in [child.tag for child in testcase]
        if name in declared:
            assert testcase.get("file") == "cases/squares.py"
            assert int(testcase.get("line")) == declared[name]
        times[name] = times.get(name, 0.0) + float(testcase.get("time"))
        check, _, arg = testcase.get("name").partition(" ")
        key = (name, check, arg or None)
        children = [child.tag for child in testcase]
        if key in now and key not in regressed:
            assert children == []  # a passing case: nothing but its attributes
        elif key in regressed:
            assert children == ["error" if now[key]["verdict"] == "error" else "failure"]
    (broken,) = [t for t in suite.iter("testcase") if t.get("name") == "import"]
    assert broken.get("file") == "cases/other.py" and broken.get("line") == "3"
    assert [c.tag for c in broken] == ["error"]
    # A case's testcases add up to its time in results.json (3 decimals each).
    for name, seconds in results["timings"]["cases"].items():
        assert times[name] == pytest.approx(seconds, abs=0.002 * len(now)), name


def test_summary_of_the_run_groups_the_broken_file_with_its_missing_case(gate_run):
    project, _, _ = gate_run
    summary = (project / "out" / "gate.md").read_text()
    assert "6 regression(s) from 3 cause(s)" in summary
    assert "cases/other.py does not import: ModuleNotFoundError" in summary  # the cause ...
    assert "with it: other/f2: value, numerical x" in summary  # ... of the missing case
    assert "plant/wrong-gradient" in summary and "grad raised RuntimeError: planted" in summary
    assert "with it: plant/raises: analytic x" in summary  # the error record, and the lost one
    assert "closest to their tolerance" in summary and "keep/passes" in summary
    assert os.path.getsize(project / "out" / "gate.md") > 0
