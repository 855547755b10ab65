"""Wall time of the commands a user types, on the shipped suite, in one run.

Each command runs as a user runs it (a fresh `python -m harness.cli` process, imports included,
OPENBLAS_NUM_THREADS taken out of the environment); the commands alternate, round after round,
so a busy machine's drift falls on all of them. The median per command, and the load average
before and after, go to benchmarks/COMMANDS.md.

    python3 benchmarks/bench_commands.py            # 3 rounds
    python3 benchmarks/bench_commands.py --rounds 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_performance import machine  # noqa: E402  (the CPU model, as every bench reads it)

from harness.files import write_atomic  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).with_name("COMMANDS.md")


def commands(out: str) -> dict[str, list[str]]:
    """The timed commands (each writes under `out`, never into the checkout's reports/)."""
    return {
        "gradcheck --version": ["--version"],
        "gradcheck run --help": ["run", "--help"],
        "gradcheck run": ["run", "-q", "--report-dir", f"{out}/run"],
        "gradcheck report": ["report", "-q", "--report-dir", f"{out}/report"],
        "gradcheck run --report": ["run", "-q", "--report", "--report-dir", f"{out}/both"],
    }


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each command (default 3)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where to write (default {OUT})")
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    before = _load()
    times: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as out:
        table = commands(out)
        for round_number in range(options.rounds):
            for label, argv in table.items():
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "harness.cli", *argv],
                    cwd=ROOT,
                    env=env,
                    check=True,
                    capture_output=True,
                )
                times.setdefault(label, []).append(time.perf_counter() - start)
            last = {label: round(t[-1], 2) for label, t in times.items()}
            print(f"round {round_number + 1}: {last}", flush=True)
    cpu = machine()["cpu"]
    rows = [[label, statistics.median(t), min(t), max(t)] for label, t in times.items()]
    headers = ["command", "median s", "min s", "max s"]
    text = f"""# The commands a user types: wall time

Written by `python3 benchmarks/bench_commands.py --rounds {options.rounds}` in one run: each
command in a fresh process on the shipped suite (imports, collection and JAX's compiles
included), the commands alternating round after round. CPU: {cpu}, {os.cpu_count()} cores.
Load average before: {before}; after: {_load()}.

{tabulate(rows, headers=headers, tablefmt="github", floatfmt=".2f")}
"""
    write_atomic(options.out, text)
    print(text)


if __name__ == "__main__":
    main()
