"""The gradcheck command: exit codes, table, results.json, help."""

import json
import subprocess
import sys
import textwrap

import pytest

from harness.cli.main import main

GOOD = """
import numpy as np
from harness import case, oracle, scratch
case("f2/ok", fn=scratch.function_2, reference=oracle.function_2, args=(np.array([3.0, 4.0]),))
"""

WRONG = """
import numpy as np
from harness import case, oracle, scratch
def grad(x):
    g = 2.0 * x
    g[1] = -g[1]
    return g
case("f2/wrong-grad", fn=scratch.function_2, reference=oracle.function_2,
     args=(np.array([3.0, 4.0]),), grad=grad)
"""


@pytest.fixture
def case_dir(tmp_path):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "good.py").write_text(textwrap.dedent(GOOD))
    return tmp_path


def _run(argv, tmp_path):
    return main([*argv, "--report-dir", str(tmp_path / "out")])


def test_run_passes_prints_the_table_and_writes_results(case_dir, capsys):
    status = _run(["run", str(case_dir / "cases")], case_dir)
    out = capsys.readouterr().out
    assert status == 0
    for header in ("case", "parameters", "check", "mode", "abs error", "rel error", "tolerance"):
        assert header in out
    assert "err/tol" in out and "catches" in out
    assert "f2/ok" in out and "1 passed, 0 failed" in out
    payload = json.loads((case_dir / "out" / "results.json").read_text())
    assert payload["format"] == "gradcheck-results" and payload["version"] == 1
    assert payload["summary"]["pass"] == 1
    checks = payload["results"][0]["checks"]
    assert [c["check"] for c in checks] == ["value", "numerical"]
    assert all(c["tolerance"] > 0 for c in checks)


def test_wrong_gradient_exits_1_and_names_argument_and_entry(case_dir, capsys):
    (case_dir / "cases" / "wrong.py").write_text(textwrap.dedent(WRONG))
    status = _run(["run", str(case_dir / "cases")], case_dir)
    captured = capsys.readouterr()
    assert status == 1
    assert "x[1]" in captured.err and "analytic of x" in captured.err
    assert "gradcheck run" in captured.err  # the reproduce command


def test_case_file_that_does_not_import_exits_1_but_others_run(case_dir, capsys):
    (case_dir / "cases" / "zz_broken.py").write_text("import numpy\nraise ValueError('nope')\n")
    status = _run(["run", str(case_dir / "cases")], case_dir)
    captured = capsys.readouterr()
    assert status == 1
    assert "f2/ok" in captured.out
    assert "zz_broken.py:2" in captured.err and "ValueError: nope" in captured.err


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "no/such/path"], "no such file"),
        (["run", "CASES", "-k", "nothing-matches-this"], "no cases found matching"),
    ],
)
def test_usage_errors_exit_2_with_one_line(case_dir, capsys, argv, needle):
    argv = [str(case_dir / "cases") if a == "CASES" else a for a in argv]
    assert _run(argv, case_dir) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_unknown_option_exits_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--no-such-option"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "unrecognized arguments: --no-such-option" in err and len(err.splitlines()) == 1


def test_run_help_shows_the_shared_defaults(capsys):
    from harness.judge.tolerance import SCHEMES
    from harness.suite.run import DEFAULT_TIMEOUT

    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: reports/latest)" in out
    assert f"(default {DEFAULT_TIMEOUT:g}; 0 = no limit)" in out
    assert "{" + ",".join(SCHEMES) + "}" in out


def test_probes_below_one_is_a_usage_error(case_dir, capsys):
    assert _run(["run", str(case_dir / "cases"), "--fast", "--directions", "0"], case_dir) == 2
    assert "--probes must be at least 1, got 0" in capsys.readouterr().err


def test_k_selects_by_name(case_dir, capsys):
    (case_dir / "cases" / "wrong.py").write_text(textwrap.dedent(WRONG))
    assert _run(["run", str(case_dir / "cases"), "-k", "f2/ok"], case_dir) == 0


def test_help_explains_every_subcommand():
    import argparse

    from harness.cli.main import build_parser

    out = subprocess.run(
        [sys.executable, "-m", "harness.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "exit status" in out
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    commands = list(sub.choices)
    assert "run" in commands and "report" in commands
    for command in commands:
        assert command in out  # listed, with its one-line help
        help_text = subprocess.run(
            [sys.executable, "-m", "harness.cli", command, "--help"], capture_output=True, text=True
        )
        assert help_text.returncode == 0
        assert "usage: gradcheck " + command in help_text.stdout
