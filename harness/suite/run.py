"""Running cases under a per-case time limit.

Two ways, one result:

* `CaseRunner` (what the command line, ``gradcheck run -n`` and ``pytest --gradcheck-timeout``
  use): the case files are imported and their cases checked in a worker process
  (harness/suite/worker.py), one request at a time. The parent waits for each with a timeout and
  never runs case code, so a case that hangs, swallows every exception, cancels alarms or calls
  ``os._exit`` costs only that case (an ``error``) and a fresh worker. No signal is needed, so
  the limit is the same on Windows.
* `run_limited` / `run_suite`: in this process, for cases built in memory (a test, a notebook,
  pytest without ``--gradcheck-timeout``, which passes no limit). A limit given here is
  best-effort SIGALRM (POSIX main thread only; none on Windows), which a case can defeat: for a
  limit that holds, put the cases in a case file and use the command line. An exception that is
  not the case's verdict (``SystemExit``, a custom ``BaseException``) becomes an ``error`` record
  all the same.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.results import ERROR, CheckRecord, CheckResult, CollectionError
from harness.suite.captured import captured_warnings
from harness.suite.case import Case
from harness.suite.frames import PROGRESS, STARTED, read_frame, write_frame

DEFAULT_TIMEOUT = 600.0  # seconds per case; the 39,760-parameter network takes ~20 s


class CaseTimeout(BaseException):
    """Raised inside a case that ran past its time limit.

    A BaseException, so that a case's own ``except Exception`` cannot swallow it; check()'s
    ``finally`` still restores the case's arrays on the way out.
    """


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise CaseTimeout in the block after ``seconds``: best effort, for in-process runs only (no
    limit for None/0, on Windows, or off the main thread, where signals cannot be delivered).

    Args:
      seconds: the limit.
    """
    no_alarm = not hasattr(signal, "SIGALRM")  # Windows: use CaseRunner for a limit
    if not seconds or no_alarm or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_limited(
    case: Case, timeout: float | None = DEFAULT_TIMEOUT, **overrides: Any
) -> CheckResult:
    """Check one case under a time limit.

    Args:
      case: the case.
      timeout: seconds before the case is stopped and reported as an error (None: no limit).
      **overrides: keyword arguments for `check` that replace the case's own.

    Returns:
      Its CheckResult, with its wall time.
    """
    start = time.perf_counter()
    with captured_warnings() as warned:  # in the result, as the worker collects them
        try:
            with time_limit(timeout):
                result = case.run(**overrides)
        except CaseTimeout:
            result = timeout_result(case.name, case.source, timeout)
        except KeyboardInterrupt:
            raise  # the user's Ctrl-C (or SIGTERM): stop the run
        except BaseException as exc:  # noqa: BLE001 - one case cannot end the run
            result = error_result(case, exc)
    seconds = time.perf_counter() - start
    return CheckResult(result.name, result.checks, seconds, case.source, tuple(warned))


def timeout_result(name: str, source: str, timeout: float | None) -> CheckResult:
    """The result of a case stopped at its time limit."""
    message = (
        f"stopped after {timeout:g} s (the per-case time limit): the case hangs or is slower "
        "than the limit; raise it with --timeout or check a smaller instance"
    )
    record = CheckRecord(case=name, check="timeout", arg=None, verdict=ERROR, message=message)
    return CheckResult(name, (record,), source=source)


def error_result(case: Case, exc: BaseException) -> CheckResult:
    """The result of a case whose check raised instead of returning (options `check` rejects,
    ``sys.exit`` or a custom BaseException in the case's code): an error for that case only."""
    text = str(exc).strip().splitlines()
    what = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
    if isinstance(exc, ValueError | TypeError):
        message = f"the case cannot be checked as declared: {what}"
    else:
        message = f"checking the case raised {what}; a case cannot end the run"
    record = CheckRecord(case=case.name, check="input", arg=None, verdict=ERROR, message=message)
    return CheckResult(case.name, (record,), source=case.source)


def ended_result(name: str, source: str, status: int | None) -> CheckResult:
    """The result of a case whose worker process ended while checking it."""
    record = CheckRecord(
        case=name, check="worker", arg=None, verdict=ERROR, message=ended_message(status)
    )
    return CheckResult(name, (record,), source=source)


def ended_message(status: int | None, what: str = "the case") -> str:
    """``the case ended the worker process: exit status 3`` (or the signal that killed it)."""
    if status is not None and status < 0:
        try:
            how = f"killed by signal {signal.Signals(-status).name}"
        except ValueError:
            how = f"killed by signal {-status}"
    else:
        how = f"exit status {status}"
    return (
        f"{what} ended the worker process: {how} (os._exit, a crash, or the process killed); "
        "the run went on with a fresh worker"
    )


def run_suite(
    cases: Sequence[Case], timeout: float | None = DEFAULT_TIMEOUT, **overrides: Any
) -> list[CheckResult]:
    """Check every case in order, each under the time limit.

    Args:
      cases: the cases.
      timeout: per-case time limit in seconds (None: no limit).
      **overrides: keyword arguments for `check` that replace each case's own.

    Returns:
      One CheckResult per case, with its wall time.
    """
    return [run_limited(c, timeout, **overrides) for c in cases]


