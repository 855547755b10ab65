"""The architecture, asserted: the import graph of harness/ has no circle, nothing imports upward
into cli/, scratch and oracle never see each other, and `--help` never imports JAX.

`python3 -m pytest tests/test_layout.py` is the command that shows it; `import_graph()` reads every
import statement, those inside functions included, so a hidden import cannot hide a circle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "harness"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the harness modules it imports (anywhere in its body)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_graph_reader_sees_a_planted_circle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
    graph = import_graph()
    # It reads imports inside functions too: context.py imports the oracle only on first use.
    assert "harness.oracle" in graph["harness.judge.context"]


def test_no_import_circle():
    assert _cycle(import_graph()) is None


def test_nothing_imports_upward_into_cli():
    graph = import_graph()
    outside = {m: deps for m, deps in graph.items() if not m.startswith("harness.cli")}
    upward = {
        m: sorted(d for d in deps if d.startswith("harness.cli")) for m, deps in outside.items()
    }
    assert {m: d for m, d in upward.items() if d} == {}
    # Within cli/, the subcommands import common and never the hub.
    assert not any("harness.cli.main" in graph[m] for m in graph if m != "harness.cli.__main__")


@pytest.mark.parametrize(
    ("side", "forbidden"),
    [
        ("harness.scratch", ("harness.oracle", "harness.judge")),
        ("harness.oracle", ("harness.scratch",)),
    ],
)
def test_scratch_and_oracle_never_see_each_other(side, forbidden):
    graph = import_graph()
    for module, deps in graph.items():
        if module == side or module.startswith(side + "."):
            assert not [d for d in deps if d.startswith(forbidden)], module


def test_the_judge_measures_with_its_own_differences():
    graph = import_graph()
    for module in ("harness.judge.entries", "harness.judge.probes", "harness.judge.kinks"):
        assert not [d for d in graph[module] if d.startswith("harness.scratch")], module


HELP_WITHOUT_JAX = """
import contextlib, io, sys
from harness.cli.main import build_parser
parser = build_parser()
for argv in ([], ["run"], ["report"], ["fuzz"], ["baseline"], ["gate"]):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        parser.parse_args([*argv, "--help"])
print(sorted(m for m in ("jax", "hypothesis", "matplotlib") if m in sys.modules))
"""


def test_help_does_not_import_jax():
    out = subprocess.run(
        [sys.executable, "-c", HELP_WITHOUT_JAX], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
