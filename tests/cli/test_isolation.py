"""Issue 14, items 2, 7, 10, 12 and 13: nothing a case does can end, hang or fool the run.

Each test runs the real command in a fresh process on a small case file that misbehaves
(``sys.exit``, ``os._exit``, a swallowed time limit, a cancelled alarm, a hang at import or in the
report, an ``os.chdir``, options check() rejects, a custom BaseException), next to cases that
behave; the run must finish, exit 1, name the bad case as an ``error`` and still check, print and
write everything else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from casefiles import case_file

ROOT = Path(__file__).resolve().parents[2]

HEADER = case_file(
    """\
def good(name):
    case(name, fn=square_sum, reference=square_sum_jax, args=(np.array([3.0, 4.0]),))


def wrong(name):
    case(name, fn=square_sum, reference=square_sum_jax, args=(np.array([3.0, 4.0]),),
         grad=lambda x: 2.5 * x)
"""
)


def gradcheck(folder: Path, *argv: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """`gradcheck ARGV` in a fresh process, in `folder`, with this checkout's harness."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", *argv],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_case_file(folder: Path, name: str, body: str) -> Path:
    path = folder / "cases" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + textwrap.dedent(body))
    return path


def results(folder: Path, report_dir: str = "out") -> dict[str, dict]:
    data = json.loads((folder / report_dir / "results.json").read_text())
    return {r["name"]: r for r in data["results"]}


def messages(result: dict) -> str:
    return " ".join(c["message"] for c in result["checks"])


EXITS = """
def exits(x):
    sys.exit(0)


def dies(x):
    os._exit(0)


good("a/good")
case("b/exits", fn=exits, reference=square_sum_jax, args=(np.array([3.0, 4.0]),))
case("c/dies", fn=dies, reference=square_sum_jax, args=(np.array([3.0, 4.0]),))
wrong("d/wrong")
good("e/good-after")
"""


def test_a_case_calling_sys_exit_or_os_exit_is_an_error_and_the_run_goes_on(tmp_path):
    write_case_file(tmp_path, "exits.py", EXITS)
    run = gradcheck(tmp_path, "run", "cases", "--no-report", "--report-dir", "out")
    assert run.returncode == 1, run.stderr
    found = results(tmp_path)
    assert list(found) == ["a/good", "b/exits", "c/dies", "d/wrong", "e/good-after"]
    verdicts = {name: r["verdict"] for name, r in found.items()}
    assert verdicts == {
        "a/good": "pass",
        "b/exits": "error",
        "c/dies": "error",
        "d/wrong": "fail",
        "e/good-after": "pass",
    }
    assert "SystemExit" in messages(found["b/exits"])
    assert "ended the worker process: exit status 0" in messages(found["c/dies"])
    assert "3 passed" not in run.stdout and "2 passed, 3 failed" in run.stdout


def test_the_gate_fails_on_a_case_that_exits(tmp_path):
    write_case_file(tmp_path, "cases.py", 'good("a/good")\ngood("b/later")\n')
    made = gradcheck(tmp_path, "baseline", "-o", "baseline.json")
    assert made.returncode == 0, made.stderr
    write_case_file(tmp_path, "cases.py", EXITS.replace('good("e/good-after")', 'good("b/later")'))
    gate = gradcheck(tmp_path, "gate", "--baseline", "baseline.json", "--report-dir", "out")
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert results(tmp_path)["c/dies"]["verdict"] == "error"
    assert "FAILED" in gate.stdout


STUBBORN = """
def swallows_the_limit(x):
    end = time.time() + 90
    while time.time() < end:
        try:
            time.sleep(0.05)
        except BaseException:
            pass
    return 25.0


def cancels_the_alarm(x):
    if hasattr(signal, "alarm"):
        signal.alarm(0)
        signal.setitimer(signal.ITIMER_REAL, 0)
    time.sleep(90)
    return 25.0


good("a/good")
case("b/swallows", fn=swallows_the_limit, reference=square_sum_jax, args=(np.array([3.0, 4.0]),))
case("c/cancels", fn=cancels_the_alarm, reference=square_sum_jax, args=(np.array([3.0, 4.0]),))
good("d/good-after")
"""


