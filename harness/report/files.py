"""Atomic file writes: a report is either the old file or the new one, never half of each."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write a file atomically: a temporary file in the same folder, fsync, then rename.

    Args:
      path: destination.
      data: bytes or text (UTF-8).

    Returns:
      The destination path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def dumps_json(payload: Any) -> str:
    """Stable JSON text: sorted keys, two-space indent, trailing newline, NaN forbidden."""
    return json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json_atomic(path: str | Path, payload: Any) -> Path:
    """`write_atomic` of `dumps_json(payload)`."""
    return write_atomic(path, dumps_json(payload))
