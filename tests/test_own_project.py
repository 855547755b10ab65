"""A user's own project -- ``mymodel.py`` beside ``cases/test_cases.py`` -- checked the way a new
user would: ``gradcheck run cases/`` and ``python3 -m pytest cases/`` from its root and from its
parent. Each runs in a fresh process without the working directory on sys.path (``python3 -P``,
as the ``gradcheck`` script runs), so only gradcheck's own import rule can find mymodel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ["-p", "no:gradcheck", "-p", "harness.pytest_plugin", "-p", "no:benchmark"]

MYMODEL = """\
import numpy as np


def square_sum(x):
    return float(np.sum(x**2))
"""

TEST_CASES = """\
import jax.numpy as jnp
import numpy as np

import mymodel
from harness import case

case("mine/square", fn=mymodel.square_sum, reference=lambda x: jnp.sum(x**2),
     args=(np.array([1.0, -2.0]),), grad=lambda x: 2 * x)


def test_an_ordinary_test_beside_the_cases():
    assert mymodel.square_sum(np.ones(3)) == 3.0
"""


def run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-P", *args],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    parent = tmp_path_factory.mktemp("parent")
    folder = parent / "myproj"
    (folder / "cases").mkdir(parents=True)
    (folder / "mymodel.py").write_text(MYMODEL)
    (folder / "cases" / "test_cases.py").write_text(TEST_CASES)
    return folder


@pytest.mark.parametrize("where", ["root", "parent"])
def test_gradcheck_run_imports_the_projects_module(project, where):
    cwd, path = (project, "cases/") if where == "root" else (project.parent, "myproj/cases/")
    out = run(cwd, "-m", "harness.cli", "run", path, "--no-report", "--report-dir", "out")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "mine/square" in out.stdout and "1 passed, 0 failed" in out.stdout


@pytest.mark.parametrize("where", ["root", "parent"])
def test_pytest_collects_the_cases_and_the_tests_of_a_test_named_case_file(project, where):
    cwd, path = (project, "cases/") if where == "root" else (project.parent, "myproj/cases/")
    out = run(
        cwd, "-m", "pytest", *PLUGIN, "-p", "no:randomly", "-p", "no:cacheprovider", path, "-v"
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "test_cases.py::mine/square PASSED" in out.stdout
    assert "test_cases.py::test_an_ordinary_test_beside_the_cases PASSED" in out.stdout
    assert "2 passed" in out.stdout


def test_pytest_says_why_it_collected_nothing(project):
    elsewhere = project / "checks"
    elsewhere.mkdir()
    (elsewhere / "more.py").write_text(TEST_CASES.replace("mine/", "more/"))
    out = run(
        project, "-m", "pytest", *PLUGIN, "-p", "no:randomly", "-p", "no:cacheprovider", "checks/"
    )
    assert out.returncode == 5, out.stdout  # pytest's "no tests collected"
    assert (
        "gradcheck: no case files collected from checks: case files are .py files under a case"
        in (out.stdout)
    )
    assert "--gradcheck-cases PATH" in out.stdout
    named = run(
        project,
        "-m",
        "pytest",
        *PLUGIN,
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "checks/",
        "--gradcheck-cases",
        "checks",
    )
    assert named.returncode == 0, named.stdout
    assert "1 passed" in named.stdout  # more.py is no test module: its case, not its test
