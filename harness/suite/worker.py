"""The case worker: a separate Python process that imports case files and checks (or sweeps) their
cases one request at a time, for `harness.suite.run.CaseRunner` in the parent.

Nothing a case does in here can stop, hang or fool the run: ``sys.exit`` becomes an ``error``
record, and ``os._exit``, a crash, a hang, an ``except BaseException`` that swallows everything, a
cancelled ``signal.alarm`` all end the same way: the parent stops waiting when the time limit
passes or the process dies, kills it, records that case as an ``error`` and starts a fresh worker
for the next case. The limit is kept by the parent waiting with a timeout, so it needs no signal
(Windows has no SIGALRM) and no cooperation from the case.

Protocol: frames (harness/suite/frames.py), requests on the worker's stdin,
replies on its original stdout. Both descriptors are moved out of the way at start-up: a case's
``print`` goes to stderr and its ``input()`` reads an empty stdin, so neither can corrupt a frame.
Requests are tuples ``(op, *arguments)``; every reply is ``(kind, value)``, preceded by
``("started", None)`` once a request's case file is imported, so that importing and checking are
each timed on their own, and, while a case is checked, by ``("progress", info)`` frames
(`harness.judge.progress`), which do not restart the time limit. Warnings the case raises are
collected into its result (`harness.suite.captured`), not printed.
"""

from __future__ import annotations

import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from harness.suite.frames import PROGRESS, STARTED, read_frame, write_frame


class _Worker:
    """The worker's state: the case files it imported and their cases, by name."""

    def __init__(self, replies: BinaryIO) -> None:
        self.replies = replies
        self.files: dict[str, dict[str, Any]] = {}
        self.cwd = os.getcwd()

    def send(self, kind: str, value: Any) -> None:
        try:
            write_frame(self.replies, (kind, value))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            write_frame(self.replies, ("unpicklable", f"{type(exc).__name__}: {exc}"))

    def load(self, path: str, shown: str) -> tuple[list[Any], list[Any]]:
        """Import one case file (unless already imported): its cases' infos and its errors."""
        from harness.results import CollectionError
        from harness.suite.collect import collect

        try:
            cases, errors = collect([path])
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt raised by the file too
            text = str(exc).strip().splitlines()
            message = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
            cases, errors = [], [CollectionError(path, None, message)]
        finally:
            os.chdir(self.cwd)  # a case file's os.chdir must not move the next file's paths
        self.files[path] = {c.name: c for c in cases}
        errors = [CollectionError(shown, e.line, e.message) for e in errors]
        return [_info(c, path) for c in cases], errors

    def case(self, path: str, shown: str, name: str) -> Any:
        if path not in self.files:  # a fresh worker after a kill: import the file again
            self.load(path, shown)
        self.send(STARTED, None)
        found = self.files[path].get(name)
        if found is None:
            raise LookupError(f"case {name!r} is no longer declared by {shown}")
        return found

    def check(self, path: str, shown: str, name: str, overrides: dict[str, Any]) -> Any:
        from harness.judge.progress import watching
        from harness.results import CheckResult
        from harness.suite.captured import captured_warnings
        from harness.suite.run import error_result

        case = self.case(path, shown, name)
        start = time.perf_counter()
        # The check's steps go to the parent as they happen (PROGRESS frames, before the reply).
        with captured_warnings() as warned, watching(lambda info: self.send(PROGRESS, info)):
            try:
                result = case.run(**overrides)
            except BaseException as exc:  # noqa: BLE001 - a case cannot end the run: an error
                result = error_result(case, exc)
            finally:
                os.chdir(self.cwd)
        seconds = time.perf_counter() - start
        return CheckResult(result.name, result.checks, seconds, case.source, tuple(warned))

    def sweep(self, path: str, shown: str, name: str) -> Any:
        from harness.sweep.report import sweep_or_skip

        case = self.case(path, shown, name)
        try:
            return sweep_or_skip(case)
        finally:
            os.chdir(self.cwd)

    def environment(self) -> dict[str, str]:
        from harness.results import environment

        return environment()

    def sweep_settings(self) -> dict[str, Any]:
        from harness.sweep.report import sweep_settings

        return sweep_settings()

    def handle(self, request: tuple) -> None:
        op, *arguments = request
        handlers: dict[str, Callable[..., Any]] = {
            "load": self.load,
            "check": self.check,
            "sweep": self.sweep,
            "environment": self.environment,
            "sweep_settings": self.sweep_settings,
        }
        try:
            value = handlers[op](*arguments)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which decides
            self.send("failed", f"{type(exc).__name__}: {exc}")
            return
        self.send(op, value)


def _info(case: Any, path: str) -> dict[str, Any]:
    """What the parent needs to know of a case without holding its functions."""
    from harness import scratch
    from harness.sweep.model import array_numbers

    return {
        "name": case.name,
        "source": case.source,
        "tags": tuple(case.tags),
        "file": path,
        "numbers": array_numbers(case.args),
        "descent": case.fn is scratch.function_2,
    }


def _requests(stream: BinaryIO, into: queue.Queue) -> None:
    """Read requests on a thread of their own; when the parent goes away (its end of the pipe
    closes: it finished, or was killed), end this process at once, even mid-case."""
    while True:
        try:
            into.put(read_frame(stream))
        except (EOFError, OSError, pickle.UnpicklingError):
            os._exit(0)


def main(argv: list[str] | None = None) -> None:
    """Serve requests until the parent closes stdin.

    Args:
      argv: ``[--profile NAME]``: a hypothesis profile to load first (the gate's derandomized
        one, so case files that draw examples draw the same ones every time).
    """
    argv = sys.argv[1:] if argv is None else argv
    # Interrupts are the parent's to handle: Ctrl-C reaches the whole process group, and the
    # parent decides whether and when this process stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    requests_in = os.fdopen(os.dup(0), "rb", buffering=0)
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if argv[:1] == ["--profile"] and len(argv) > 1:
        from hypothesis import settings

        from harness.fuzz.profiles import register_profiles

        register_profiles()
        settings.load_profile(argv[1])
    # The tool's own imports (JAX, ~2-5 s on a busy machine) before "ready", which the parent
    # waits for with a minute to spare: the time limit then counts only the case file's code.
    import harness.judge.check  # noqa: F401
    import harness.oracle.exact  # noqa: F401  (JAX)
    import harness.suite.collect  # noqa: F401

    worker = _Worker(replies)
    incoming: queue.Queue = queue.Queue()
    threading.Thread(target=_requests, args=(requests_in, incoming), daemon=True).start()
    worker.send("ready", os.getpid())
    while True:
        worker.handle(incoming.get())


if __name__ == "__main__":
    main()
