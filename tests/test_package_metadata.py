"""The package's metadata: the license the metadata names is the file that ships, and the type
hints ship with their PEP 561 marker. The wheel is built from a copy of this checkout (no
network: the installed setuptools, no build isolation) and its contents are read."""

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_license_metadata_names_the_shipped_mit_file(project):
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "the gradcheck developers" in text
    # PEP 639: a license expression and a license classifier may not both be given
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    assert "Typing :: Typed" in project["classifiers"]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources it builds.
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "harness", source / "harness", ignore=shutil.ignore_patterns("__pycache__")
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation"]
        + ["--quiet", "-w", str(out)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("gradcheck-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_ships_the_license_and_the_typing_marker(wheel):
    names = wheel.namelist()
    assert "harness/py.typed" in names
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert wheel.read(license_file) == (ROOT / "LICENSE").read_bytes()
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    text = wheel.read(metadata).decode()
    assert "License-Expression: MIT" in text and "Classifier: Typing :: Typed" in text


# Modules that only the pytest side imports: pytest loads the plugin itself, and `run -n` says
# to install pytest-xdist when it is missing (the test extra has both).
OPTIONAL_IMPORTS = {"pytest", "xdist", "_pytest"}


def test_every_third_party_import_is_a_declared_dependency(project):
    import ast
    import re
    from importlib.metadata import packages_distributions

    imported: set[str] = set()
    for path in (ROOT / "harness").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"harness", "__future__"}
    declared = {re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0].lower() for d in project["dependencies"]}
    dists = packages_distributions()
    missing = {
        module
        for module in third_party - OPTIONAL_IMPORTS
        if not {d.lower() for d in dists.get(module, [module])} & declared
    }
    assert not missing, f"imported by harness but not in [project] dependencies: {missing}"
    assert "fcntl" not in imported  # POSIX only: the report folder's lock is filelock's
    assert "filelock" in third_party


def test_the_wheel_requires_the_dependencies(wheel, project):
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = [
        line.removeprefix("Requires-Dist: ")
        for line in wheel.read(metadata).decode().splitlines()
        if line.startswith("Requires-Dist: ") and "extra ==" not in line
    ]
    assert sorted(r.replace(" ", "") for r in requires) == sorted(project["dependencies"])
