"""Issue 16: a run you can watch. Progress on stderr (live on a terminal, one plain line per case
elsewhere), colour and NO_COLOR, --version, warnings captured per case, the report opt-in, and the
table's legend, modes and power statement in `gradcheck run`'s output.

The terminal tests run the real command on a pseudo-terminal, so they see what a user sees."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
import tomllib
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from casefiles import case_file

from harness.cli import progress
from harness.cli.main import main
from harness.cli.table import fitting_columns, results_table

ROOT = Path(__file__).resolve().parents[2]

CASES = case_file(
    """\
case("a/good", fn=square_sum, reference=square_sum_jax, args=(np.array([3.0, 4.0]),),
     grad=lambda x: 2.0 * x)
case("b/wrong", fn=square_sum, reference=square_sum_jax, args=(np.array([3.0, 4.0]),),
     grad=lambda x: 2.5 * x)
case("c/good", fn=square_sum, reference=square_sum_jax, args=(np.array([1.0, 2.0, 3.0]),))
"""
)

WARNS = """\
import numpy as np
import jax.numpy as jnp
from harness import case


def overflowing(x):
    huge = np.exp(np.array([1000.0]))  # RuntimeWarning: overflow encountered in exp
    return float(np.sum(x**2)) + 0.0 * float(np.isinf(huge[0]))


case("w/overflows", fn=overflowing, reference=lambda x: jnp.sum(x**2),
     args=(np.array([3.0, 4.0]),))
case("w/silent", fn=lambda x: float(np.sum(x**2)), reference=lambda x: jnp.sum(x**2),
     args=(np.array([3.0, 4.0]),))
"""

# Any escape sequence, and those that set a colour (SGR 30-49, 90-107, 38;... and 48;...).
ESCAPE = re.compile(r"\x1b")
COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3\d|4\d|9\d|10\d)(?:;\d+)*m")
# A plain progress line: "[2/3] fail     b/wrong (0.3s)".
LINE = re.compile(r"^\[\s*(\d+)/(\d+)\] (\S+)\s+(\S+) \(\d+\.\d+s\)$")


def _project(tmp_path: Path, text: str = CASES) -> Path:
    (tmp_path / "cases").mkdir(parents=True)
    (tmp_path / "cases" / "cases.py").write_text(text)
    return tmp_path


def _env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    for name in ("CI", "NO_COLOR"):
        env.pop(name, None)
    env.update(extra)
    return env


def _gradcheck(folder: Path, *argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *argv],
        cwd=folder,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _on_a_terminal(folder: Path, *argv: str, **env: str) -> tuple[int, str]:
    """`gradcheck ARGV` with stdout and stderr on one pseudo-terminal: (status, what it shows)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", *argv],
        cwd=folder,
        env=_env(COLUMNS="160", **env),
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    shown = b""
    deadline = time.time() + 300
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the terminal closed: the process ended
                break
            if not data:
                break
            shown += data
        elif proc.poll() is not None:
            break
    os.close(master)
    return proc.wait(timeout=60), shown.decode("utf-8", "replace")


def _plain_lines(stderr: str) -> list[tuple[str, str]]:
    """(verdict, case) of every plain progress line."""
    return [(m[3], m[4]) for m in map(LINE.match, stderr.splitlines()) if m]


# Item 1: plain output off a terminal, with -q, in CI.


def test_off_a_terminal_each_case_is_one_plain_line_on_stderr(tmp_path):
    run = _gradcheck(_project(tmp_path), "run", "cases", "--report-dir", "out")
    assert run.returncode == 1, run.stderr
    assert not ESCAPE.search(run.stderr) and not ESCAPE.search(run.stdout)
    assert _plain_lines(run.stderr) == [("pass", "a/good"), ("fail", "b/wrong"), ("pass", "c/good")]
    # stdout keeps the table and the summary; the progress lines are not in it
    assert not _plain_lines(run.stdout)
    assert "b/wrong" in run.stdout and run.stdout.rstrip().splitlines()[-1].startswith(
        "2 passed, 1 failed"
    )


