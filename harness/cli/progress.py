"""What `gradcheck run`, `report`, `fuzz`, `baseline` and `gate` show while they work.

Progress always goes to **stderr**; the results (tables, the summary line) stay on stdout, so
``gradcheck run > out.txt`` captures the same text as before. Two ways to show it:

* live (rich): on a terminal (stdout and stderr both ttys), without ``-q`` and outside CI: the
  case in progress, the check it is in, its elapsed time and, for a long numerical check, an
  estimate of the time left, under a bar with the live count of passed and failed cases; each
  finished case leaves one line above the bar, its verdict in colour.
* plain: one line per finished case, no control codes: when stdout or stderr is not a tty, when
  the ``CI`` environment variable is set (to anything but "", "false" or "0"), and with ``-q``
  (then only the cases that did not pass).

``NO_COLOR`` (set and not empty) turns colour off everywhere. rich is imported only when a live
display starts, so building the parser stays fast.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any

from harness.cli.table import printable

# A verdict's colour (rich style names); the same styles colour the results table's cells.
VERDICT_STYLES = {
    "pass": "green",
    "kink": "cyan",
    "inconclusive": "yellow",
    "fail": "bold red",
    "non-deterministic": "bold magenta",
    "error": "bold red",
    "swept": "green",
    "not swept": "yellow",
}
# A numerical check longer than this shows an estimate of the time it has left.
ESTIMATE_AFTER = 2.0


def in_ci() -> bool:
    """The ``CI`` environment variable is set to something other than "", "false" or "0"."""
    return os.environ.get("CI", "").strip().lower() not in ("", "false", "0")


def color_allowed() -> bool:
    """Colour is allowed: ``NO_COLOR`` is unset or empty (https://no-color.org)."""
    return not os.environ.get("NO_COLOR")


def color_wanted(stream: IO[str] | None = None) -> bool:
    """Colour fits on ``stream`` (default stdout): a terminal, not CI, NO_COLOR unset."""
    return color_allowed() and not in_ci() and _isatty(stream or sys.stdout)


def live_allowed(quiet: bool, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> bool:
    """A live display fits: both streams are terminals, not ``-q``, not CI."""
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    return not quiet and not in_ci() and _isatty(stdout) and _isatty(stderr)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or closed
        return False


def step_text(info: dict[str, Any] | None) -> str:
    """``numerical W1 (39200)``: the check in progress, from a progress frame."""
    if not info:
        return ""
    text = info.get("check", "")
    if info.get("arg"):
        size = f" ({info['size']})" if info.get("size") else ""
        text += f" {info['arg']}{size}"
    return printable(text)


def estimate(info: dict[str, Any] | None, elapsed: float) -> float | None:
    """Seconds left in the current step, from its evaluations so far (None: too early to say)."""
    if not info or elapsed < ESTIMATE_AFTER:
        return None
    done, total = info.get("done", 0), info.get("total", 0)
    if not total or not done or done >= total:
        return None
    return elapsed * (total - done) / done


def _clock(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds}s"


class Progress:
    """The plain display: one line per finished item on stderr, nothing while it runs.

    Use as a context manager; `started`, `update` and `finished` tell it what happens.

    Args:
      total: the number of items (cases) to come.
      quiet: show only the items that did not pass.
      stream: where the lines go (default sys.stderr).
      labels: what the live tally calls the items that passed and those that did not.
    """

    live = False

    def __init__(
        self,
        total: int,
        *,
        quiet: bool = False,
        stream: IO[str] | None = None,
        labels: tuple[str, str] = ("passed", "failed"),
    ) -> None:
        self.total, self.quiet, self.labels = total, quiet, labels
        self.stream = stream or sys.stderr
        self.done = self.passed = self.failed = 0
        self.name = ""
        self.info: dict[str, Any] | None = None
        self.case_start = self.step_start = time.monotonic()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the display."""

    def started(self, name: str) -> None:
        """An item begins."""
        self.name, self.info = name, None
        self.case_start = self.step_start = time.monotonic()

    def update(self, info: dict[str, Any]) -> None:
        """A progress frame for the item in progress (`harness.judge.progress`)."""
        if self.info is None or (info.get("check"), info.get("arg")) != (
            self.info.get("check"),
            self.info.get("arg"),
        ):
            self.step_start = time.monotonic()
        self.info = info

    def finished(
        self,
        name: str,
        status: str,
        ok: bool,
        seconds: float,
        notes: Sequence[str] = (),
        counted: bool = True,
    ) -> None:
        """An item ended.

        Args:
          name: its name.
          status: its verdict ("pass", "fail", ..., "swept").
          ok: it counts as passed.
          seconds: its wall time.
          notes: lines shown under it (warnings, why it was not swept).
          counted: it counts in the passed/failed tally.
        """
        self.done += 1
        if counted:
            self.passed += ok
            self.failed += not ok
        if self.quiet and ok:
            return
        self._line(name, status, seconds, notes)

    def advance(self, ok: bool | None, what: str = "") -> None:
        """One more item, without a line of its own (a fuzz example); the plain display prints
        the count at every tenth of the total.

        Args:
          ok: it passed (None: neither, e.g. a rejected example).
          what: the items' label in the count ("functions").
        """
        self.done += 1
        if ok is not None:
            self.passed += ok
            self.failed += not ok
        step = max(1, -(-self.total // 10))
        if not self.live and not self.quiet and (self.done % step == 0 or self.done == self.total):
            print(
                f"{what}: {self.done}/{self.total} examples, {self.passed} passed, "
                f"{self.failed} failed",
                file=self.stream,
                flush=True,
            )

    def result(self, result: Any) -> None:
        """A checked case's CheckResult ended (its verdict and warnings)."""
        notes = [f"warning: {w}" for w in result.warnings]
        self.finished(result.name, result.verdict, result.ok, result.seconds, notes)

    def _line(self, name: str, status: str, seconds: float, notes: Sequence[str]) -> None:
        width = len(str(self.total))
        counter = f"[{self.done:>{width}}/{self.total}]"
        print(
            f"{counter} {status:<8} {printable(name)} ({seconds:.1f}s)",
            file=self.stream,
            flush=True,
        )
        for note in notes:
            print(f"{' ' * len(counter)}   {printable(note)}", file=self.stream, flush=True)


class LiveProgress(Progress):
    """The live display (rich) on a terminal: see the module's docstring."""

    live = True

    def __init__(
        self,
        total: int,
        *,
        quiet: bool = False,
        stream: IO[str] | None = None,
        labels: tuple[str, str] = ("passed", "failed"),
        console: Any = None,
    ) -> None:
        super().__init__(total, quiet=quiet, stream=stream, labels=labels)
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, SpinnerColumn
        from rich.progress import Progress as RichProgress
        from rich.text import Text

        owner = self

        class Timing(ProgressColumn):
            """The case's elapsed time and the step's estimate, as of each redraw."""

            def render(self, task: Any) -> Text:
                return Text(owner.timing())

        self.console = console or Console(
            file=self.stream, no_color=not color_allowed(), highlight=False
        )
        self.bar = RichProgress(
            SpinnerColumn(),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            "{task.fields[tally]}",
            "{task.description}",
            Timing(),
            console=self.console,
            transient=True,
            refresh_per_second=4,
        )
        self.task = self.bar.add_task("", total=total, tally=self._tally())
        self.bar.start()

    def close(self) -> None:
        self.bar.stop()

    def _tally(self) -> str:
        good, bad = self.labels
        passed = f"[green]{self.passed} {good}[/]" if self.passed else f"0 {good}"
        failed = f"[bold red]{self.failed} {bad}[/]" if self.failed else f"0 {bad}"
        return f"{passed}, {failed}"

    def timing(self) -> str:
        """``12s · about 40s left``: the item's elapsed time, the step's estimate."""
        if not self.name:
            return ""
        now = time.monotonic()
        text = _clock(now - self.case_start)
        left = estimate(self.info, now - self.step_start)
        return text if left is None else f"{text} · about {_clock(left)} left"

    def _refresh(self) -> None:
        from rich.markup import escape

        text = escape(printable(self.name)) if self.name else ""
        step = step_text(self.info)
        if step:
            text += f" · {escape(step)}"
        self.bar.update(self.task, description=text, completed=self.done, tally=self._tally())

    def started(self, name: str) -> None:
        super().started(name)
        self._refresh()

    def update(self, info: dict[str, Any]) -> None:
        super().update(info)
        self._refresh()

    def finished(self, name, status, ok, seconds, notes=(), counted=True) -> None:
        super().finished(name, status, ok, seconds, notes, counted)
        self.name, self.info = "", None
        self._refresh()

    def advance(self, ok: bool | None, what: str = "") -> None:
        super().advance(ok, what)
        self._refresh()

    def _line(self, name: str, status: str, seconds: float, notes: Sequence[str]) -> None:
        from rich.text import Text

        line = Text()
        line.append(f"{status:<8}", style=VERDICT_STYLES.get(status, ""))
        line.append(f" {printable(name)} ({seconds:.1f}s)")
        self.console.print(line)
        for note in notes:
            self.console.print(Text(f"         {printable(note)}", style="yellow"))


def open_progress(
    total: int, quiet: bool = False, labels: tuple[str, str] = ("passed", "failed")
) -> Progress:
    """The display that fits where the output goes (see the module's docstring).

    Args:
      total: the number of items to come.
      quiet: ``-q``.
      labels: what the tally calls items that passed and items that did not.

    Returns:
      A LiveProgress on a terminal, else the plain Progress.
    """
    if live_allowed(quiet):
        return LiveProgress(total, quiet=quiet, labels=labels)
    return Progress(total, quiet=quiet, labels=labels)


SWEEP_LABELS = ("swept", "not swept")


def watched_sweeps(
    start: Callable[[int], Callable[[], Any]], names: Sequence[str], display: Progress
) -> Callable[[int], Callable[[], Any]]:
    """`start` for `harness.sweep.report.report_files`, telling ``display`` as each case's sweep
    begins and ends (``swept``, or ``not swept`` with the reason).

    Args:
      start: starts case i's sweep and returns a function that waits for its CaseSweep.
      names: the case names, by index.
      display: a Progress opened with `SWEEP_LABELS`.

    Returns:
      The same kind of function.
    """

    def watched(index: int) -> Callable[[], Any]:
        display.started(names[index])
        began = time.monotonic()
        waiting = start(index)

        def finish() -> Any:
            sweep = waiting()
            skipped = getattr(sweep, "skipped", None)
            display.finished(
                names[index],
                "not swept" if skipped else "swept",
                not skipped,
                time.monotonic() - began,
                [skipped] if skipped else [],
            )
            return sweep

        return finish

    return watched
