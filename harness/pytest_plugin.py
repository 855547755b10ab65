"""gradcheck's pytest plugin (entry point ``pytest11: gradcheck``).

* ``pytest cases/`` collects every ``case(...)`` of the case files as a test item named after the
  case, so ``-k``, ``-x``, ``--lf``, ``-m TAG`` (tags become markers) and ``--junitxml`` work; a
  failing item prints the same message as ``assert_check``.
* A ``.py`` file is a case file when it lies under a case folder and is not a conftest or
  ``_``-prefixed. Case folders are the ``gradcheck_cases`` ini paths (default ``cases``, relative
  to the ini file), every ``--gradcheck-cases PATH``, and a folder named like a relative
  ``gradcheck_cases`` entry that is given on the command line or holds a path given on it, inside
  the folder pytest was started in -- so ``pytest myproj/cases/`` collects from the parent
  folder too. A case file that is also a test module (``cases/test_cases.py``, matching
  ``python_files``) gives both its cases and its tests. ``pytest`` with ``testpaths = ["tests"]``
  never runs the cases, and files under ``tests/`` are never read as case files. When nothing is
  collected from paths that hold ``.py`` files, the plugin says which case folders it looked for.
* ``gradcheck`` fixture: ``assert_check`` for your own tests.
* Time limits: with ``--gradcheck-timeout SECONDS`` (``gradcheck run -n`` always passes one)
  each case is checked in a worker process of its own pytest process (harness/suite/worker.py,
  as ``gradcheck run`` does), which is killed when the limit passes: a case that hangs, swallows
  every exception, cancels alarms or calls ``os._exit`` is that case's ``error`` and the next
  case gets a fresh worker. No signal is involved, so the limit holds on Windows and in xdist
  workers alike. Without the option, cases run in the pytest process (``--pdb`` works there).
* Parallel runs: under pytest-xdist each case's result travels to the controller with its own
  test report (a ``user_properties`` entry), so a worker that crashes later loses nothing it
  already reported; the controller merges them in collection order, so ``-n 2`` and a serial run
  write the same ``--gradcheck-results`` file (``results`` block). A collected case with no result
  (its worker crashed on it, or never got to it) becomes an ``error`` record: the file never
  holds fewer cases than were collected.

Nothing heavy is imported until a case file is collected: the plugin loads in every pytest run.
"""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover
    from harness.results import CheckResult, CollectionError
    from harness.suite.case import Case
    from harness.suite.run import CaseRunner

ERRORS_KEY = "gradcheck_collection_errors"
CASE_IDS_KEY = "gradcheck_case_ids"
# The user_properties names a case item's report carries its result (or duplicate error) under.
RESULT_PROPERTY = "gradcheck_result"
ERROR_PROPERTY = "gradcheck_collection_error"
_STATE = pytest.StashKey["_State"]()


class _State:
    """Per-process plugin state: where case files live, and what has run."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = roots
        from harness.suite.collect import DeclaredNames

        self.names = DeclaredNames()  # to catch a name declared twice
        self.expected: list[str] = []  # the collected case items' nodeids, in order
        self.results: dict[str, tuple[dict[str, Any], float]] = {}  # nodeid -> (result, seconds)
        self.failed: dict[str, str] = {}  # nodeid -> why its report failed without a result
        self.duplicates: set[str] = set()  # nodeids of repeated declarations (not cases)
        self.errors: list[tuple[str, int | None, str]] = []
        self.started = time.time()
        self.merged: tuple[list[CheckResult], list[CollectionError]] | None = None
        self.runner: CaseRunner | None = None  # the worker process, with --gradcheck-timeout


def pytest_addoption(parser: pytest.Parser) -> None:
    """The plugin's options and ini keys."""
    group = parser.getgroup("gradcheck", "gradient checks (gradcheck)")
    group.addoption(
        "--gradcheck-cases",
        action="append",
        default=[],
        metavar="PATH",
        help="also treat .py files under PATH as case files (repeatable)",
    )
    group.addoption(
        "--gradcheck-results",
        metavar="FILE",
        help="write the run's results.json (same format as gradcheck run) to FILE",
    )
    group.addoption(
        "--gradcheck-select",
        action="append",
        default=[],
        metavar="TEXT",
        help="keep only cases whose name or tag contains TEXT, as gradcheck run -k (repeatable)",
    )
    from harness.judge.tolerance import SCHEMES

    group.addoption(
        "--gradcheck-scheme",
        choices=SCHEMES,
        help="finite-difference scheme for every case (default: each case's own)",
    )
    group.addoption(
        "--gradcheck-timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help="check each case in a worker process, stopped after SECONDS and recorded as an "
        "error (0: a worker process without a limit; gradcheck run -n passes its --timeout); "
        "default: in the pytest process, no limit",
    )
    parser.addini(
        "gradcheck_cases",
        type="args",
        default=["cases"],
        help="folders (relative to the ini file) whose .py files are gradcheck case files",
    )


