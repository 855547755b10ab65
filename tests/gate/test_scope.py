"""Issue 14, items 3, 15 and 24 (baselines): the gate compares what the baseline holds wherever it
is run from and wherever the case files moved, says so and fails when it compared less (unless
--partial), and a hand-edited baseline is a corrupt baseline (exit 2, untouched) with a message
that names the field."""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cli.main import main

CASE_FILE = """\
import numpy as np
import jax.numpy as jnp
from harness import case


def square_sum(x):
    return float(np.sum(x**2))


case("PREFIX/backprop", fn=square_sum, reference=lambda x: jnp.sum(x**2),
     args=(np.array([1.0, -2.0, 3.0]),), grad=lambda x: GRADIENT)
case("PREFIX/numerical", fn=square_sum, reference=lambda x: jnp.sum(x**2),
     args=(np.array([0.5, 4.0]),))
"""


def write(path: Path, prefix: str, gradient: str = "2 * x") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CASE_FILE.replace("PREFIX", prefix).replace("GRADIENT", gradient))


@pytest.fixture
def project(tmp_path, monkeypatch):
    """Two case files and a baseline in reports/, made from the project folder."""
    root = tmp_path / "project"
    write(root / "cases" / "a.py", "a")
    write(root / "cases" / "b.py", "b")
    monkeypatch.chdir(root)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # edited case files must be re-read
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert main(["baseline", "-o", "reports/baseline.json"]) == 0
    return root


def gate(capsys, *argv: str) -> tuple[int, str]:
    code = main(["gate", *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_gate_finds_the_baselines_cases_from_another_directory(project, capsys, monkeypatch):
    write(project / "cases" / "a.py", "a", "2.5 * x")  # a backprop regression
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    baseline = str(project / "reports" / "baseline.json")
    code, out = gate(capsys, "--baseline", baseline, "--report-dir", "out", "--junit", "g.xml")
    assert code == 1, out
    assert "a/backprop" in out and "pass -> fail" in out
    suite = ET.parse(elsewhere / "g.xml").getroot().find("testsuite")
    assert suite.get("tests") == "10" and suite.get("failures") == "1"


def test_a_regression_in_a_moved_case_file_is_still_caught(project, capsys):
    (project / "moved").mkdir()
    (project / "cases" / "a.py").rename(project / "moved" / "a.py")
    write(project / "moved" / "a.py", "a", "2.5 * x")
    # Only the moved file: its cases ran, so they are compared, wherever they now lie.
    for extra in ([], ["--partial"]):
        code, out = gate(capsys, "--baseline", "reports/baseline.json", "moved", *extra)
        assert code == 1, out
        assert "a/backprop" in out and "pass -> fail" in out


def test_a_gate_that_compares_less_than_the_baseline_fails_unless_partial(project, capsys):
    argv = ["--baseline", "reports/baseline.json", "cases/a.py", "--junit", "g.xml"]
    code, out = gate(capsys, *argv)
    assert code == 1, out
    assert "not run" in out and "compared 5 of the baseline's 10 checks" in out
    code, out = gate(capsys, *argv, "--strict")  # the issue: exit 0 with --strict too
    assert code == 1 and "not run" in out, out
    code, out = gate(capsys, *argv, "--partial")
    assert code == 0, out
    assert "compared 5 of the baseline's 10 checks" in out and "5 not run" in out
    suite = ET.parse(project / "g.xml").getroot().find("testsuite")
    assert suite.get("skipped") == "5" and suite.get("failures") == "0"


def _edit(path: Path, change) -> bytes:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path.read_bytes()


def _set_check_field(field, value):
    def change(data):
        data["results"][0]["checks"][0][field] = value

    return change


def _set_result_field(field, value):
    def change(data):
        data["results"][0][field] = value

    return change


def _drop_worst_index(data):
    for result in data["results"]:
        for rec in result["checks"]:
            if rec.get("worst"):
                del rec["worst"]["index"]
                return


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (_set_check_field("arg", ["x"]), "'arg' is ['x']"),
        (_set_result_field("source", 12), "'source' is 12"),
        (_set_result_field("name", 7), "'name' is 7"),
        (_set_check_field("verdict", None), "'verdict' is None"),
        (lambda d: d.update(paths="cases"), '"paths" is not a list of strings'),
        (_drop_worst_index, "lacks the field 'index'"),
    ],
    ids=["arg-list", "source-int", "name-int", "verdict-null", "paths-string", "no-index"],
)
def test_a_hand_edited_baseline_is_corrupt_exit_2_and_untouched(project, capsys, change, needle):
    path = project / "reports" / "baseline.json"
    content = _edit(path, change)
    code, out = gate(capsys, "--baseline", "reports/baseline.json")
    assert code == 2, out
    assert "is corrupt" in out and needle in out, out
    assert "gradcheck baseline -o" in out
    assert path.read_bytes() == content
