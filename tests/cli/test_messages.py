"""Issue 14, item 23: the printed `reproduce:` command survives a shell (spaces in the path,
quotes and $ in the name), and a newline in a case name does not break the table."""

from __future__ import annotations

import shlex

from harness.cli.run import reproduce_command
from harness.cli.table import results_table
from harness.results import CheckRecord, CheckResult


def _result(name: str, source: str) -> CheckResult:
    record = CheckRecord(case=name, check="value", arg=None, verdict="fail", message="m")
    return CheckResult(name, (record,), source=source)


def test_the_reproduce_command_is_shell_quoted(tmp_path):
    name = 'it\'s a "case" $HOME `x`\nline two'
    path = tmp_path / "my cases" / "odd file.py"
    words = shlex.split(reproduce_command(_result(name, f"{path}:3")))
    assert words == ["gradcheck", "run", str(path), "-k", name]


def test_an_ordinary_name_is_quoted_as_before():
    command = reproduce_command(_result("function_2/x=(3,4)", "cases/seed_functions.py:19"))
    assert command == "gradcheck run cases/seed_functions.py -k 'function_2/x=(3,4)'"


def test_a_newline_in_a_case_name_stays_on_its_row():
    table = results_table([_result("two\nlines\tand tab", "a.py:1")])
    lines = table.splitlines()
    assert len(lines) == 3  # header, rule, one row
    assert "two\\nlines\\tand tab" in lines[2]


DUPLICATE = """\
import numpy as np
from harness import case, oracle, scratch
case("twice", fn=scratch.function_2, reference=oracle.function_2, args=(np.ones(2),))
case("twice", fn=scratch.function_2, reference=oracle.function_2, args=(np.ones(2),))
"""


def test_a_file_that_imported_is_never_said_not_to_have_imported(tmp_path, capsys, monkeypatch):
    # Item 22: a duplicate case name is a collection error of a file that imported fine.
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "dup.py").write_text(DUPLICATE)
    monkeypatch.chdir(tmp_path)
    from harness.cli.main import main

    assert main(["run", "cases", "--no-report", "--report-dir", "out"]) == 1
    captured = capsys.readouterr()
    final = captured.out.strip().splitlines()[-1]
    assert final.startswith("1 passed, 0 failed, 1 collection error(s) in "), final
    assert "did not import" not in captured.out + captured.err
    assert "duplicate case name 'twice'" in captured.err and "dup.py:4" in captured.err
