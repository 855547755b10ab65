"""Issue 14, items 1 and 13 (-n): a pytest-xdist worker that dies on a case loses no result and
cannot make the run pass; -n keeps --timeout. Through `gradcheck run -n` and through
`pytest --gradcheck-results` alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from casefiles import case_file

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ["-p", "no:gradcheck", "-p", "harness.pytest_plugin", "-p", "no:benchmark"]

CASES = case_file(
    """\
def dies(x):
    os._exit(3)


X = np.array([3.0, 4.0])
case("square/a", fn=square_sum, reference=square_sum_jax, args=(X.copy(),))
case("square/dies", fn=dies, reference=square_sum_jax, args=(X.copy(),))
case("square/wrong", fn=square_sum, reference=square_sum_jax, args=(X.copy(),),
     grad=lambda x: 2.5 * x)
case("square/b", fn=square_sum, reference=square_sum_jax, args=(X.copy(),))
"""
)

HANGS = """\
import time

import numpy as np
import jax.numpy as jnp
from harness import case


def hangs(x):
    time.sleep(90)
    return float(np.sum(x**2))


case("slow/hangs", fn=hangs, reference=lambda x: jnp.sum(x**2), args=(np.array([3.0, 4.0]),))
"""

EXPECTED = {"square/a": "pass", "square/dies": "error", "square/wrong": "fail", "square/b": "pass"}


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _project(tmp_path: Path, text: str = CASES) -> Path:
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "squares.py").write_text(text)
    return tmp_path


def _verdicts(path: Path) -> dict[str, str]:
    data = json.loads(path.read_text())
    assert data["summary"]["cases"] == len(data["results"])
    return {r["name"]: r["verdict"] for r in data["results"]}


def test_gradcheck_run_n_keeps_the_case_whose_worker_crashed(tmp_path):
    folder = _project(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-n", "2", "--no-report", "--report-dir",
         "out"],
        cwd=folder, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert _verdicts(folder / "out" / "results.json") == EXPECTED
    data = json.loads((folder / "out" / "results.json").read_text())
    (dead,) = [r for r in data["results"] if r["name"] == "square/dies"]
    # -n checks each case in a worker process of its xdist worker: os._exit ends only that.
    assert "ended the worker process: exit status 3" in dead["checks"][0]["message"]
    assert "2 passed, 2 failed" in run.stdout
    # and the progress on stderr showed it as it ended, among the four cases
    shown = [line.split()[1:3] for line in run.stderr.splitlines() if line.startswith("[")]
    assert sorted(shown) == sorted([verdict, name] for name, verdict in EXPECTED.items())


def test_pytest_gradcheck_results_keeps_the_case_whose_worker_crashed(tmp_path):
    folder = _project(tmp_path)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *PLUGIN, "-p", "no:randomly", "-p", "no:cacheprovider",
         "-n", "2", "--gradcheck-results", "out.json", "cases"],
        cwd=folder, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert _verdicts(folder / "out.json") == EXPECTED
    # In the xdist worker's own process (no --gradcheck-timeout), os._exit kills the xdist
    # worker: the case still has its error record.
    data = json.loads((folder / "out.json").read_text())
    (dead,) = [r for r in data["results"] if r["name"] == "square/dies"]
    assert "crashed" in dead["checks"][0]["message"]


def test_gradcheck_run_n_keeps_the_time_limit(tmp_path):
    folder = _project(tmp_path, HANGS)
    run = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-n", "2", "--no-report", "--timeout", "4",
         "--report-dir", "out"],
        cwd=folder, env=_env(), capture_output=True, text=True, timeout=80,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    data = json.loads((folder / "out" / "results.json").read_text())
    (record,) = data["results"][0]["checks"]
    assert record["verdict"] == "error" and "stopped after 4 s" in record["message"]


STUBBORN = case_file(
    """\
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


X = np.array([3.0, 4.0])
case("a/good", fn=square_sum, reference=square_sum_jax, args=(X.copy(),))
case("b/swallows", fn=swallows_the_limit, reference=square_sum_jax, args=(X.copy(),))
case("c/cancels", fn=cancels_the_alarm, reference=square_sum_jax, args=(X.copy(),))
case("d/good", fn=square_sum, reference=square_sum_jax, args=(X.copy(),))
"""
)

STUBBORN_EXPECTED = {"a/good": "pass", "b/swallows": "error", "c/cancels": "error",
                     "d/good": "pass"}  # fmt: skip


def _stopped_at(path: Path, seconds: int) -> None:
    data = json.loads(path.read_text())
    for r in data["results"]:
        if r["verdict"] == "error":
            message = r["checks"][0]["message"]
            assert f"stopped after {seconds} s (the per-case time limit)" in message, message


def test_gradcheck_run_n_limit_cannot_be_defeated_by_the_case(tmp_path):
    # An xdist worker's SIGALRM could be swallowed or cancelled by the case (90 s each);
    # the worker process of each xdist worker is killed at the limit instead.
    folder = _project(tmp_path, STUBBORN)
    run = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-n", "2", "--no-report", "--timeout", "4",
         "--report-dir", "out"],
        cwd=folder, env=_env(), capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert _verdicts(folder / "out" / "results.json") == STUBBORN_EXPECTED
    _stopped_at(folder / "out" / "results.json", 4)


def test_pytest_gradcheck_timeout_checks_cases_in_a_worker_process(tmp_path):
    # Serial pytest: the same worker process. os._exit in a case ends the worker, not pytest
    # (in the pytest process it would end pytest itself, with no results file).
    folder = _project(tmp_path, CASES)
    (folder / "cases" / "stubborn.py").write_text(STUBBORN)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", *PLUGIN, "-p", "no:randomly", "-p", "no:cacheprovider",
         "--gradcheck-timeout", "4", "--gradcheck-results", "out.json", "cases"],
        cwd=folder, env=_env(), capture_output=True, text=True, timeout=100,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr
    assert _verdicts(folder / "out.json") == {**EXPECTED, **STUBBORN_EXPECTED}
    data = json.loads((folder / "out.json").read_text())
    (dies,) = [r for r in data["results"] if r["name"] == "square/dies"]
    assert "ended the worker process: exit status 3" in dies["checks"][0]["message"]
    assert "4 failed, 4 passed" in run.stdout  # every case reported; pytest itself survived


def test_pytest_gradcheck_timeout_rejects_a_limit_that_is_not_one(tmp_path):
    folder = _project(tmp_path)
    for bad in ("inf", "nan", "-1", "soon"):
        run = subprocess.run(
            [sys.executable, "-m", "pytest", *PLUGIN, "-p", "no:cacheprovider",
             "--gradcheck-timeout", bad, "cases"],
            cwd=folder, env=_env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode == 4, run.stdout + run.stderr  # pytest's usage error
        assert "--gradcheck-timeout: expected a" in run.stderr and repr(bad) in run.stderr
        assert "Traceback" not in run.stderr
