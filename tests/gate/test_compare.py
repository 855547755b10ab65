"""The gate: the comparison rule on plain records, and `gradcheck baseline` / `gradcheck gate` end
to end on small case files in a temporary folder (planted regressions must fail it, an unchanged
tree must pass it every time, a bad baseline must exit 2 and stay untouched)."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.gate.baseline import BASELINE_FORMAT, BASELINE_VERSION, load_baseline
from harness.gate.compare import (
    CHANGED,
    FIXED,
    KNOWN_FAILURE,
    NEW,
    NOT_RUN,
    REGRESSION,
    UNCHANGED,
    compare,
)
from harness.results import FAIL, NUMERICAL, PASS, CheckRecord, CheckResult

ROOT = Path(__file__).resolve().parents[2]


def record(error: float | None, tolerance: float = 1e-9, verdict: str = PASS) -> CheckRecord:
    return CheckRecord(
        case="c",
        check=NUMERICAL,
        arg="x",
        verdict=verdict,
        max_abs_error=error,
        tolerance=tolerance,
        scheme="central",
        h=6e-6,
    )


def result(rec: CheckRecord, name: str = "c", source: str = "") -> CheckResult:
    return CheckResult(name, (replace(rec, case=name),), source=source)


def status(before: CheckRecord, after: CheckRecord) -> str:
    (change,) = compare([result(before)], [result(after)]).changes
    return change.status


# The rule, on plain records.


def test_growth_below_the_floor_is_noise():
    # 1e-13 -> 1e-12 is ten times larger but far below 0.1 of a 1e-9 tolerance.
    assert status(record(1e-13), record(1e-12)) == UNCHANGED
    assert status(record(1e-13), record(9e-11)) == UNCHANGED


def test_growth_beyond_factor_and_floor_is_a_regression_though_it_passes():
    assert status(record(1e-12), record(5e-10)) == REGRESSION
    assert status(record(0.0), record(2e-10)) == REGRESSION


def test_growth_within_the_factor_is_not_a_regression():
    assert status(record(1e-10), record(9e-10)) == UNCHANGED


def test_loosening_the_tolerance_cannot_hide_growth():
    # The floor uses the smaller tolerance: 1e-6 is far above 0.1 * 1e-9.
    assert status(record(1e-12), record(1e-6, tolerance=1e-3)) == REGRESSION


def test_verdict_transitions():
    assert status(record(1e-12), record(1e-3, verdict=FAIL)) == REGRESSION
    assert status(record(1e-3, verdict=FAIL), record(1e-3, verdict=FAIL)) == KNOWN_FAILURE
    assert status(record(1e-3, verdict=FAIL), record(1e-12)) == FIXED
    assert status(record(1e-12), replace(record(1e-12), h=1e-5)) == CHANGED


def test_gone_and_new_checks():
    base = [
        result(record(1e-12), "kept", "cases/a.py:1"),
        result(record(1e-12), "gone", "cases/a.py:9"),
    ]
    now = [result(record(1e-12), "kept"), result(record(1e-12), "added")]
    outcome = compare(base, now, paths=["cases"])
    by_case = {c.case: c.status for c in outcome.changes}
    assert by_case == {"kept": UNCHANGED, "gone": REGRESSION, "added": NEW}
    strict = compare(base, now, paths=["cases"], strict=True)
    assert {c.case for c in strict.regressions} == {"gone", "added"}
    failing_new = [result(record(1e-3, verdict=FAIL), "added")]
    assert compare([], failing_new).changes[0].status == REGRESSION


def test_cases_outside_the_run_paths_are_not_called_gone():
    base = [result(record(1e-12), "elsewhere", "other/b.py:3")]
    # Not gone, but not compared either: a regression unless the run says it is partial.
    (change,) = compare(base, [], paths=["cases"]).changes
    assert change.status == REGRESSION and "not run" in change.reason
    (change,) = compare(base, [], paths=["cases"], partial=True).changes
    assert change.status == NOT_RUN and not change.regression
    assert compare(base, [], paths=["other"]).changes[0].status == REGRESSION


def test_same_inputs_same_outcome():
    base = [result(record(1e-12), "a"), result(record(1e-3, verdict=FAIL), "b")]
    now = [result(record(3e-10), "a"), result(record(1e-12), "b")]
    outcome = compare(base, now)
    assert {c.case: c.status for c in outcome.changes} == {"a": REGRESSION, "b": FIXED}
    assert outcome == compare(base, now)


# End to end, on small case files.

CASE_FILE = """\
import numpy as np
import jax.numpy as jnp
from harness import case