def test_run_n_shows_each_case_as_a_serial_run_does_and_no_pytest_output(tmp_path):
    run = _gradcheck(_project(tmp_path), "run", "-n", "2", "cases", "--report-dir", "out")
    assert run.returncode == 1, run.stderr
    # One plain line per case as its report reaches the controller (in the order they end)
    assert sorted(_plain_lines(run.stderr)) == [
        ("fail", "b/wrong"),
        ("pass", "a/good"),
        ("pass", "c/good"),
    ]
    counters = [LINE.match(line)[1] for line in run.stderr.splitlines() if LINE.match(line)]
    assert counters == ["1", "2", "3"]
    # pytest's and xdist's own terminal output stays out of gradcheck's
    for theirs in ("bringing up nodes", "[100%]", "warnings summary", "passed in"):
        assert theirs not in run.stdout + run.stderr
    assert run.stdout.rstrip().splitlines()[-1].startswith("2 passed, 1 failed")


def test_quiet_shows_only_the_cases_that_did_not_pass(tmp_path):
    run = _gradcheck(_project(tmp_path), "run", "cases", "-q", "--report-dir", "out")
    assert run.returncode == 1
    assert _plain_lines(run.stderr) == [("fail", "b/wrong")]
    assert "a/good" not in run.stdout  # the table holds only the failure, as before


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_ci_on_a_terminal_is_plain_with_no_control_codes(tmp_path, value):
    status, shown = _on_a_terminal(_project(tmp_path), "run", "cases", "--report-dir", "out",
                                   CI=value)  # fmt: skip
    assert status == 1
    assert not ESCAPE.search(shown), repr(shown[:400])
    assert _plain_lines(shown.replace("\r\n", "\n")) == [
        ("pass", "a/good"),
        ("fail", "b/wrong"),
        ("pass", "c/good"),
    ]


def test_ci_false_and_zero_do_not_count_as_ci(monkeypatch):
    for value, ci in [("true", True), ("false", False), ("0", False), ("", False), ("1", True)]:
        monkeypatch.setenv("CI", value)
        assert progress.in_ci() is ci, value


# Item 1: the live display on a terminal, colour and NO_COLOR.


def test_on_a_terminal_the_display_is_live_and_coloured(tmp_path):
    status, shown = _on_a_terminal(_project(tmp_path), "run", "cases", "--report-dir", "out")
    assert status == 1
    assert COLOUR.search(shown)  # verdicts in colour
    assert "\r" in shown and "\x1b[2K" in shown  # the bar redrawn in place
    assert "passed" in shown and "failed" in shown  # the live tally
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    for name in ("a/good", "b/wrong", "c/good"):
        assert name in plain
    assert "2 passed, 1 failed" in plain


def test_no_color_turns_colour_off_on_a_terminal(tmp_path):
    status, shown = _on_a_terminal(_project(tmp_path), "run", "cases", "--report-dir", "out",
                                   NO_COLOR="1")  # fmt: skip
    assert status == 1
    assert not COLOUR.search(shown), COLOUR.findall(shown)[:5]
    assert "b/wrong" in shown


def test_the_estimate_is_the_rate_so_far_times_what_is_left():
    info = {"check": "numerical", "arg": "W1", "size": 50, "done": 25, "total": 100}
    assert progress.estimate(info, 10.0) == pytest.approx(30.0)  # 25 in 10 s: 75 more in 30 s
    assert progress.estimate(info, 1.0) is None  # too early to say
    assert progress.estimate({**info, "total": 0}, 10.0) is None  # a step that is not counted
    assert progress.step_text(info) == "numerical W1 (50)"


def test_the_worker_reports_each_step_and_its_evaluations(tmp_path):
    from harness.suite.run import CaseRunner

    _project(tmp_path)
    with CaseRunner(60) as runner:
        cases, _ = runner.collect([tmp_path / "cases"])
        seen: list[dict] = []
        result = runner.check(cases[0], on_progress=seen.append)  # a/good: x has 2 entries
    assert result.ok
    steps = [(s["check"], s["arg"], s["size"], s["total"]) for s in seen if s["done"] == 0]
    # central differences: 2 evaluations per entry; value and analytic are not counted
    assert steps == [("value", None, 0, 0), ("numerical", "x", 2, 4), ("analytic", None, 0, 0)]


