"""Warnings raised while a case runs (``RuntimeWarning: overflow`` from NumPy code, a library's
``UserWarning``), collected for that case instead of printed to stderr.

The warning filters are left as they are: what a case file or ``-W`` ignores stays ignored and
what they turn into errors still raises. Each distinct warning (category, message, place) is kept
once (under the default filters Python itself shows a warning once per place).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from typing import Any

# Distinct warnings kept per case; the rest are counted in one last line.
MAX_WARNINGS = 20


@contextlib.contextmanager
def captured_warnings() -> Iterator[list[str]]:
    """Collect the warnings raised in the block.

    Returns (as the context value):
      A list, filled when the block ends, of lines like ``"RuntimeWarning: overflow
      encountered in exp (cases/f.py:12)"``, in the order first raised.
    """
    seen: dict[tuple[str, str, str, int], None] = {}

    def keep(message: Any, category: type, filename: str, lineno: int, *_: Any) -> None:
        first = str(message).strip().splitlines()
        seen[(category.__name__, first[0] if first else "", filename, lineno)] = None

    lines: list[str] = []
    with warnings.catch_warnings():
        # catch_warnings also forgets which warnings were shown already, so each case sees its
        # own first occurrence of a warning an earlier case raised at the same place.
        warnings.showwarning = keep
        try:
            yield lines
        finally:
            for name, text, filename, lineno in list(seen)[:MAX_WARNINGS]:
                what = f"{name}: {text}" if text else name
                lines.append(f"{what} ({_short(filename)}:{lineno})")
            if len(seen) > MAX_WARNINGS:
                lines.append(f"... and {len(seen) - MAX_WARNINGS} other warning(s)")


def _short(filename: str) -> str:
    """The file relative to the working directory when it lies below it."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:  # another drive (Windows)
        return filename
    return filename if relative.startswith(os.pardir) else relative