def _seconds(text: str) -> float:
    """Option type: a time limit in seconds, finite and not negative (0: no limit)."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"expected a finite, non-negative number of seconds, got {text!r} (0: no limit)"
        )
    return value


def pytest_configure(config: pytest.Config) -> None:
    """Resolve the case-file roots; on the controller (or a serial run), listen for reports."""
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(_ReportListener(config), "gradcheck-results")
    base = config.inipath.parent if config.inipath else config.rootpath
    entries = config.getini("gradcheck_cases")
    roots = [(base / p).resolve() for p in entries]
    invoked = config.invocation_params.dir
    roots += [(invoked / p).resolve() for p in config.getoption("gradcheck_cases")]
    roots += _named_on_the_command_line(config, entries)
    config.stash[_STATE] = _State(list(dict.fromkeys(roots)))


def _given_paths(config: pytest.Config) -> list[Path]:
    """The existing paths given on the command line (node ids cut at ``::``)."""
    invoked = config.invocation_params.dir
    paths = [(invoked / str(arg).split("::")[0]).resolve() for arg in config.args]
    return [p for p in paths if p.exists()]


def _named_on_the_command_line(config: pytest.Config, entries: list[str]) -> list[Path]:
    """Folders named like a relative gradcheck_cases entry that are, or hold, a path given on the
    command line and lie inside the folder pytest was started in (``pytest myproj/cases/``)."""
    invoked = config.invocation_params.dir.resolve()
    relative = [Path(e).parts for e in entries if not Path(e).is_absolute()]
    found = []
    for path in _given_paths(config):
        for candidate in [path, *path.parents]:
            if candidate != invoked and invoked not in candidate.parents:
                break
            if any(parts and candidate.parts[-len(parts) :] == parts for parts in relative):
                found.append(candidate)
                break
    return found


def is_case_file(path: Path, config: pytest.Config) -> bool:
    """Whether pytest should collect `path` as a case file (see the module docstring).

    Args:
      path: a file pytest visits.
      config: the pytest config.

    Returns:
      True for a case file.
    """
    from harness.files import relative_to
    from harness.suite import collect

    # gradcheck's own rule first, then pytest's: a conftest.py is never a case file.
    if not collect.is_case_file(path) or path.name == "conftest.py":
        return False
    return any(relative_to(path, root) is not None for root in config.stash[_STATE].roots)


def _is_test_module(path: Path, config: pytest.Config) -> bool:
    return any(fnmatch.fnmatch(path.name, pattern) for pattern in config.getini("python_files"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Case files become `CaseFile` collectors, unless pytest makes a module of them itself (a
    test module, or a file named on the command line): then `pytest_pycollect_makemodule`."""
    config = parent.config
    if (
        is_case_file(file_path, config)
        and not _is_test_module(file_path, config)
        and not parent.session.isinitpath(file_path)
    ):
        return CaseFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> Any:
    """A case file pytest would import as a test module becomes a `CaseModule`: its cases and
    its tests."""
    if is_case_file(module_path, parent.config):
        return CaseModule.from_parent(parent, path=module_path)
    return None