SLOW = """\
import time
import numpy as np
import jax.numpy as jnp
from harness import case


def slow(x):
    time.sleep(0.05)
    return float(np.sum(x**2))


case("slow", fn=slow, reference=lambda x: jnp.sum(x**2), args=(np.ones(300),))
"""


def test_progress_frames_do_not_extend_the_time_limit(tmp_path):
    # 600 evaluations of 50 ms: 30 s, reporting every 0.25 s; the limit is 10 s (importing the
    # case file, JAX included, has a limit of its own).
    run = _gradcheck(_project(tmp_path, SLOW), "run", "cases", "--timeout", "10",
                     "--report-dir", "out")  # fmt: skip
    assert run.returncode == 1, run.stderr
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    (record,) = doc["results"]
    assert record["verdict"] == "error" and "stopped after 10 s" in record["checks"][0]["message"]
    assert doc["timings"]["cases"]["slow"] < 20


# Item 2: the report is opt-in.


def test_run_writes_the_report_only_with_report(tmp_path):
    project = _project(tmp_path)
    plain = _gradcheck(project, "run", "cases", "--report-dir", "plain")
    assert (project / "plain" / "results.json").exists()
    assert not (project / "plain" / "report.md").exists()
    assert not (project / "plain" / "sweep.json").exists()
    last = plain.stdout.rstrip().splitlines()[-1]
    assert "`gradcheck run --report` or `gradcheck report`" in last
    with_report = _gradcheck(project, "run", "cases", "--report", "--report-dir", "full")
    assert (project / "full" / "report.md").read_text().startswith("# Error versus h")
    assert (project / "full" / "report.html").exists()
    assert "gradcheck report`" not in with_report.stdout.rstrip().splitlines()[-1]
    # --no-report, kept for older commands, is the default
    old = _gradcheck(project, "run", "cases", "--no-report", "--report-dir", "old")
    assert old.returncode == 1 and not (project / "old" / "report.md").exists()


def test_an_empty_selection_writes_no_report_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "broken.py").write_text("raise RuntimeError('oops')\n")
    assert main(["run", "cases", "--report", "--report-dir", "out"]) == 1
    out = capsys.readouterr().out
    assert "no error-versus-h report: no case was collected" in out
    assert not (tmp_path / "out" / "report.md").exists()
    assert (tmp_path / "out" / "results.json").exists()
    # and a -k that selects nothing is a usage error before anything is written
    _project(tmp_path / "p")
    monkeypatch.chdir(tmp_path / "p")
    assert main(["run", "cases", "--report", "-k", "nomatch", "--report-dir", "out"]) == 2
    assert "no cases found matching -k nomatch" in capsys.readouterr().err
    assert not (tmp_path / "p" / "out").exists()


# Item 3: --version.


def test_version_is_the_installed_metadata_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"gradcheck {metadata.version('gradcheck')}\n"


