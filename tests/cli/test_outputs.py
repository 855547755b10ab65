"""Issue 14, items 4, 5, 6, 9, 14 and 24 (files): every output path is checked before any work
(exit 2, one line, nothing run), gradcheck never writes over a file that is not its own output
kind nor replaces a non-regular file, one run's outputs are published together under the folder
lock, an interrupt is never lost and its message says what was written, and temporary files
that a killed run left behind are cleaned up."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from filelock import FileLock

from harness.cli.main import main

ROOT = Path(__file__).resolve().parents[2]

CASES = """\
import pathlib
import numpy as np
import jax.numpy as jnp
from harness import case

pathlib.Path(__file__).with_name("imported").touch()  # proof that work started


def square_sum(x):
    return float(np.sum(x**2))


case("NAME1", fn=square_sum, reference=lambda x: jnp.sum(x**2), args=(np.array([3.0, 4.0]),))
case("NAME2", fn=lambda x: float(np.sum(x**3)), reference=lambda x: jnp.sum(x**3),
     args=(np.array([1.0, 2.0]),))
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    write_cases(tmp_path)
    return tmp_path


def write_cases(folder: Path, first: str = "square/a", second: str = "cube/b") -> None:
    (folder / "cases").mkdir(exist_ok=True)
    text = CASES.replace("NAME1", first).replace("NAME2", second)
    (folder / "cases" / "squares.py").write_text(text)


def one_line_usage_error(capsys, argv: list[str], needle: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err, err
    assert len(err.splitlines()) == 1, err


def nothing_ran(folder: Path) -> bool:
    return not (folder / "cases" / "imported").exists()


# Item 14: unusable outputs are refused before the work.


@pytest.mark.parametrize(
    ("setup", "report_dir", "needle"),
    [
        (lambda p: (p / "out").write_text("a file"), "out", "is a file, not a folder"),
        (lambda p: (p / "out").write_text("a file"), "out/sub", "is a file, not a folder"),
        (lambda p: None, "/proc/self/gradcheck-out", "cannot write into"),
    ],
    ids=["file", "under-a-file", "unwritable"],
)
def test_an_unusable_report_dir_is_a_usage_error_before_any_work(
    project, capsys, setup, report_dir, needle
):
    setup(project)
    one_line_usage_error(capsys, ["run", "cases", "--report-dir", report_dir], needle)
    assert nothing_ran(project)


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "soon"])
def test_timeout_must_be_a_finite_number(project, capsys, value):
    with pytest.raises(SystemExit) as info:
        main(["run", "cases", "--timeout", value])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--timeout" in err and "_timeout" not in err
    assert nothing_ran(project)


def test_baseline_output_naming_a_folder_is_refused_before_any_work(project, capsys):
    one_line_usage_error(capsys, ["baseline", "cases", "-o", "newdir/"], "is a folder")
    (project / "existing").mkdir()
    one_line_usage_error(capsys, ["baseline", "cases", "-o", "existing"], "is a folder")
    assert nothing_ran(project) and not (project / "newdir").exists()


def test_baseline_into_a_missing_folder_creates_it(project, capsys):
    assert main(["baseline", "cases", "-o", "new/folder/baseline.json"]) == 0
    data = json.loads((project / "new" / "folder" / "baseline.json").read_text())
    assert data["format"] == "gradcheck-baseline"


# Items 6 and 9: never over a file of another kind, never over a device.


def test_junit_or_summary_pointed_at_the_baseline_is_refused(project, capsys):
    assert main(["baseline", "cases", "-o", "baseline.json"]) == 0
    before = (project / "baseline.json").read_bytes()
    (project / "cases" / "imported").unlink()
    for option in ("--junit", "--summary"):
        argv = ["gate", "--baseline", "baseline.json", option, "baseline.json"]
        assert main([*argv, "--report-dir", "out"]) == 2
        assert "baseline.json" in capsys.readouterr().err
    assert (project / "baseline.json").read_bytes() == before
    assert nothing_ran(project)


def test_a_baseline_stored_as_the_report_dirs_results_json_is_not_overwritten(project, capsys):
    assert main(["baseline", "cases", "-o", "out/results.json"]) == 0
    capsys.readouterr()  # the baseline's own progress lines
    before = (project / "out" / "results.json").read_bytes()
    (project / "cases" / "imported").unlink()
    one_line_usage_error(capsys, ["run", "cases", "--report-dir", "out"], "not overwriting it")
    assert (project / "out" / "results.json").read_bytes() == before
    assert nothing_ran(project)


@pytest.mark.parametrize(
    "content",
    [
        b'{"format": "gradcheck-results", "version": 1, "resu',  # truncated
        b'{"format": "gradcheck-results", "version": 2, "results": []}',  # newer
        b"my own notes\n",
    ],
    ids=["corrupt", "newer", "foreign"],
)
def test_a_results_json_gradcheck_cannot_read_is_left_untouched(project, capsys, content):
    (project / "out").mkdir()
    (project / "out" / "results.json").write_bytes(content)
    one_line_usage_error(capsys, ["run", "cases", "--report-dir", "out"], "not overwriting it")
    assert (project / "out" / "results.json").read_bytes() == content
    assert nothing_ran(project)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
