"""Case-file collection: find case files, import each under its own module name, keep the cases
it declared in order, select by keyword; a file that does not import becomes a `CollectionError`
naming its file and line, so the other files still run.

A case file imports the user's own modules the way pytest's rootdir/conftest.py layout does:
while it is imported, `import_roots` are on ``sys.path`` -- the first folder above it without an
``__init__.py`` (pytest's rule for a test file), every folder up to the project root holding a
``conftest.py``, and the project root: the nearest folder above holding a ``pyproject.toml``,
``setup.cfg`` or ``setup.py``, or else the folder that holds the case folder. So
``myproj/cases/test_cases.py`` can ``import mymodel`` from ``myproj/`` whether the run starts in
``myproj`` or above it.

A case belongs to the file whose top-level code declares it: importing a helper from a sibling
case file (or an import cycle between case files) does not declare that file's cases again.
"""

from __future__ import annotations

import contextlib
import importlib.util
import signal
import sys
import threading
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path

from harness.results import CollectionError
from harness.suite.case import Case, recording


def split_source(source: str) -> tuple[str, int | None]:
    """A case's ``file:line`` split into the file and the line (None when there is no line).

    Args:
      source: ``file:line``, or a bare path.

    Returns:
      (file, line); a source without a ``:NUMBER`` suffix is all file.
    """
    path, sep, line = source.rpartition(":")
    if sep and line.isdigit():
        return path, int(line)
    return source, None


def is_case_file(path: Path) -> bool:
    """Whether a file found in a case folder is a case file: ``*.py``, not ``_``/``.``-prefixed.

    The one rule `find_case_files` and the pytest plugin share (the plugin adds pytest's own:
    no conftest.py, no test modules).

    Args:
      path: a file inside a case folder.

    Returns:
      True for a case file.
    """
    return path.suffix == ".py" and not path.name.startswith(("_", "."))