def square_sum(x):
    return float(np.sum(x**2))


def square_sum_reference(x):
    return jnp.sum(x**2)


def square_sum_gradient(x):
    return GRADIENT


case("square/backprop", fn=square_sum, reference=square_sum_reference,
     args=(np.array([1.0, -2.0, 3.0]),), grad=square_sum_gradient, TOL)
case("square/numerical", fn=square_sum, reference=square_sum_reference,
     args=(np.array([0.5, 4.0]),))
"""


def write_cases(folder: Path, gradient: str = "2 * x", tol: str = "tol=None") -> Path:
    path = folder / "cases" / "squares.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(CASE_FILE.replace("GRADIENT", gradient).replace("TOL", tol))
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with one case file and its baseline, as the working directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # edited case files must be re-read
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_cases(tmp_path)
    assert main(["baseline", "-o", "baseline.json"]) == 0
    return tmp_path


def gate(capsys, *extra: str) -> tuple[int, str]:
    code = main(["gate", "--baseline", "baseline.json", *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_baseline_holds_every_check_and_the_environment(project):
    data = json.loads((project / "baseline.json").read_text())
    assert (data["format"], data["version"]) == (BASELINE_FORMAT, BASELINE_VERSION)
    assert {"python", "numpy", "jax", "dtypes"} <= set(data["environment"])
    assert data["environment"]["dtypes"] == ["float64"]
    checks = {(r["name"], c["check"]) for r in data["results"] for c in r["checks"]}
    assert ("square/backprop", "analytic") in checks and ("square/numerical", "numerical") in checks
    numerical = data["results"][1]["checks"][1]
    assert numerical["scheme"] == "central" and numerical["h"] > 0 and numerical["tolerance"] > 0
    assert data["results"][0]["source"].startswith("cases/squares.py:")  # relative: same anywhere


def test_unchanged_tree_passes_twice_and_baseline_is_reproducible(project, capsys):
    before = (project / "baseline.json").read_bytes()
    assert gate(capsys)[0] == 0
    assert gate(capsys)[0] == 0
    assert (project / "baseline.json").read_bytes() == before  # the gate only reads it
    assert main(["baseline", "-o", "again.json"]) == 0
    assert (project / "again.json").read_bytes() == before


@pytest.mark.parametrize(
    "gradient, tol, why",
    [
        ("2 * x * 1.001", "tol=None", "pass -> fail"),  # a wrong hand-written gradient
        ("2 * x", "tol={'numerical': 1e-14}", "pass -> fail"),  # a tolerance exceeded
        # Still within tolerance, but the error grew from 0 to well above the noise floor.
        ("2 * x + np.array([2e-13, 0.0, 0.0])", "tol=None", "error grew"),
    ],
)
def test_planted_regression_fails_and_names_the_case(project, capsys, gradient, tol, why):
    write_cases(project, gradient, tol)
    code = main(["gate", "--baseline", "baseline.json"])
    printed = capsys.readouterr()
    assert code == 1
    assert "square/backprop" in printed.out and why in printed.out
    # unchanged checks are not listed (stderr's progress lines name every case checked)
    assert "square/numerical" not in printed.out


def test_deleted_case_is_a_regression(project, capsys):
    path = project / "cases" / "squares.py"
    path.write_text(path.read_text().rsplit("case(", 1)[0])
    code, out = gate(capsys)
    assert code == 1
    assert "square/numerical" in out and "missing" in out


def test_deleted_case_file_is_a_regression(project, capsys):
    (project / "cases" / "squares.py").unlink()
    (project / "cases" / "other.py").write_text("")
    code, out = gate(capsys)
    assert code == 1 and "square/backprop" in out and "square/numerical" in out


def test_baseline_of_no_cases_is_a_usage_error(project, capsys):
    (project / "empty").mkdir()
    assert main(["baseline", "-o", "empty.json", "empty"]) == 2
    assert "no cases found under empty" in capsys.readouterr().err
    assert not (project / "empty.json").exists()


def test_new_case_passes_unless_strict(project, capsys):
    path = project / "cases" / "squares.py"
    path.write_text(path.read_text().replace('"square/numerical"', '"square/renamed"'))
    code, out = gate(capsys)
    assert code == 1  # the renamed case is new, but the old name is gone
    write_cases(project)
    more = (project / "cases" / "squares.py").read_text().replace("square/", "more/")
    (project / "cases" / "more.py").write_text(more)
    code, out = gate(capsys)
    assert code == 0 and "more/backprop" in out and "new" in out
    assert gate(capsys, "--strict")[0] == 1


@pytest.mark.parametrize(
    "content",
    [
        b'{"format": "gradcheck-baseline", "version": 1, "results": [',
        b"\xff\xfe not text",
        b'{"format": "gradcheck-baseline", "version": 1, "results": [{"name": 1}]}',
        b'{"format": "something-else", "version": 1}',
    ],
)
def test_corrupt_baseline_exits_2_and_is_untouched(project, capsys, content):
    (project / "baseline.json").write_bytes(content)
    code, out = gate(capsys)
    assert code == 2
    assert "gradcheck baseline -o baseline.json" in out
    assert (project / "baseline.json").read_bytes() == content


def test_missing_or_wrong_version_baseline_exits_2(project, capsys):
    assert main(["gate", "--baseline", "nowhere.json"]) == 2
    assert "nowhere.json does not exist" in capsys.readouterr().err
    # A good baseline but a missing case folder: the usage error names the folder.
    assert main(["gate", "--baseline", "baseline.json", "no/such/folder"]) == 2
    assert "no such file or directory: no/such/folder" in capsys.readouterr().err
    data = json.loads((project / "baseline.json").read_text())
    data["version"] = BASELINE_VERSION + 1
    (project / "baseline.json").write_text(json.dumps(data))
    code, out = gate(capsys)
    assert code == 2 and f"version {BASELINE_VERSION + 1}" in out


def test_junit_and_summary(project, capsys, monkeypatch):
    step_summary = project / "step.md"
    step_summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
    write_cases(project, "2 * x * 1.001")
    code, _ = gate(capsys, "--junit", "out/gate.xml", "--summary", "out/gate.md")
    assert code == 1
    suite = ET.parse(project / "out" / "gate.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    baseline = load_baseline(project / "baseline.json")
    assert len(cases) == sum(len(r.checks) for r in baseline.results.values()) == 5
    failed = [(c.get("classname"), c.get("name")) for c in cases if c.find("failure") is not None]
    assert failed == [("square/backprop", "analytic x")]
    assert suite.get("failures") == "1" and suite.get("tests") == "5"
    summary = (project / "out" / "gate.md").read_text()
    assert "square/backprop" in summary and "REGRESSION" in summary
    assert step_summary.read_text() == "earlier step\n" + summary


def test_committed_baseline_covers_every_shipped_case():
    from harness.suite.collect import collect

    baseline = load_baseline(ROOT / "reports" / "baseline.json")
    cases, errors = collect([ROOT / "cases"])
    assert not errors
    assert list(baseline.results) == [c.name for c in cases]
    assert all(r.ok for r in baseline.results.values())