@dataclass(frozen=True)
class CaseInfo:
    """A case as the parent sees it: declared in the worker, named by its file and name.

    Attributes:
      name, source, tags: as the Case's.
      file: the absolute path of its case file (the worker imports it again after a restart).
      shown: that file as the user gave or sees it, for messages.
      numbers: how many numbers its array arguments hold (the report sweeps big cases first).
      descent: its fn is scratch.function_2 (the report then draws the descent figure).
    """

    name: str
    source: str
    tags: tuple[str, ...]
    file: str
    shown: str
    numbers: int = 0
    descent: bool = False


class WorkerEnded(Exception):
    """The worker process died; ``status`` is its exit status (negative: the signal)."""

    def __init__(self, status: int | None) -> None:
        super().__init__(f"worker ended with status {status}")
        self.status = status


class WorkerTimeout(Exception):
    """A request took longer than the time limit; the worker has been killed."""


class WorkerFailed(Exception):
    """The worker could not carry a request out (a message from it, not from a case)."""


class _Process:
    """One worker process and a thread that reads its replies into a queue."""

    def __init__(self, profile: str | None) -> None:
        root = str(Path(__file__).resolve().parents[2])  # this checkout's harness, first
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        argv = [sys.executable, "-m", "harness.suite.worker"]
        if profile:
            argv += ["--profile", profile]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            try:
                self.replies.put(read_frame(self.proc.stdout))
            except Exception:  # noqa: BLE001 - end of stream, or a frame cut off by death
                self.replies.put(None)
                return

    def send(self, request: tuple) -> None:
        assert self.proc.stdin is not None
        try:
            write_frame(self.proc.stdin, request)
        except OSError:  # died since the last reply
            raise WorkerEnded(self.proc.wait()) from None

    def receive(self, timeout: float | None) -> tuple[str, Any]:
        """The next reply, waiting at most `timeout` seconds (None: no limit) between replies.

        Raises:
          WorkerEnded: the process died.
          WorkerTimeout: no reply in time (the process is killed first).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            # Short waits, so a death is seen even when a grandchild holds the pipe open.
            wait = 0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic()))
            try:
                reply = self.replies.get(timeout=wait)
            except queue.Empty:
                if self.proc.poll() is not None and self.replies.empty():
                    raise WorkerEnded(self.proc.returncode) from None
                if deadline is not None and time.monotonic() >= deadline:
                    self.kill()
                    raise WorkerTimeout() from None
                continue
            if reply is None:
                raise WorkerEnded(self.proc.wait())
            return reply

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                stream.close()

    def close(self) -> None:
        """End the worker: closing its stdin ends it at once, even mid-case (worker.py); killed
        if it has not ended within 2 s."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2)
        self.kill()