def find_case_files(paths: Sequence[str | Path]) -> list[Path]:
    """Case files under the given paths: every `is_case_file` in a folder, recursively, sorted;
    a file named explicitly is taken as it is.

    Args:
      paths: files or directories.

    Returns:
      The files, in a stable order.

    Raises:
      FileNotFoundError: a path does not exist.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"no such file or directory: {raw}")
        if path.is_dir():
            files.extend(p for p in sorted(path.rglob("*.py")) if is_case_file(p))
        else:
            files.append(path)
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    return unique


# Files that mark a project's root folder (pytest's rootdir markers, less the ini files).
PROJECT_MARKERS = ("pyproject.toml", "setup.cfg", "setup.py")


class CaseFileRaised(Exception):
    """A case file raised something that is not an Exception (SystemExit, or KeyboardInterrupt
    raised by its own code rather than by Ctrl-C) while being imported."""

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}".rstrip(": "))
        self.original = original


def import_roots(path: str | Path) -> list[Path]:
    """The folders a case file's imports are resolved from (see the module docstring).

    Args:
      path: the case file.

    Returns:
      The folders, nearest first, without repeats.
    """
    folder = Path(path).resolve().parent
    base = folder
    while (base / "__init__.py").exists() and base.parent != base:
        base = base.parent
    root = next((f for f in [folder, *folder.parents] if _marks_a_project(f)), None)
    top = root or base.parent
    conftests = [f for f in [folder, *folder.parents] if (f / "conftest.py").exists()]
    conftests = [f for f in conftests if f == top or top in f.parents]
    return list(dict.fromkeys([base, *conftests, top]))


def _marks_a_project(folder: Path) -> bool:
    return any((folder / marker).is_file() for marker in PROJECT_MARKERS)


@contextlib.contextmanager
def _on_sys_path(folders: Sequence[Path]) -> Iterator[None]:
    """The folders at the front of sys.path for the block; the ones added are taken off again
    (what the block itself added to sys.path is left alone)."""
    added = [str(f) for f in folders if str(f) not in sys.path]
    sys.path[:0] = added
    try:
        yield
    finally:
        for entry in added:
            if entry in sys.path:
                sys.path.remove(entry)


class _CtrlC:
    """Whether SIGINT arrived during the block, to tell Ctrl-C from a case file that raises
    KeyboardInterrupt itself (only the main thread receives signals)."""

    def __init__(self) -> None:
        self.pressed = False

    @contextlib.contextmanager
    def watching(self) -> Iterator[_CtrlC]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.getsignal(signal.SIGINT)
        if not callable(previous):
            yield self
            return

        def noted(signum: int, frame: object) -> object:
            self.pressed = True
            return previous(signum, frame)

        signal.signal(signal.SIGINT, noted)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


def import_case_file(path: str | Path) -> tuple[object, list[Case]]:
    """Import one case file with its project on sys.path; the module and the cases it declares.

    Args:
      path: the file.

    Returns:
      (module, its cases in declaration order -- only those its own top-level code declared).

    Raises:
      KeyboardInterrupt: Ctrl-C during the import.
      CaseFileRaised: the file raised SystemExit or a KeyboardInterrupt of its own.
      Exception: whatever else importing the file raised (see `collect` for the friendly form).
    """
    path = Path(path).resolve()
    module_name = "gradcheck_cases." + "_".join(path.with_suffix("").parts[-3:]).replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path} as a Python file")
    module = importlib.util.module_from_spec(spec)
    with recording() as declared, _on_sys_path(import_roots(path)), _CtrlC().watching() as ctrl_c:
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException as exc:
            if isinstance(exc, Exception) or (
                isinstance(exc, KeyboardInterrupt) and ctrl_c.pressed
            ):
                raise
            raise CaseFileRaised(exc) from exc
        return module, [c for c in declared if c.module == module_name]


def load_case_file(path: str | Path) -> list[Case]:
    """Import one case file and return the cases it declares (see `import_case_file`).

    Args:
      path: the file.

    Returns:
      Its cases, in declaration order.
    """
    return import_case_file(path)[1]


def collect(paths: Sequence[str | Path]) -> tuple[list[Case], list[CollectionError]]:
    """Collect every case under the paths; a file that fails to import becomes an error.

    Duplicate case names are errors too (the second declaration is reported and dropped), since
    results, reports and the gate key on the name.

    Args:
      paths: files or directories.

    Returns:
      (cases, errors).
    """
    cases: list[Case] = []
    errors: list[CollectionError] = []
    names = DeclaredNames()
    for path in find_case_files(paths):
        try:
            found = load_case_file(path)
        except Exception as exc:  # a case file's own code: report it, keep going
            errors.append(collection_error(path, exc))
            continue
        for c in found:
            first = names.duplicate_of(c)
            if first is not None:
                errors.append(duplicate_error(str(path), c, first))
                continue
            cases.append(c)
    return cases, errors


class DeclaredNames:
    """The case names seen so far, and where each was first declared: results, reports and the
    gate key on the name, so a second declaration of a name is an error."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}

    def duplicate_of(self, case: Case) -> str | None:
        """Record a case; the source of an earlier declaration of its name, or None.

        Args:
          case: a collected case.

        Returns:
          ``file:line`` of the first declaration when this one repeats its name (the same
          declaration seen twice is no duplicate).
        """
        first = self._first.setdefault(case.name, case.source)
        return None if first == case.source else first


def duplicate_error(path: str, case: Case, first: str) -> CollectionError:
    """The collection error for a case whose name was declared before, at `first`.

    Args:
      path: the case file, as it is shown.
      case: the repeated declaration.
      first: ``file:line`` of the first one.

    Returns:
      The error.
    """
    line = split_source(case.source)[1]
    return CollectionError(path, line, f"duplicate case name {case.name!r} (first at {first})")


def collection_error(path: str | Path, exc: BaseException) -> CollectionError:
    """The CollectionError for a case file whose import raised `exc`.

    Args:
      path: the case file.
      exc: what importing it raised.

    Returns:
      The error, with the line in the case file where it happened, when known.
    """
    if isinstance(exc, SyntaxError):
        return CollectionError(str(path), exc.lineno, f"SyntaxError: {exc.msg}")
    return _import_error(Path(path), exc)


def _import_error(path: Path, exc: BaseException) -> CollectionError:
    if isinstance(exc, CaseFileRaised):
        exc = exc.original
    line = None
    resolved = str(path.resolve())
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == resolved:
            line = frame.lineno
    text = str(exc).splitlines()[0] if str(exc) else ""
    return CollectionError(str(path), line, f"{type(exc).__name__}: {text}".rstrip(": "))


def select(cases: Sequence[Case], keywords: Sequence[str] | None) -> list[Case]:
    """Cases whose name or tags contain any of the keywords (case-insensitive); all if none.

    Args:
      cases: collected cases.
      keywords: substrings.

    Returns:
      The selected cases, in order.
    """
    if not keywords:
        return list(cases)
    lowered = [k.lower() for k in keywords]
    return [
        c
        for c in cases
        if any(k in c.name.lower() or any(k in t.lower() for t in c.tags) for k in lowered)
    ]
