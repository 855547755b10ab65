"""`gradcheck init`: the starter case file it writes passes `gradcheck run` (and a planted bug in
it fails), it never overwrites a file, and `gradcheck run` without PATH or cases/ points to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli.init import DEFAULT_PATH
from harness.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_run_without_cases_points_to_init(empty, capsys):
    assert main(["run", "--no-report", "--report-dir", "out"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "gradcheck init" in err
    assert "no such file" not in err
    assert not (empty / "out").exists()
    # A PATH that is named but missing is a plain missing path, not a hint to init.
    assert main(["run", "nowhere", "--no-report", "--report-dir", "out"]) == 2
    assert "no such file or directory: nowhere" in capsys.readouterr().err


def test_init_writes_a_starter_that_passes_and_says_what_next(empty, capsys):
    assert main(["init"]) == 0
    out = capsys.readouterr().out
    starter = empty / DEFAULT_PATH
    assert starter.is_file()
    assert f"wrote {DEFAULT_PATH}" in out and "next: gradcheck run" in out
    assert main(["run", "--no-report", "--report-dir", "out"]) == 0
    payload = json.loads((empty / "out" / "results.json").read_text())
    (result,) = payload["results"]
    assert result["verdict"] == "pass"
    # All three checks, on W only: x and t are data.
    assert sorted((c["check"], c["arg"]) for c in result["checks"]) == [
        ("analytic", "W"),
        ("numerical", "W"),
        ("value", None),
    ]
    # The case is declared in the starter itself: its source is that file.
    assert Path(result["source"].rpartition(":")[0]).resolve() == starter.resolve()


@pytest.mark.parametrize(
    ("old", "new", "failing"),
    [
        # backprop that forgets the mean over the rows: the analytic check must catch it
        ("return (x.T @ residual / x.shape[0],)", "return (x.T @ residual,)", {"analytic"}),
        # a NumPy loss off by a factor: value and finite differences disagree with the twin
        ("return 0.5 * np.sum(residual**2)", "return 0.6 * np.sum(residual**2)", None),
    ],
)
def test_a_bug_planted_in_the_starter_fails(empty, capsys, old, new, failing):
    assert main(["init"]) == 0
    starter = empty / DEFAULT_PATH
    text = starter.read_text()
    assert old in text
    starter.write_text(text.replace(old, new))
    assert main(["run", "--no-report", "--report-dir", "out"]) == 1
    payload = json.loads((empty / "out" / "results.json").read_text())
    bad = {c["check"] for c in payload["results"][0]["checks"] if c["verdict"] != "pass"}
    assert bad == (failing or {"value", "numerical"})


def test_init_refuses_to_overwrite(empty, capsys):
    starter = empty / DEFAULT_PATH
    starter.parent.mkdir()
    starter.write_text("# mine\n")
    assert main(["init"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "already exists" in err and DEFAULT_PATH in err
    assert starter.read_text() == "# mine\n"


def test_init_into_a_folder_or_a_named_file(empty, capsys):
    (empty / "checks").mkdir()
    assert main(["init", "checks"]) == 0
    assert (empty / "checks" / "test_example.py").is_file()
    assert "next: gradcheck run checks/test_example.py" in capsys.readouterr().out
    assert main(["init", "more/test_mine.py"]) == 0
    assert (empty / "more" / "test_mine.py").is_file()
    # A name collection skips, or that is no Python file, would never run: refused.
    for bad in ("cases/_hidden.py", "cases/notes.txt"):
        assert main(["init", bad]) == 2
        assert "would not be collected" in capsys.readouterr().err
        assert not (empty / bad).exists()


def test_the_starter_is_a_pytest_module_too(empty, capsys):
    assert main(["init"]) == 0
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "cases"],
        cwd=empty,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 passed" in proc.stdout
