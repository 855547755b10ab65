"""Files: atomic writes (a file is the old one or the new one, never half of each), a per-folder
lock so concurrent runs never interleave, strict reading of versioned JSON, and the one rule for
whether a path lies inside a folder."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
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
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; reports are for everyone to read
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def dumps_json(payload: Any) -> str:
    """Stable JSON text: sorted keys, two-space indent, trailing newline, NaN forbidden."""
    return json.dumps(payload, indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json_atomic(path: str | Path, payload: Any) -> Path:
    """`write_atomic` of `dumps_json(payload)`."""
    return write_atomic(path, dumps_json(payload))


class ReportFileError(ValueError):
    """A results/baseline file that is missing, truncated, corrupt or of another version."""


def read_versioned_json(path: str | Path, fmt: str, version: int, remedy: str) -> dict[str, Any]:
    """Load a JSON file written by gradcheck, refusing anything that is not exactly that.

    The file is only read, never modified, whatever is wrong with it.

    Args:
      path: the file.
      fmt: the expected ``format`` field.
      version: the expected ``version`` field.
      remedy: what the user should run to make a good one (for the message).

    Returns:
      The parsed document.

    Raises:
      ReportFileError: with a message naming the file, the problem and the remedy.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportFileError(f"{path} does not exist; {remedy}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportFileError(f"{path} cannot be read ({exc}); {remedy}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportFileError(
            f"{path} is not valid JSON (truncated or corrupt: {exc.msg} at line {exc.lineno}); "
            f"{remedy}"
        ) from None
    if not isinstance(data, dict) or data.get("format") != fmt:
        raise ReportFileError(f"{path} is not a {fmt} file; {remedy}")
    if data.get("version") != version:
        raise ReportFileError(
            f"{path} has {fmt} version {data.get('version')!r}, this gradcheck reads version "
            f"{version}; {remedy}"
        )
    return data


@contextlib.contextmanager
def locked_folder(folder: str | Path) -> Iterator[Path]:
    """Hold an exclusive lock on a report folder while writing its files.

    Two runs writing into the same folder at once take turns, so the folder always holds one
    run's complete set of files, never a mix.

    Args:
      folder: the report folder (created if missing).

    Yields:
      The folder path.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def publish(folder: str | Path, files: dict[str, bytes | str]) -> list[Path]:
    """Write several report files into a folder as one unit (lock, then atomic writes).

    Args:
      folder: the report folder.
      files: file name -> content.

    Returns:
      The written paths.
    """
    with locked_folder(folder) as target:
        return [write_atomic(target / name, data) for name, data in files.items()]


def relative_to(path: str | Path, root: str | Path) -> Path | None:
    """`path` relative to `root` when it is `root` or lies inside it (both resolved), else None.

    Args:
      path: a file or folder.
      root: the folder.

    Returns:
      The relative path (``.`` for the folder itself), or None.
    """
    try:
        return Path(path).resolve().relative_to(Path(root).resolve())
    except ValueError:
        return None


def relative_path(path: str | Path, root: str | Path | None = None) -> str:
    """`path` relative to `root` (default: the working directory) if it lies inside, else as is.

    Args:
      path: a file or folder.
      root: the directory to make it relative to.

    Returns:
      The relative path (with ``/``), or ``str(path)`` when it is outside `root`.
    """
    inside = relative_to(path, root or Path.cwd())
    return str(path) if inside is None else inside.as_posix()
