"""`pip install .` outside the checkout, then `gradcheck init && gradcheck run` in an empty folder:
the installed package runs the starter case without anything from the checkout (the shipped
cases/ are not in the package).

No network: the package is built from a copy of this checkout with the installed setuptools (no
build isolation, no index, no dependencies), into a fresh venv that sees this environment's
packages (jax, numpy, ...) through --system-site-packages and, when this environment is itself a
venv, a .pth file naming its site-packages.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = "Scripts" if os.name == "nt" else "bin"


def _clean_env() -> dict[str, str]:
    """This environment without PYTHONPATH (it may point at the checkout)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    # A copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "harness", source / "harness", ignore=shutil.ignore_patterns("__pycache__")
    )
    env_dir = tmp_path_factory.mktemp("venv") / "venv"
    # No pip of its own: a venv's bundled setuptools would be older than the build needs; this
    # environment's pip and setuptools are seen through the system site-packages or the .pth.
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env_dir)],
        check=True,
        timeout=300,
    )
    python = env_dir / SCRIPTS / ("python.exe" if os.name == "nt" else "python")
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                   env_dir).stdout.strip()  # fmt: skip
    if sys.prefix != sys.base_prefix:  # this environment is a venv: its packages, by path
        ours = {
            sysconfig.get_path("purelib"),
            sysconfig.get_path("platlib"),
            *site.getsitepackages(),
        }
        Path(purelib, "_this_environment.pth").write_text("\n".join(sorted(ours)) + "\n")
    install = _run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--quiet", str(source)],
        source,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    return env_dir


def test_installed_package_is_the_one_imported(venv, tmp_path):
    python = venv / SCRIPTS / ("python.exe" if os.name == "nt" else "python")
    proc = _run([str(python), "-c", "import harness; print(harness.__file__)"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    imported = Path(proc.stdout.strip()).resolve()
    assert venv.resolve() in imported.parents, imported
    assert ROOT not in imported.parents


def test_init_then_run_passes_in_an_empty_folder(venv, tmp_path):
    gradcheck = str(venv / SCRIPTS / "gradcheck")
    first = _run([gradcheck, "run", "--no-report"], tmp_path)
    assert first.returncode == 2 and "gradcheck init" in first.stderr, first.stderr
    init = _run([gradcheck, "init"], tmp_path)
    assert init.returncode == 0, init.stderr
    assert "next: gradcheck run" in init.stdout
    run = _run([gradcheck, "run"], tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 0 failed" in run.stdout
    assert (tmp_path / "reports" / "latest" / "results.json").is_file()
    # The report is opt-in: a plain run writes none and says how to get one.
    assert not (tmp_path / "reports" / "latest" / "report.html").exists()
    assert "gradcheck run --report" in run.stdout
    reported = _run([gradcheck, "run", "--report"], tmp_path)
    assert reported.returncode == 0, reported.stdout + reported.stderr
    assert (tmp_path / "reports" / "latest" / "report.html").is_file()
