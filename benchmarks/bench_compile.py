"""XLA compile time of the shipped cases' references with the oracle's compiler options against
XLA's defaults, in one run.

Each setting checks every shipped case once in this process, cold (JAX's caches and the oracle's
cache emptied before it), and sums the XLA compile times JAX logs; the settings alternate, each
measured twice, so a busy machine's drift falls on both. Writes benchmarks/COMPILE.md.

    python3 benchmarks/bench_compile.py
"""

import logging
import re
import time
from pathlib import Path

import jax

from harness.oracle import exact
from harness.suite.collect import collect

OUT = Path(__file__).with_name("COMPILE.md")
SETTINGS = {
    "XLA defaults": {},
    "level 0 only (before)": {"xla_backend_optimization_level": 0},
    "oracle options (now)": dict(exact._COMPILER_OPTIONS),
}


class _CompileLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.seconds, self.count = 0.0, 0

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"Finished XLA compilation of .* in ([0-9.e-]+) sec", record.getMessage())
        if found:
            self.seconds += float(found.group(1))
            self.count += 1


def _measure(cases: list, options: dict) -> tuple[float, float, int]:
    exact._COMPILER_OPTIONS.clear()
    exact._COMPILER_OPTIONS.update(options)
    exact.clear_cache()
    jax.clear_caches()
    log = _CompileLog()
    logging.getLogger("jax").addHandler(log)
    start = time.perf_counter()
    for case in cases:
        if not case.run().ok:
            raise SystemExit(f"{case.name} failed under {options}")
    wall = time.perf_counter() - start
    logging.getLogger("jax").removeHandler(log)
    return wall, log.seconds, log.count


def main() -> None:
    """Measure and write COMPILE.md."""
    jax.config.update("jax_log_compiles", True)
    logging.getLogger("jax").setLevel(logging.WARNING)
    cases, errors = collect(["cases"])
    assert not errors, errors
    rows: dict[str, list] = {name: [] for name in SETTINGS}
    _measure(cases[:1], {})  # JAX's own first-use cost, outside every setting
    for _ in range(2):
        for name, options in SETTINGS.items():
            rows[name].append(_measure(cases, options))
    lines = [
        "# XLA compile time of the shipped suite's references",
        "",
        f"`python3 benchmarks/bench_compile.py`: {len(cases)} shipped cases checked cold in one "
        "process per setting, two alternating rounds (the smaller of each shown).",
        "",
        "| setting | options | cases wall s | XLA compile s | compiles |",
        "|---|---|---|---|---|",
    ]
    for name, options in SETTINGS.items():
        wall, compile_s, count = min(rows[name])
        shown = ", ".join(f"`{k}={v}`" for k, v in options.items()) or "—"
        lines.append(f"| {name} | {shown} | {wall:.2f} | {compile_s:.2f} | {count} |")
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