def test_a_case_cannot_defeat_the_time_limit(tmp_path):
    write_case_file(tmp_path, "stubborn.py", STUBBORN)
    run = gradcheck(
        tmp_path, "run", "cases", "--no-report", "--timeout", "4", "--report-dir", "out",
        timeout=80,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    found = results(tmp_path)
    for name in ("b/swallows", "c/cancels"):
        assert found[name]["verdict"] == "error"
        assert "stopped after 4 s (the per-case time limit)" in messages(found[name])
    assert found["a/good"]["verdict"] == found["d/good-after"]["verdict"] == "pass"


def test_a_case_file_that_hangs_at_import_is_a_collection_error(tmp_path):
    write_case_file(tmp_path, "a_fine.py", 'good("a/good")\n')
    write_case_file(tmp_path, "b_hangs.py", "time.sleep(90)\n")
    run = gradcheck(
        tmp_path, "run", "cases", "--no-report", "--timeout", "4", "--report-dir", "out",
        timeout=80,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr
    assert (
        "b_hangs.py" in run.stderr and "importing the case file took longer than 4 s" in run.stderr
    )
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [r["name"] for r in data["results"]] == ["a/good"]
    assert data["collection_errors"][0]["path"].endswith("b_hangs.py")


HANGS_IN_REPORT = """
calls = {"n": 0}


def hangs_when_swept(x):
    # The checks call fn a few dozen times; the report's sweep, hundreds.
    calls["n"] += 1
    if calls["n"] > 150:
        time.sleep(90)
    return float(np.sum(x**2))


good("a/good")
case("b/hangs-in-report", fn=hangs_when_swept, reference=square_sum_jax,
     args=(np.array([3.0, 4.0]),))
"""


def test_the_report_phase_keeps_the_time_limit(tmp_path):
    write_case_file(tmp_path, "report.py", HANGS_IN_REPORT)
    run = gradcheck(
        tmp_path, "run", "cases", "--report", "--timeout", "6", "--report-dir", "out", timeout=90
    )
    assert run.returncode == 0, run.stderr  # its checks passed; only its sweep was stopped
    sweep = json.loads((tmp_path / "out" / "sweep.json").read_text())
    skipped = {c["name"]: c["skipped"] for c in sweep["cases"]}
    assert skipped["a/good"] is None
    assert "stopped after 6 s" in skipped["b/hangs-in-report"]
    assert (tmp_path / "out" / "report.html").exists()


def test_a_case_file_that_changes_directory_moves_no_path(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "b_data.txt").write_text("4.0\n")
    write_case_file(tmp_path, "a_moves.py", f'os.chdir({str(elsewhere)!r})\ngood("a/good")\n')
    # A later file that reads a file relative to the directory the run started in.
    write_case_file(
        tmp_path,
        "b_reads.py",
        'value = float(open("b_data.txt").read())\n'
        'case("b/reads", fn=square_sum, reference=square_sum_jax, args=(np.array([value]),))\n',
    )
    run = gradcheck(tmp_path, "run", "cases", "--no-report", "--report-dir", "out")
    assert run.returncode == 0, run.stderr
    assert list(results(tmp_path)) == ["a/good", "b/reads"]
    assert not (elsewhere / "out").exists()


BAD_OPTIONS = """
class Custom(BaseException):
    pass


def raises_custom(x):
    raise Custom("not an Exception")


def raises_in_the_second_opinion(x):
    # Off by 0.1 x0, so entry 0 gets a second opinion at h/2, where this raises.
    if 0 < abs(float(x[0]) - 3.0) < 1e-5:
        raise RuntimeError("raised at h/2")
    return float(np.sum(x**2) + 0.1 * x[0])


good("a/good")
case("b/scheme", fn=square_sum, reference=square_sum_jax, args=(np.array([3.0, 4.0]),),
     scheme="centre")
case("c/checks", fn=square_sum, reference=square_sum_jax, args=(np.array([3.0, 4.0]),),
     checks=("numerical", "hessian"))
case("d/custom", fn=raises_custom, reference=square_sum_jax, args=(np.array([3.0, 4.0]),))
case("e/second-opinion", fn=raises_in_the_second_opinion, reference=square_sum_jax,
     args=(np.array([3.0, 4.0]),))
case("e1/tol", fn=square_sum, reference=square_sum_jax, args=(np.array([3.0, 4.0]),), tol=-1.0)
case("e2/step", fn=square_sum, reference=square_sum_jax, args=(np.array([3.0, 4.0]),), h=0)
good("f/good-after")
"""


def test_options_check_rejects_and_custom_base_exceptions_are_that_cases_error(tmp_path):
    write_case_file(tmp_path, "options.py", BAD_OPTIONS)
    run = gradcheck(tmp_path, "run", "cases", "--no-report", "--report-dir", "out")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    found = results(tmp_path)
    verdicts = [found[n]["verdict"] for n in found]
    assert verdicts == ["pass", "error", "error", "error", "error", "error", "error", "pass"]
    assert "centre" in messages(found["b/scheme"])
    assert "hessian" in messages(found["c/checks"])
    assert "Custom: not an Exception" in messages(found["d/custom"])
    assert "raised at h/2" in messages(found["e/second-opinion"])
    assert "tol must be a number >= 0, got -1.0" in messages(found["e1/tol"])
    assert "h must be a positive finite number" in messages(found["e2/step"])
    assert "b/scheme" in run.stdout  # the table is printed


ERRORS_IN_REPORT = """
def raising_reference(x):
    raise RuntimeError("reference is broken")


good("a/good")
case("b/raising-reference", fn=square_sum, reference=raising_reference,
     args=(np.array([3.0, 4.0]),))
case("c/non-scalar-reference", fn=square_sum, reference=lambda x: x**2,
     args=(np.array([3.0, 4.0]),))
case("d/non-finite-gradient", fn=lambda x: float(np.sum(np.sqrt(x))),
     reference=lambda x: jnp.sum(jnp.sqrt(x)), args=(np.array([0.0, 4.0]),))
"""


@pytest.mark.parametrize("command", ["run", "report"])
def test_the_report_is_written_for_cases_the_checker_marked_error(tmp_path, command):
    write_case_file(tmp_path, "errors.py", ERRORS_IN_REPORT)
    report = ["--report"] if command == "run" else []
    run = gradcheck(tmp_path, command, "cases", *report, "--report-dir", "out")
    assert run.returncode == (1 if command == "run" else 0), run.stderr
    assert "Traceback" not in run.stderr
    sweep = json.loads((tmp_path / "out" / "sweep.json").read_text())
    skipped = {c["name"]: c["skipped"] for c in sweep["cases"]}
    assert skipped["a/good"] is None
    for name in ("b/raising-reference", "c/non-scalar-reference"):
        assert skipped[name], name  # listed as not swept, with the reason
    assert (tmp_path / "out" / "report.html").exists()


DELETES_RESULTS = """
def deletes_results(x):
    # A case that deletes the report folder's results.json whenever it runs.
    if os.path.exists("out/results.json"):
        os.remove("out/results.json")
    return float(np.sum(x**2))


case("a/deletes", fn=deletes_results, reference=square_sum_jax, args=(np.array([3.0, 4.0]),))
"""


def test_the_final_line_names_a_results_json_that_exists(tmp_path):
    write_case_file(tmp_path, "deletes.py", DELETES_RESULTS)
    run = gradcheck(tmp_path, "run", "cases", "--report-dir", "out")
    assert run.returncode == 0, run.stderr
    assert "results in out/results.json" in run.stdout
    assert results(tmp_path)["a/deletes"]["verdict"] == "pass"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_case_that_swallows_every_exception_cannot_outlive_an_interrupt(tmp_path, signum):
    marker = tmp_path / "started"
    write_case_file(
        tmp_path,
        "stubborn.py",
        f"""
def stubborn(x):
    with open({str(marker)!r}, "w") as f:
        f.write(str(os.getpid()))
    end = time.time() + 90
    while time.time() < end:
        try:
            time.sleep(0.05)
        except BaseException:
            pass
    return 25.0


case("a/stubborn", fn=stubborn, reference=square_sum_jax, args=(np.array([3.0, 4.0]),))
""",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.cli", "run", "cases", "--report-dir", "out"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.time() + 120
    while not (marker.exists() and marker.read_text()) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "interrupted" in err
    assert not (tmp_path / "out" / "results.json").exists()
    # And the process that ran the case is gone, not left spinning.
    assert not _running(int(marker.read_text()))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\tZ" in status.read_text())


NO_ALARM = """\
import signal
for _name in ("SIGALRM", "alarm", "setitimer", "getitimer", "ITIMER_REAL"):
    if hasattr(signal, _name):
        delattr(signal, _name)
"""

HANGS_WITHOUT_ALARM = """
assert not hasattr(signal, "SIGALRM")  # as on Windows


def hangs(x):
    time.sleep(90)
    return 25.0


case("a/hangs", fn=hangs, reference=square_sum_jax, args=(np.array([3.0, 4.0]),))
good("b/good")
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "n2"])
def test_the_time_limit_needs_no_sigalrm(tmp_path, workers):
    # Item 13: the limit is portable. Every process of the run (the command, its case worker,
    # pytest-xdist's workers) starts without SIGALRM, alarm or setitimer, as on Windows.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_ALARM)
    write_case_file(tmp_path, "hangs.py", HANGS_WITHOUT_ALARM)
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT}", "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "cases", *workers, "--no-report",
         "--timeout", "4", "--report-dir", "out"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=150,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    found = results(tmp_path)
    assert found["b/good"]["verdict"] == "pass"
    assert found["a/hangs"]["verdict"] == "error"
    assert "stopped after 4 s (the per-case time limit)" in messages(found["a/hangs"])
