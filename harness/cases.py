"""The Case model and case-file collection.

A case file is a Python file that calls ``case(...)`` at import time. Collection imports each file
under its own module name, keeps the cases it declared in order, and turns a file that does not
import into a `CollectionError` naming its file and line, so the other files still run.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.check import Tolerance, check
from harness.types import CheckResult

_collecting: list[Case] | None = None


@dataclass(frozen=True)
class Case:
    """One gradient check, declared in a case file.

    Attributes mirror `check`'s arguments; ``source`` is ``file:line`` of the declaration.
    """

    name: str
    fn: Callable[..., Any]
    reference: Callable[..., Any]
    args: tuple[Any, ...]
    wrt: tuple[int, ...] | None = None
    grad: Callable[..., Any] | None = None
    tol: Tolerance = None
    tags: tuple[str, ...] = ()
    checks: tuple[str, ...] | None = None
    scheme: str = "central"
    h: float | None = None
    batched: bool = False
    source: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def run(self, **overrides: Any) -> CheckResult:
        """Check this case.

        Args:
          **overrides: keyword arguments of `check` that replace the case's own (e.g.
            ``mode="fast"``).

        Returns:
          The CheckResult, carrying the case's source.
        """
        kwargs: dict[str, Any] = {
            "wrt": self.wrt,
            "grad": self.grad,
            "scheme": self.scheme,
            "h": self.h,
            "tol": self.tol,
            "checks": self.checks,
            "name": self.name,
        }
        if self.batched:
            kwargs["batched"] = True
        kwargs.update(overrides)
        result = check(self.fn, self.reference, *self.args, **kwargs)
        return CheckResult(result.name, result.checks, result.seconds, self.source)


def case(
    name: str,
    *,
    fn: Callable[..., Any],
    reference: Callable[..., Any],
    args: Sequence[Any] = (),
    wrt: Sequence[int] | int | None = None,
    grad: Callable[..., Any] | None = None,
    tol: Tolerance = None,
    tags: Iterable[str] = (),
    checks: Sequence[str] | None = None,
    scheme: str = "central",
    h: float | None = None,
    batched: bool = False,
) -> Case:
    """Declare a case (in a case file) or build one (anywhere else).

    Args:
      name: unique name, e.g. "loss/cee/seed-y-class-2".
      fn: the NumPy function under test; returns a scalar.
      reference: its independent JAX twin.
      args: concrete arguments for both.
      wrt: positions of the arguments to differentiate (default: every float array).
      grad: optional hand-written gradient returning one array per wrt argument.
      tol: absolute tolerance override, for every check or per check kind.
      tags: free-form labels, usable with pytest -m / gradcheck run -k.
      checks: subset of "value", "numerical", "analytic" to run.
      scheme: finite-difference scheme.
      h: unscaled step (default from the policy).
      batched: fn accepts each differentiated argument with a leading axis of copies and returns
        one value per copy, so the full numerical check evaluates blocks of perturbations at once.

    Returns:
      The Case; inside a case file it is also registered for collection.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("case() needs a non-empty name")
    if isinstance(wrt, int):
        wrt = (wrt,)
    frame = sys._getframe(1)
    made = Case(
        name=name,
        fn=fn,
        reference=reference,
        args=tuple(args),
        wrt=None if wrt is None else tuple(wrt),
        grad=grad,
        tol=tol,
        tags=tuple(tags),
        checks=None if checks is None else tuple(checks),
        scheme=scheme,
        h=h,
        batched=bool(batched),
        source=f"{frame.f_code.co_filename}:{frame.f_lineno}",
    )
    if _collecting is not None:
        _collecting.append(made)
    return made


@dataclass(frozen=True)
class CollectionError:
    """A case file that could not be collected, with where and why."""

    path: str
    line: int | None
    message: str

    def describe(self) -> str:
        """``path:line: message``."""
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


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


def relative_path(path: str | Path, root: str | Path | None = None) -> str:
    """`path` relative to `root` (default: the working directory) if it lies inside, else as is.

    Args:
      path: a file or folder.
      root: the directory to make it relative to.

    Returns:
      The relative path (with ``/``), or ``str(path)`` when it is outside `root`.
    """
    try:
        return Path(path).resolve().relative_to(Path(root or Path.cwd()).resolve()).as_posix()
    except ValueError:
        return str(path)


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


def load_case_file(path: str | Path) -> list[Case]:
    """Import one case file and return the cases it declares.

    Args:
      path: the file.

    Returns:
      Its cases, in declaration order.

    Raises:
      Exception: whatever importing the file raised (see `collect` for the friendly form).
    """
    global _collecting
    path = Path(path).resolve()
    module_name = "gradcheck_cases." + "_".join(path.with_suffix("").parts[-3:]).replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path} as a Python file")
    module = importlib.util.module_from_spec(spec)
    previous, _collecting = _collecting, []
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return list(_collecting)
    finally:
        _collecting = previous


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
    names: dict[str, str] = {}
    for path in find_case_files(paths):
        try:
            found = load_case_file(path)
        except BaseException as exc:  # a case file's own code: report it, keep going
            if isinstance(exc, KeyboardInterrupt):
                raise
            errors.append(collection_error(path, exc))
            continue
        for c in found:
            if c.name in names:
                errors.append(
                    CollectionError(
                        str(path),
                        split_source(c.source)[1],
                        f"duplicate case name {c.name!r} (first at {names[c.name]})",
                    )
                )
                continue
            names[c.name] = c.source
            cases.append(c)
    return cases, errors


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
    line = None
    resolved = str(path.resolve())
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == resolved:
            line = frame.lineno
    text = str(exc).splitlines()[0] if str(exc) else ""
    return CollectionError(str(path), line, f"{type(exc).__name__}: {text}".rstrip(": "))