@pytest.mark.parametrize("option", ["baseline -o", "gate --junit", "gate --summary"])
def test_a_non_regular_file_is_never_replaced_by_a_regular_file(project, capsys, option):
    # A named pipe of the test's own, never a real device: code that replaces non-regular files
    # (as it did /dev/full) must only ever damage something the test made.
    assert main(["baseline", "cases", "-o", "baseline.json"]) == 0
    (project / "cases" / "imported").unlink()
    pipe = project / "pipe"
    os.mkfifo(pipe)
    command, flag = option.split()
    argv = [command, flag, str(pipe)]
    if command == "gate":
        argv += ["--baseline", "baseline.json", "--report-dir", "out"]
    assert main(argv) == 2
    assert "is a named pipe" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert nothing_ran(project)


def test_a_symbolic_link_is_not_written_through(project, capsys):
    (project / "elsewhere.json").write_text("{}")
    (project / "link.json").symlink_to(project / "elsewhere.json")
    assert main(["baseline", "cases", "-o", "link.json"]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert (project / "link.json").is_symlink()
    assert (project / "elsewhere.json").read_text() == "{}"
    assert nothing_ran(project)


def test_cases_whose_names_give_the_same_file_name_get_their_own_plots(project, capsys):
    write_cases(project, "a/b", "a_b")
    assert main(["run", "cases", "--report", "--report-dir", "out"]) == 0
    markdown = (project / "out" / "report.md").read_text()
    links = dict(line[2:-1].split("](") for line in markdown.splitlines() if line[:2] == "![")
    assert links["a/b"] != links["a_b"]
    pictures = {(project / "out" / links[n]).read_bytes() for n in ("a/b", "a_b")}
    assert len(pictures) == 2  # two different figures, not one drawn over the other


# Item 24: a killed run's temporary files are removed by the next run.


def test_orphaned_temporary_files_are_cleaned_up(project, capsys):
    (project / "out").mkdir()
    orphan = project / "out" / ".results.json.k9x2ab7q.tmp"
    orphan.write_text("half a file from a run killed with kill -9")
    mine = project / "out" / ".notes.tmp"  # not a name gradcheck makes: left alone
    mine.write_text("keep")
    assert main(["run", "cases", "--no-report", "--report-dir", "out"]) == 0
    assert not orphan.exists() and mine.exists()


# Items 4 and 5: published together, under the lock; interrupts never lost, never misreported.


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }


def _wait_until_waiting_for_the_lock(proc: subprocess.Popen, limit: float = 120) -> None:
    """Read the run's stderr until it says it waits for the folder (killed after `limit` s)."""
    timer = threading.Timer(limit, proc.kill)
    timer.start()
    try:
        for line in proc.stderr:
            if line.startswith("waiting for "):
                return
    finally:
        timer.cancel()
    raise AssertionError("the run never waited for the report folder's lock")


def test_results_json_is_published_with_the_report_under_the_lock(project):
    out = project / "out"
    out.mkdir()
    lock = FileLock(out / ".lock")  # held across the run, as another run would hold it
    lock.acquire()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.cli", "run", "cases", "--report", "--report-dir",
             "out"],
            cwd=project, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        _wait_until_waiting_for_the_lock(proc)
        # Everything is computed; nothing may be in the folder while another run holds it.
        assert sorted(os.listdir(out)) == [".lock"]
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
    finally:
        lock.release()
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    # The message says what is on disk: this run's outputs, all of them, or none of them.
    written = (out / "results.json").exists()
    assert written == (out / "report.html").exists() == (out / "sweep.json").exists()
    assert ("outputs were written" in err) == written, err
    assert ("left as they were" in err) == (not written), err


SWALLOWS_INTERRUPT = """
import builtins, os, signal, sys, time

real_import = builtins.__import__
fired = []


def swallowing_import(name, *args, **kwargs):
    # Ctrl-C while an import-time callback runs, which swallows KeyboardInterrupt (as JAX's do).
    if name == "tabulate" and not fired:
        fired.append(True)
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
        except BaseException:
            pass
    return real_import(name, *args, **kwargs)


builtins.__import__ = swallowing_import
from harness.cli.main import main

sys.exit(main(sys.argv[1:]))
"""


def test_an_interrupt_swallowed_at_import_still_stops_the_run(project):
    out = project / "out"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SWALLOWS_INTERRUPT), "run", "cases",
         "--no-report", "--report-dir", "out"],
        cwd=project, env=_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert "interrupted" in proc.stderr
    assert not (out / "results.json").exists()
