"""Windows, by simulation: with no ``fcntl`` module, no SIGALRM (nor setitimer/alarm) and no
``os.fchmod`` -- as on Windows before Python 3.13 -- the package, the CLI and the pytest plugin
import, and a case file is collected and checked through CaseRunner's worker, and `gradcheck init`
plus `gradcheck run` publish their outputs under the report folder's lock.

The simulation is a sitecustomize module on PYTHONPATH, so the worker process the parent starts
gets it too (the case file itself asserts it)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SIMULATE_WINDOWS = """
import os, signal, sys
sys.modules["fcntl"] = None  # import fcntl: ImportError
for name in ("SIGALRM", "setitimer", "getitimer", "ITIMER_REAL", "alarm"):
    if hasattr(signal, name):
        delattr(signal, name)
if hasattr(os, "fchmod"):
    del os.fchmod
"""

CASE_FILE = """
import signal
import jax.numpy as jnp
import numpy as np
from harness import case

try:
    import fcntl  # noqa: F401
except ImportError:
    pass
else:
    raise AssertionError("the worker is not simulating Windows: fcntl imported")
assert not hasattr(signal, "SIGALRM"), "the worker is not simulating Windows: SIGALRM exists"


def cube_sum(x):
    return np.sum(x**3)


def cube_sum_reference(x):
    return jnp.sum(x**3)


case("cube/sum", fn=cube_sum, reference=cube_sum_reference, args=(np.array([0.5, -1.5]),),
     grad=lambda x: (3 * x**2,))
"""

DRIVER = """
import os, signal, sys
from pathlib import Path

try:
    import fcntl  # noqa: F401
except ImportError:
    pass
else:
    raise SystemExit("fcntl is importable: the simulation is off")
assert not hasattr(signal, "SIGALRM") and not hasattr(os, "fchmod")

import harness
import harness.pytest_plugin
from harness.cli.main import build_parser, main
from harness.suite.run import CaseRunner, run_limited
from harness.suite.collect import load_case_file

build_parser()
with CaseRunner(timeout=300) as runner:
    cases, errors = runner.collect(["mine/cube.py"])
    assert not errors, [e.describe() for e in errors]
    (info,) = cases
    result = runner.check(info)
    assert result.verdict == "pass", result.checks
# In this process too: the time limit needs SIGALRM, and is simply off without it.
(made,) = load_case_file("mine/cube.py")
assert run_limited(made, timeout=5).verdict == "pass"
assert main(["init"]) == 0
assert main(["run", "--no-report", "--report-dir", "out"]) == 0
assert Path("out/results.json").is_file()
print("simulated windows: ok")
"""


def test_imports_and_a_run_need_neither_fcntl_nor_sigalrm(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SIMULATE_WINDOWS)
    project = tmp_path / "project"
    (project / "mine").mkdir(parents=True)
    (project / "mine" / "cube.py").write_text(textwrap.dedent(CASE_FILE))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(ROOT)])}
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "simulated windows: ok" in proc.stdout
    assert "1 passed, 0 failed" in proc.stdout


def test_the_simulation_would_catch_fcntl_or_sigalrm_at_import(tmp_path):
    # The twins that must fail: modules that need fcntl or SIGALRM when imported.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SIMULATE_WINDOWS)
    (site / "needs_fcntl.py").write_text("import fcntl\n")
    (site / "needs_alarm.py").write_text("import signal\nALARM = signal.SIGALRM\n")
    env = {**os.environ, "PYTHONPATH": str(site)}
    for module, error in (("needs_fcntl", "ModuleNotFoundError"), ("needs_alarm", "SIGALRM")):
        proc = subprocess.run(
            [sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True
        )
        assert proc.returncode != 0 and error in proc.stderr, proc.stderr
