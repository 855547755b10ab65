"""The pytest plugin and parallel runs, in fresh pytest processes on small case files: case files
collect as items named after their cases (-k, -m, --lf, --junitxml work), a failing item prints
assert_check's message, tests are not read as case files, and `-n 2` gives the same results.json
as a serial run, both through pytest and through `gradcheck run -n 2`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cli.main import main
from harness.judge.check import format_failure
from harness.suite.collect import load_case_file

ROOT = Path(__file__).resolve().parents[1]
# Load this checkout's plugin whether or not the pytest11 entry point is installed (blocking the
# entry point's name first, so the module is never registered twice).
PLUGIN = ["-p", "no:gradcheck", "-p", "harness.pytest_plugin", "-p", "no:benchmark"]

CASES = """\
import numpy as np
import jax.numpy as jnp
from harness import case


def square_sum(x):
    return float(np.sum(x**2))


def square_sum_reference(x):
    return jnp.sum(x**2)


def wrong_gradient(x):
    return 2.002 * x


case("square/a", fn=square_sum, reference=square_sum_reference,
     args=(np.array([1.0, -2.0, 3.0]),), grad=lambda x: 2 * x, tags=("small",))
case("square/b", fn=square_sum, reference=square_sum_reference,
     args=(np.array([0.5, 4.0]),), tags=("small", "other"))
case("square/wrong", fn=square_sum, reference=square_sum_reference,
     args=(np.array([0.5, 4.0]),), grad=wrong_gradient, tags=("broken",))
"""

OWN_TESTS = """\
import numpy as np
import jax.numpy as jnp


def test_right(gradcheck):
    result = gradcheck(lambda x: float(np.sum(np.sin(x))), lambda x: jnp.sum(jnp.sin(x)),
                       np.array([0.3, 1.2]), grad=lambda x: np.cos(x))
    assert result.ok


def test_wrong(gradcheck):
    gradcheck(lambda x: float(np.sum(np.sin(x))), lambda x: jnp.sum(jnp.sin(x)),
              np.array([0.3, 1.2]), grad=lambda x: -np.cos(x), name="sin/wrong-sign")
"""


def pytest_run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", *PLUGIN, "-p", "no:randomly", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project with a pytest config, one case file and one test file of its own."""
    folder = tmp_path_factory.mktemp("project")
    (folder / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')
    (folder / "cases").mkdir()
    (folder / "cases" / "squares.py").write_text(CASES)
    (folder / "tests").mkdir()
    (folder / "tests" / "test_own.py").write_text(OWN_TESTS)
    # A file under tests/ that declares a case: it must not become a case file.
    (folder / "tests" / "declares_a_case.py").write_text(CASES.replace("square/", "stray/"))
    return folder


@pytest.fixture(scope="module")
def serial_run(project) -> subprocess.CompletedProcess:
    return pytest_run(
        project, "cases/", "-v", "--junitxml", "junit.xml", "--gradcheck-results", "serial.json"
    )


def test_cases_collect_as_items_named_after_them(serial_run, project):
    out = serial_run.stdout
    assert serial_run.returncode == 1, out
    assert "cases/squares.py::square/a PASSED" in out
    assert "cases/squares.py::square/b PASSED" in out
    assert "cases/squares.py::square/wrong FAILED" in out
    assert "stray/" not in out
    suite = ET.parse(project / "junit.xml").getroot().find("testsuite")
    names = [c.get("name") for c in suite.findall("testcase")]
    assert names == ["square/a", "square/b", "square/wrong"]


def test_failing_item_prints_assert_checks_message(serial_run, project):
    wrong = next(c for c in load_case_file(project / "cases" / "squares.py") if "wrong" in c.name)
    expected = format_failure(wrong.run())
    assert expected.startswith("gradient check 'square/wrong' fail:")
    assert expected in serial_run.stdout


def test_selection_markers_and_last_failed(serial_run, project):
    by_tag = pytest_run(project, "cases/", "-m", "other", "-q")
    assert "1 passed, 2 deselected" in by_tag.stdout, by_tag.stdout
    last_failed = pytest_run(project, "cases/", "--lf", "-v")
    assert "square/wrong FAILED" in last_failed.stdout
    assert "square/a PASSED" not in last_failed.stdout


def test_plain_pytest_runs_tests_not_cases_and_the_fixture_works(project):
    run = pytest_run(project, "-v")
    out = run.stdout
    assert "tests/test_own.py::test_right PASSED" in out
    assert "tests/test_own.py::test_wrong FAILED" in out
    assert "gradient check 'sin/wrong-sign' fail:" in out
    assert "square/" not in out and "stray/" not in out
    assert "1 failed, 1 passed" in out


def test_parallel_pytest_matches_serial(serial_run, project):
    parallel = pytest_run(project, "cases/", "-n", "2", "--gradcheck-results", "parallel.json")
    assert parallel.returncode == 1, parallel.stdout
    serial = json.loads((project / "serial.json").read_text())
    merged = json.loads((project / "parallel.json").read_text())
    assert [r["name"] for r in serial["results"]] == ["square/a", "square/b", "square/wrong"]
    assert merged["results"] == serial["results"]
    assert merged["summary"] == serial["summary"]


def test_gradcheck_run_parallel_matches_serial(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "squares.py").write_text(CASES)
    (tmp_path / "cases" / "broken.py").write_text("import numpy\n\nraise RuntimeError('oops')\n")
    assert main(["run", "--report-dir", "serial", "-q"]) == 1
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    parallel = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "-n", "2", "--report-dir", "parallel"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert parallel.returncode == 1, parallel.stdout + parallel.stderr
    assert "broken.py:3" in parallel.stderr and "square/wrong" in parallel.stdout
    serial = json.loads((tmp_path / "serial" / "results.json").read_text())
    merged = json.loads((tmp_path / "parallel" / "results.json").read_text())
    for block in ("results", "summary", "collection_errors"):
        assert merged[block] == serial[block], block
    assert serial["collection_errors"][0]["line"] == 3


def test_parallel_without_xdist_is_a_usage_error_naming_the_extra(monkeypatch):
    from harness.cli.common import UsageError
    from harness.cli.parallel import run_parallel

    monkeypatch.setitem(sys.modules, "xdist", None)  # import xdist now raises ImportError
    with pytest.raises(UsageError, match=r'pip install -e "\.\[test\]"'):
        run_parallel(["cases"], "2")