class CaseRunner:
    """Imports case files and checks or sweeps their cases in a worker process, each request
    under the time limit; a worker that dies or runs out of time is replaced for the next one.

    Use as a context manager, so the worker is stopped however the run ends (Ctrl-C included).

    Args:
      timeout: seconds each import, check or sweep may take (None or 0: no limit).
      profile: a hypothesis profile the worker loads first (the gate's derandomized one).
    """

    def __init__(self, timeout: float | None = DEFAULT_TIMEOUT, profile: str | None = None):
        self.timeout = timeout or None
        self.profile = profile
        self._process: _Process | None = None

    def __enter__(self) -> CaseRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the worker."""
        if self._process is not None:
            process, self._process = self._process, None
            process.close()

    def _worker(self) -> _Process:
        if self._process is None or self._process.proc.poll() is not None:
            self._process = _Process(self.profile)
            kind, _ = self._process.receive(None if self.timeout is None else self.timeout + 60)
            if kind != "ready":
                raise WorkerFailed(f"the worker process did not start ({kind})")
        return self._process

    def _request(
        self, request: tuple, on_progress: Callable[[dict], None] | None = None
    ) -> tuple[str, Any]:
        """Send a request; the reply after its "started" step (each step gets the full limit).

        Args:
          request: the request tuple.
          on_progress: called with each progress frame's info (frames that do not extend the
            time limit).

        Raises:
          WorkerEnded, WorkerTimeout: from `_Process.receive` (the worker is gone either way).
        """
        try:
            process = self._worker()
            process.send(request)
            deadline = None if self.timeout is None else time.monotonic() + self.timeout
            while True:
                left = None if deadline is None else max(0.0, deadline - time.monotonic())
                kind, value = process.receive(left)
                if kind == PROGRESS:
                    if on_progress is not None:
                        on_progress(value)
                    continue
                if kind != STARTED:
                    return kind, value
                deadline = None if self.timeout is None else time.monotonic() + self.timeout
        except (WorkerEnded, WorkerTimeout):
            if self._process is not None:
                self._process.kill()
            self._process = None
            raise

    # --- collection --------------------------------------------------------------------------

    def collect(self, paths: Sequence[str | Path]) -> tuple[list[CaseInfo], list[CollectionError]]:
        """Import every case file under `paths` in the worker, each under the time limit.

        A file that does not import, takes too long or ends the worker is a CollectionError; a
        case name declared twice is one too (the second declaration is dropped), as in
        `harness.suite.collect.collect`.

        Args:
          paths: case files or folders.

        Returns:
          (cases, errors).

        Raises:
          FileNotFoundError: a path does not exist.
        """
        from harness.suite.collect import DeclaredNames, duplicate_error, find_case_files

        infos: list[CaseInfo] = []
        errors: list[CollectionError] = []
        names = DeclaredNames()
        for path in find_case_files(paths):
            shown, absolute = str(path), os.path.abspath(path)
            try:
                kind, value = self._request(("load", absolute, shown))
            except WorkerTimeout:
                errors.append(CollectionError(shown, None, self._import_timeout()))
                continue
            except WorkerEnded as ended:
                errors.append(
                    CollectionError(shown, None, ended_message(ended.status, "importing it"))
                )
                continue
            if kind != "load":
                errors.append(CollectionError(shown, None, f"could not be imported: {value}"))
                continue
            found, file_errors = value
            errors.extend(file_errors)
            for data in found:
                info = CaseInfo(shown=shown, **data)
                first = names.duplicate_of(info)
                if first is not None:
                    errors.append(duplicate_error(shown, info, first))
                    continue
                infos.append(info)
        return infos, errors

    def _import_timeout(self) -> str:
        return (
            f"importing the case file took longer than {self.timeout:g} s (the per-case time "
            "limit): it hangs or builds too much at import; raise it with --timeout"
        )

    # --- checking and sweeping ---------------------------------------------------------------

    def check(
        self,
        info: CaseInfo,
        on_progress: Callable[[dict], None] | None = None,
        **overrides: Any,
    ) -> CheckResult:
        """Check one case in the worker.

        Args:
          info: the case, from `collect`.
          on_progress: called with the check's progress as it runs (`harness.judge.progress`).
          **overrides: keyword arguments for `check` that replace the case's own.

        Returns:
          Its CheckResult, with its wall time; an ``error`` record when it ran out of time, ended
          the worker or could not be checked.
        """
        start = time.perf_counter()
        try:
            request = ("check", info.file, info.shown, info.name, overrides)
            kind, value = self._request(request, on_progress)
        except WorkerTimeout:
            result = timeout_result(info.name, info.source, self.timeout)
        except WorkerEnded as ended:
            result = ended_result(info.name, info.source, ended.status)
        else:
            if kind == "check":
                return value
            record = CheckRecord(
                case=info.name,
                check="worker",
                arg=None,
                verdict=ERROR,
                message=f"the worker could not check the case: {value}",
            )
            result = CheckResult(info.name, (record,), source=info.source)
        return CheckResult(result.name, result.checks, time.perf_counter() - start, info.source)

    def start_sweep(self, info: CaseInfo):
        """Start sweeping a case in the worker (the caller draws meanwhile).

        Args:
          info: the case.

        Returns:
          A function that waits for the sweep and returns its CaseSweep (one marked skipped,
          saying why, when the sweep ran out of time, ended the worker or failed).
        """
        from harness.sweep.model import CaseSweep

        def skipped(why: str) -> CaseSweep:
            return CaseSweep(info.name, info.source, skipped=why)

        try:
            process = self._worker()
            process.send(("sweep", info.file, info.shown, info.name))
        except (WorkerEnded, WorkerTimeout) as exc:
            self._process, reason = None, str(exc)
            return lambda: skipped(f"the worker could not start the sweep ({reason})")

        def finish() -> CaseSweep:
            try:
                while True:
                    kind, value = process.receive(self.timeout)
                    if kind != STARTED:
                        break
            except WorkerTimeout:
                self._process = None
                return skipped(f"the sweep stopped after {self.timeout:g} s (the time limit)")
            except WorkerEnded as ended:
                self._process = None
                return skipped(ended_message(ended.status, "the sweep"))
            return value if kind == "sweep" else skipped(f"the sweep failed: {value}")

        return finish

    def environment(self) -> dict[str, str]:
        """`harness.results.environment()` as the worker sees it (the parent needs no JAX)."""
        from harness.results import environment

        return self._ask("environment", environment)

    def sweep_settings(self) -> dict[str, Any]:
        """`harness.sweep.report.sweep_settings()`, from the worker (it imports JAX)."""
        from harness.sweep.report import sweep_settings

        return self._ask("sweep_settings", sweep_settings)

    def _ask(self, op: str, here: Any) -> Any:
        """The worker's answer to a question about itself, or `here()` if it cannot answer."""
        try:
            kind, value = self._request((op,))
        except (WorkerEnded, WorkerTimeout):
            kind, value = "failed", None
        return value if kind == op else here()
