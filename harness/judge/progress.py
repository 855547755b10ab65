"""Where a running check is, for whoever watches it (the case worker tells the command line).

check() announces each step (`step`) and the numerical check counts fn's evaluations
(`evaluated`); both cost one test of a module global when nobody watches, and nothing here
changes what a check computes or decides. The watcher is told at each new step and at most every
`INTERVAL` seconds in between.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

# Seconds between two reports of the same step's evaluation count.
INTERVAL = 0.25


class _Watch:
    def __init__(self, callback: Callable[[dict[str, Any]], None]) -> None:
        self.callback = callback
        self.info: dict[str, Any] = {}
        self.last = 0.0

    def report(self) -> None:
        self.last = time.monotonic()
        self.callback(dict(self.info))


_watch: _Watch | None = None


@contextlib.contextmanager
def watching(callback: Callable[[dict[str, Any]], None]) -> Iterator[None]:
    """Call ``callback(info)`` with the check's progress while the block runs.

    Args:
      callback: receives ``{"check", "arg", "size", "done", "total"}``: the check in progress
        ("value": fn, the reference and jax.grad at the point; "numerical"; "analytic"), the
        argument (or None), its entries, fn's evaluations so far in this step and those the
        step needs (0: not counted).
    """
    global _watch
    previous, _watch = _watch, _Watch(callback)
    try:
        yield
    finally:
        _watch = previous


def step(check: str, arg: str | None = None, size: int = 0, total: int = 0) -> None:
    """A new step of the check begins.

    Args:
      check: which check.
      arg: the argument it judges, if one.
      size: that argument's entries.
      total: fn evaluations the step needs (0: unknown or few).
    """
    if _watch is None:
        return
    _watch.info = {"check": check, "arg": arg, "size": size, "done": 0, "total": total}
    _watch.report()


def evaluated(count: int = 1) -> None:
    """fn was evaluated ``count`` more times in the current step."""
    if _watch is None or not _watch.info:
        return
    _watch.info["done"] += count
    if time.monotonic() - _watch.last >= INTERVAL:
        _watch.report()