def pytest_report_collectionfinish(
    config: pytest.Config, start_path: Path, items: list[pytest.Item]
) -> list[str] | None:
    """Nothing collected from paths that hold .py files: say where case files are looked for."""
    if items:
        return None
    holding = [p for p in _given_paths(config) if p.suffix == ".py" or any(p.rglob("*.py"))]
    if not holding:
        return None
    from harness.files import relative_path

    shown = ", ".join(relative_path(p, config.invocation_params.dir) for p in holding)
    roots = config.stash[_STATE].roots
    where = ", ".join(relative_path(r, config.invocation_params.dir) for r in roots) or "none"
    return [
        f"gradcheck: no case files collected from {shown}: case files are .py files under a case "
        f"folder (here: {where}); set gradcheck_cases in the ini file, pass --gradcheck-cases "
        "PATH, or name a case folder on the command line (one called like a gradcheck_cases "
        "entry, e.g. myproj/cases/)"
    ]


def _runner(config: pytest.Config, timeout: float) -> CaseRunner:
    """This pytest process's case worker (started on first use, stopped at unconfigure)."""
    state = config.stash[_STATE]
    if state.runner is None:
        from harness.suite.run import CaseRunner

        state.runner = CaseRunner(timeout or None)
    return state.runner


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the case worker, however the session ended."""
    state = config.stash.get(_STATE, None)
    if state is not None and state.runner is not None:
        runner, state.runner = state.runner, None
        runner.close()


class CaseFailed(Exception):
    """Raised by a case item whose check did not pass; carries the result."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.name)
        self.result = result


class CaseFile(pytest.File):
    """A case file: imported with harness.suite.case, one item per case, in declaration order."""

    def collect(self) -> Iterator[CaseItem]:
        _, cases = _import(self)
        yield from _case_items(self, cases)


class CaseModule(pytest.Module):
    """A case file that is also a test module: its cases, then its tests, from one import."""

    def _getobj(self) -> Any:
        module, self._cases = _import(self)
        return module

    def collect(self) -> Iterator[pytest.Item | pytest.Collector]:
        self.obj  # noqa: B018 (imports the file once, for both kinds of item)
        yield from _case_items(self, self._cases)
        yield from super().collect()


def _import(collector: pytest.Collector) -> tuple[Any, list[Case]]:
    """Import a case file as collect.py does; a failure is a collection error naming its line."""
    from harness.suite.collect import collection_error, import_case_file

    try:
        return import_case_file(collector.path)
    except Exception as exc:
        err = collection_error(_shown_path(collector.path, collector.config), exc)
        collector.config.stash[_STATE].errors.append((err.path, err.line, err.message))
        raise collector.CollectError(f"case file did not import: {err.describe()}") from None


def _case_items(collector: pytest.Collector, cases: list[Case]) -> Iterator[CaseItem]:
    state = collector.config.stash[_STATE]
    for c in cases:
        item = CaseItem.from_parent(
            collector, name=c.name, case=c, duplicate_of=state.names.duplicate_of(c)
        )
        for tag in c.tags:
            _register_marker(collector.config, tag)
            item.add_marker(tag)
        yield item


def _shown_path(path: str | Path, config: pytest.Config) -> str:
    """The path as `gradcheck run` shows it: relative to where pytest was started, if inside."""
    from harness.files import relative_path

    return relative_path(path, config.invocation_params.dir)


def _register_marker(config: pytest.Config, tag: str) -> None:
    known = {line.split(":")[0].strip() for line in config.getini("markers")}
    if tag not in known:
        config.addinivalue_line("markers", f"{tag}: gradcheck case tag")