def test_version_is_fast_and_imports_no_jax():
    probe = (
        "import sys, time; t = time.perf_counter()\n"
        "from harness.cli.main import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "print(time.perf_counter() - t, 'jax' in sys.modules, 'rich' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=_env(), capture_output=True, text=True, timeout=60
    ).stdout.split()
    assert out[0] == "gradcheck"
    assert float(out[2]) < 1.0 and out[3:] == ["False", "False"]


def test_the_fallback_version_is_the_pyproject_version():
    import harness

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert harness.__version__ == pyproject["project"]["version"]


# Item 5: warnings are the case's, not stderr's.


def test_a_warning_is_shown_with_its_case_and_recorded(tmp_path):
    run = _gradcheck(_project(tmp_path, WARNS), "run", "cases", "--report-dir", "out")
    assert run.returncode == 0, run.stderr
    lines = run.stderr.splitlines()
    at = next(i for i, line in enumerate(lines) if LINE.match(line) and "w/overflows" in line)
    expected = "RuntimeWarning: overflow encountered in exp (cases/cases.py:7)"
    assert lines[at + 1].strip() == f"warning: {expected}"
    # not leaked raw: Python's own format prints the file, the category and the source line
    assert "huge = np.exp" not in run.stderr
    assert not any(re.search(r":\d+: RuntimeWarning:", line) for line in lines)
    results = json.loads((tmp_path / "out" / "results.json").read_text())["results"]
    by_name = {r["name"]: r for r in results}
    assert by_name["w/overflows"]["warnings"] == [expected]
    assert "warnings" not in by_name["w/silent"]


def test_the_in_process_runner_records_the_same_warnings(tmp_path, monkeypatch):
    # The pytest plugin's path (run_limited), so a -n run's results.json matches a serial one.
    from harness.suite.collect import collect
    from harness.suite.run import run_limited

    monkeypatch.chdir(_project(tmp_path, WARNS))
    cases, _ = collect(["cases"])
    first, second = (run_limited(c, None) for c in cases)
    assert first.warnings == ("RuntimeWarning: overflow encountered in exp (cases/cases.py:7)",)
    assert second.warnings == ()


# Item 4 in the command's output: legend, modes, power statement, narrow terminals.


def test_run_prints_the_legend_under_the_table(tmp_path):
    run = _gradcheck(_project(tmp_path), "run", "cases", "--report-dir", "out")
    legend = run.stdout.split("\n\n")[1]
    assert "rel error: abs error / G, G the largest |jax.grad entry| over every" in " ".join(
        legend.split()
    )
    for column in ("abs error:", "tolerance:", "err/tol:", "catches:", "mode: entries ="):
        assert column in legend
    assert "probes =" not in legend  # only the modes the table uses are explained


def test_probe_mode_prints_its_power_statement(tmp_path):
    run = _gradcheck(_project(tmp_path), "run", "cases", "--probe", "--probes", "8",
                     "--report-dir", "out")  # fmt: skip
    doc = json.loads((tmp_path / "out" / "results.json").read_text())
    probed = [
        c
        for r in doc["results"]
        for c in r["checks"]
        if c["check"] == "numerical" and c["details"].get("mode") == "probe"
    ]
    assert len(probed) == 3  # one per case
    spent = sum(c["evaluations"] for c in probed)
    assert spent >= 3 * 2 * 8  # 2k evaluations per case at least
    statement = " ".join(run.stdout[run.stdout.index("probe mode:") :].split())
    assert statement.startswith("probe mode: 3 case(s) checked by k = 8 probes")
    assert f"probability <= 2^-8 = {2.0**-8:.2g} per case" in statement
    assert f"{spent:,} evaluations spent" in statement
    rows = [line.split() for line in run.stdout.splitlines() if " numerical " in line]
    assert len(rows) == 3 and all(row[4] == "probes" for row in rows)  # "x (2)" is 2 words


def test_a_narrow_terminal_drops_columns_but_keeps_the_verdict():
    import jax.numpy as jnp

    from harness import check

    result = check(
        lambda x: float(np.sum(x**2)),
        lambda x: jnp.sum(x**2),
        np.array([3.0, 4.0]),
        name="net/MultiLayerNetExtend/batchnorm-dropout-decay",
    )
    wide, unwrapped = fitting_columns([result], None)
    assert unwrapped is None
    assert len(results_table([result], columns=wide).splitlines()[0]) > 100
    narrow, case_width = fitting_columns([result], 100)
    assert "verdict" in narrow and "abs error" in narrow and "err/tol" in narrow
    assert len(narrow) < len(wide)
    table = results_table([result], columns=narrow, case_width=case_width)
    assert max(len(line) for line in table.splitlines()) <= 100
    # the 47-character name is wrapped, not cut: the first column's pieces make it up, twice
    # (the value row and the numerical row)
    pieces = [line.split()[0] for line in table.splitlines()[2:] if line.strip()]
    assert len(pieces) > 2 and "".join(pieces) == 2 * result.name


def test_no_text_from_a_case_reaches_the_terminal_as_control_codes(tmp_path):
    display = progress.Progress(1, stream=(out := _Stream()))
    display.started("evil\x1b[31m")
    display.finished("evil\x1b[31m", "pass", True, 0.1, ["warning: \x1b[2Jclear"])
    assert "\x1b" not in out.text and "evil\\x1b[31m" in out.text


class _Stream:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass
