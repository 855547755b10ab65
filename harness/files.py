"""Files: atomic writes (a file is the old one or the new one, never half of each), a per-folder
lock so concurrent runs never interleave, one run's files published together, output paths checked
before any work (never over a file of another kind, never over a device), strict reading of
versioned JSON, and the one rule for whether a path lies inside a folder."""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
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
    tmp = _stage(path, data)
    try:
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
    run's complete set of files, never a mix. The lock is the folder's ``.lock`` file, taken
    with `filelock` (flock on POSIX, msvcrt on Windows; the file may be removed on release). A
    run that has to wait says so on stderr, once.

    Args:
      folder: the report folder (created if missing).

    Yields:
      The folder path.
    """
    from filelock import FileLock, Timeout  # here: importing it costs ~60 ms (asyncio)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder / ".lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"waiting for {folder}: another gradcheck run is writing there", file=sys.stderr)
        sys.stderr.flush()
        lock.acquire()
    try:
        yield folder
    finally:
        lock.release()


class OutputError(ValueError):
    """An output path gradcheck must not or cannot write; the message says why and what to do."""


@dataclass(frozen=True)
class OutputKind:
    """What gradcheck writes at a path, so that an existing file there is replaced only when it
    is gradcheck's own output of that kind (an empty file holds nothing to lose).

    Attributes:
      what: a name for messages, e.g. "gradcheck-results file".
      json: (format, version) of a versioned JSON document, or None.
      marker: bytes every such file contains within its first 4 KiB, or None.
    """

    what: str
    json: tuple[str, int] | None = None
    marker: bytes | None = None

    def problem(self, path: Path) -> str | None:
        """Why the existing file at `path` is not this kind (None when it is, or is empty)."""
        try:
            head = path.read_bytes()
        except OSError as exc:
            return f"cannot be read ({exc.strerror})"
        if not head:
            return None
        if self.json is not None:
            try:
                read_versioned_json(path, *self.json, "")
            except ReportFileError as exc:
                return str(exc).removeprefix(f"{path} ").rstrip("; ")
            return None
        if self.marker is not None and self.marker not in head[:4096]:
            return f"is not a {self.what}"
        return None


ANY_FILE = OutputKind("file")


def _file_type(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _writable_folder(folder: Path) -> None:
    """Raise OutputError unless files can be created in `folder` or, when it does not exist yet,
    in its nearest existing ancestor (which must be a folder). Creates nothing that stays."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"cannot create the folder {folder}: {probe} is a file, not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".gradcheck-probe.", suffix=".tmp", dir=probe)
    except OSError as exc:
        raise OutputError(
            f"cannot write into {probe} ({exc.strerror}); choose another path"
        ) from None
    os.close(fd)
    os.unlink(tmp)


def check_output_file(path: str | Path, kind: OutputKind = ANY_FILE) -> Path:
    """Check, before any work, that `path` can be written and holds nothing gradcheck must keep.

    Args:
      path: the output file.
      kind: what gradcheck writes there; an existing file must be that kind (or empty).

    Returns:
      The absolute path (resolved once, so a later ``os.chdir`` cannot move it).

    Raises:
      OutputError: the path names a folder, an existing file that is not a regular file (a
        device, pipe or symbolic link: never replaced), an existing file of another kind (never
        overwritten), or a place where no file can be created.
    """
    raw = str(path)
    path = Path(os.path.abspath(path))
    if raw.endswith(("/", os.sep)) or path.is_dir():
        raise OutputError(f"{raw} is a folder; give a file name")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise OutputError(f"cannot inspect {raw} ({exc.strerror})") from None
    if mode is not None:
        if not stat.S_ISREG(mode):
            raise OutputError(
                f"{raw} is {_file_type(mode)}; gradcheck only replaces regular files it wrote: "
                "choose another path"
            )
        problem = kind.problem(path)
        if problem:
            raise OutputError(
                f"{raw} {problem}: not overwriting it (gradcheck replaces only its own "
                f"{kind.what}s); move it away or choose another path"
            )
    _writable_folder(path.parent)
    return path


def check_output_folder(folder: str | Path, kinds: dict[str, OutputKind] | None = None) -> Path:
    """Check, before any work, that a report folder can be written (see `check_output_file`).

    Args:
      folder: the folder (it may not exist yet).
      kinds: file name -> kind, for the files gradcheck will write there.

    Returns:
      The absolute folder path.

    Raises:
      OutputError: the folder is a file, lies under a file, cannot be written, or holds a file
        gradcheck must not replace.
    """
    raw = str(folder)
    folder = Path(os.path.abspath(folder))
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"the report folder {raw} is a file, not a folder; choose another path")
    _writable_folder(folder)
    for name, kind in (kinds or {}).items():
        if (folder / name).exists() or (folder / name).is_symlink():
            check_output_file(folder / name, kind)
    return folder


# mkstemp's names: prefix, 8 random characters, suffix.
_ORPHAN = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def remove_orphans(folder: str | Path) -> list[Path]:
    """Delete the temporary files an interrupted write left in `folder` (hold its lock).

    `write_atomic` names them ``.NAME.XXXX.tmp``; under the folder's lock no other gradcheck is
    writing there, so any that exist belong to a process that was killed mid-write.

    Args:
      folder: a report folder.

    Returns:
      The removed paths.
    """
    removed = []
    for tmp in Path(folder).glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if _ORPHAN.match(tmp.name) and tmp.is_file() and not tmp.is_symlink():
                tmp.unlink()
                removed.append(tmp)
    return removed


def publish(
    folder: str | Path,
    files: dict[str | Path, bytes | str],
    kinds: dict[str | Path, OutputKind] | None = None,
) -> list[Path]:
    """Write one run's output files as one unit: under the folder's lock, every file is first
    written in full beside its destination, then all are renamed into place together.

    A failure while writing (a full disk, a file of the wrong kind found at a destination) leaves
    every destination as it was; the renames, the only step that changes what a reader sees, run
    back to back.

    Args:
      folder: the report folder (locked; orphaned temporary files in it are removed).
      files: destination -> content; a relative destination lies in `folder`, an absolute one
        may lie elsewhere (e.g. --junit).
      kinds: destination -> what it must be if it exists (checked again under the lock, since
        something may have appeared there during the run); default: any regular file.

    Returns:
      The written paths, in the order given.

    Raises:
      OutputError: a destination holds something gradcheck must not replace.
    """
    kinds = kinds or {}
    with locked_folder(folder) as target:
        remove_orphans(target)
        staged: list[tuple[str, Path]] = []
        try:
            for name, data in files.items():
                destination = target / name
                if destination.exists() or destination.is_symlink():
                    check_output_file(destination, kinds.get(name, ANY_FILE))
                staged.append((_stage(destination, data), destination))
            for tmp, destination in staged:
                os.replace(tmp, destination)
        finally:
            for tmp, _ in staged:
                Path(tmp).unlink(missing_ok=True)
        return [destination for _, destination in staged]


def _stage(path: Path, data: bytes | str) -> str:
    """Write `data` to a new temporary file beside `path` (fsynced); return its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes 0600; reports are for everyone to read (os.fchmod: POSIX, or Python
        # 3.13+ on Windows, where only the read-only bit exists and mkstemp leaves it unset)
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one existing file (hard and symbolic links included).

    Args:
      a: a path.
      b: another.

    Returns:
      True when both exist and are the same file.
    """
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


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