class CaseItem(pytest.Item):
    """One case: runs `Case.run`, fails with `format_failure`'s message."""

    def __init__(self, *, case: Case, duplicate_of: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.duplicate_of = duplicate_of

    def runtest(self) -> None:
        if self.duplicate_of:
            from harness.suite.collect import duplicate_error, split_source

            shown = _shown_path(split_source(self.case.source)[0], self.config)
            err = duplicate_error(shown, self.case, self.duplicate_of)
            self.user_properties.append(
                (ERROR_PROPERTY, json.dumps([err.path, err.line, err.message]))
            )
            raise pytest.fail.Exception(err.message, pytrace=False)
        scheme = self.config.getoption("gradcheck_scheme")
        overrides = {"scheme": scheme} if scheme else {}
        timeout = self.config.getoption("gradcheck_timeout")
        if timeout is None:  # in this process, no limit (as the user's own tests run)
            from harness.suite.run import run_limited

            result = run_limited(self.case, timeout=None, **overrides)
        else:
            result = _runner(self.config, timeout).check(self._info(), **overrides)
        # Sent with this item's report (to the xdist controller at once), not at the end.
        self.user_properties.append(
            (RESULT_PROPERTY, json.dumps([result.to_dict(), result.seconds], allow_nan=False))
        )
        if not result.ok:
            raise CaseFailed(result)

    def _info(self) -> Any:
        """The case as the worker process finds it again: its file and its name."""
        from harness.suite.run import CaseInfo

        return CaseInfo(
            name=self.case.name,
            source=self.case.source,
            tags=tuple(self.case.tags),
            file=str(self.path.resolve()),
            shown=_shown_path(self.path, self.config),
        )

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style=None) -> str:
        if isinstance(excinfo.value, CaseFailed):
            from harness.judge.check import format_failure

            return format_failure(excinfo.value.result)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        from harness.suite.collect import split_source

        line = split_source(self.case.source)[1]
        return self.path, None if line is None else line - 1, f"case {self.name}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Apply --gradcheck-select (gradcheck run -k semantics) to the case items."""
    keywords = config.getoption("gradcheck_select")
    if not keywords:
        return
    from harness.suite.collect import select

    chosen = {id(c) for c in select([i.case for i in items if isinstance(i, CaseItem)], keywords)}
    keep = [i for i in items if not isinstance(i, CaseItem) or id(i.case) in chosen]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember the case items in order: the order results are merged in, and the cases that
    must each have a result."""
    state = session.config.stash[_STATE]
    state.expected = [item.nodeid for item in session.items if isinstance(item, CaseItem)]
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: sent to the controller when it ends
        workeroutput[ERRORS_KEY] = list(state.errors)
        workeroutput[CASE_IDS_KEY] = list(state.expected)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """xdist controller: the collected items (every worker collects the same ones, in order).

    Until a worker that finished says which of them are cases (a case file can hold tests too),
    every item of a case file counts as one.
    """
    state = node.config.stash[_STATE]
    if not state.expected:
        root = node.config.rootpath
        state.expected = [i for i in ids if is_case_file(root / i.split("::", 1)[0], node.config)]


class _ReportListener:
    """Controller (or serial run): takes each case's result from its report as it arrives, and
    notes a case whose report failed without one (xdist's report for a crashed worker)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        state = self.config.stash[_STATE]
        carried = reported_result(report)
        if carried is not None:
            state.results[report.nodeid] = carried
        for name, value in report.user_properties:
            if name == ERROR_PROPERTY:
                state.errors.append(tuple(json.loads(value)))
                state.duplicates.add(report.nodeid)
        if report.failed and report.nodeid not in state.results:
            state.failed.setdefault(report.nodeid, failure_line(report))


def reported_result(report: pytest.TestReport) -> tuple[dict, float] | None:
    """The (CheckResult dict, seconds) a case item's report carries, or None.

    Args:
      report: a test report (from this process or from an xdist worker).

    Returns:
      The pair ``CheckResult.from_dict`` takes, or None.
    """
    for name, value in report.user_properties:
        if name == RESULT_PROPERTY:
            data, seconds = json.loads(value)
            return data, seconds
    return None


def is_duplicate_report(report: pytest.TestReport) -> bool:
    """The report is of a case declared twice (a collection error, not a case that ran)."""
    return any(name == ERROR_PROPERTY for name, _ in report.user_properties)


def failure_line(report: pytest.TestReport) -> str:
    """The last line of a failed report's text (or its outcome)."""
    text = str(report.longrepr or "").strip().splitlines()
    return text[-1] if text else report.outcome


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: take over a finished worker's collection errors and case ids."""
    state = node.config.stash[_STATE]
    output = getattr(node, "workeroutput", {}) or {}
    state.errors.extend(tuple(e) for e in output.get(ERRORS_KEY, []))
    if CASE_IDS_KEY in output:
        state.expected = list(output[CASE_IDS_KEY])


def merged_results(config: pytest.Config) -> tuple[list[CheckResult], list[CollectionError]]:
    """The run's results in collection order and its collection errors (controller side).

    Every collected case has a result: one whose worker crashed on it, or that never ran, gets
    an ``error`` record saying so.

    Args:
      config: the pytest config.

    Returns:
      (results, collection errors), as `gradcheck run` would have them.
    """
    from harness.results import CheckResult, CollectionError

    state = config.stash[_STATE]
    order = {nodeid: i for i, nodeid in enumerate(state.expected)}
    ranked = [
        (order.get(nodeid, len(order)), CheckResult.from_dict(*state.results[nodeid]))
        for nodeid in state.results
    ]
    ranked += [
        (order[nodeid], missing_result(config, nodeid, state.failed.get(nodeid)))
        for nodeid in state.expected
        if nodeid not in state.results and nodeid not in state.duplicates
    ]
    results = [r for _, r in sorted(ranked, key=lambda pair: pair[0])]
    errors = [CollectionError(*e) for e in dict.fromkeys(state.errors)]
    return results, errors


def missing_result(config: pytest.Config, nodeid: str, why: str | None) -> CheckResult:
    """The error result of a collected case that reported no result.

    Args:
      config: the pytest config.
      nodeid: the case item's node id.
      why: the last line of its failed report, or None.

    Returns:
      A CheckResult with one ``error`` record.
    """
    from harness.results import ERROR, CheckRecord, CheckResult

    file, _, name = nodeid.partition("::")
    if why:
        message = f"no result: {why} (a case that ends its process, e.g. os._exit, or a crash)"
    else:
        message = "no result: the case was collected but never reported (its worker crashed)"
    record = CheckRecord(case=name, check="worker", arg=None, verdict=ERROR, message=message)
    return CheckResult(name, (record,), source=str(config.rootpath / file))


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Controller (or serial run): merge the results and write --gradcheck-results."""
    config = session.config
    if hasattr(config, "workerinput"):
        return
    state = config.stash[_STATE]
    state.merged = merged_results(config)
    target = config.getoption("gradcheck_results")
    if target and (state.merged[0] or state.merged[1]):
        from harness.files import write_json_atomic
        from harness.results import results_payload

        command = ["pytest", *config.invocation_params.args]
        payload = results_payload(*state.merged, command, state.started)
        write_json_atomic(config.invocation_params.dir / target, payload)


def session_results(config: pytest.Config) -> tuple[list[CheckResult], list[CollectionError]]:
    """What `pytest_sessionfinish` merged (empty before it ran)."""
    return config.stash[_STATE].merged or ([], [])


@pytest.fixture
def gradcheck() -> Callable[..., CheckResult]:
    """``assert_check`` as a fixture: ``gradcheck(fn, reference, *args, wrt=..., grad=...)``.

    Returns the CheckResult when the check passes (kinks included) and fails the test with the
    worst entry, the numbers and what to do next when it does not.
    """
    from harness.judge.check import assert_check

    return assert_check
