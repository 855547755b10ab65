"""`gradcheck run`: check every case and print a table of verdicts."""

from __future__ import annotations

import argparse
import shlex
import sys
import textwrap
import time
from pathlib import Path

from harness.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_case_selection,
    add_report_dir,
    check_report_dir,
    collect_cases,
    publish_outputs,
    stop_if_interrupted,
    timeout_seconds,
)
from harness.judge.tolerance import SCHEMES
from harness.results import CheckResult
from harness.suite.run import DEFAULT_TIMEOUT


def register(sub: argparse._SubParsersAction) -> None:
    """Add `gradcheck run` to the command's subparsers."""

    p = sub.add_parser(
        "run",
        help="check every case and print a table of verdicts",
        description=(
            "Collect the case files under PATH (default cases/), check every case, print a table "
            "(case, parameters, check, mode, abs error, rel error, tolerance, err/tol, catches, "
            "verdict) with a legend, and write REPORT_DIR/results.json (and, with --report, the "
            "error-versus-h report). While it runs, stderr shows the case and check in progress "
            "on a terminal, and one line per finished case otherwise (or with -q, or when CI is "
            "set); NO_COLOR turns colour off."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_case_selection(p, "run")
    p.add_argument(
        "--scheme",
        choices=SCHEMES,
        default=None,
        help="finite-difference scheme for every case (default: each case's own, usually central)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument(
        "--probe",
        "--fast",
        dest="probe",
        action="store_true",
        help=(
            "probe mode everywhere: check each case's numerical gradient by K Rademacher probes "
            "through all its differentiated arguments at once (2K evaluations in all); an error "
            "in any entry above its full-mode tolerance is missed with probability <= 2^-K, and "
            "a probe that disagrees is bisected down to the entries (docs/fast-mode.md). "
            "Default: probes for arguments of more than 5,000 entries, every entry below"
        ),
    )
    mode.add_argument(
        "--full",
        action="store_true",
        help="the per-entry check everywhere (2n evaluations per argument, with the case's "
        "numerical_gradient routine): the seed's check of all 39,760 network parameters",
    )
    p.add_argument(
        "--probes",
        "--directions",
        dest="probes",
        type=int,
        default=None,
        metavar="K",
        help="probes per check (default 20: miss probability 2^-20, about 1e-6)",
    )
    add_report_dir(p, "where results.json goes")
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only failures and the summary (no live display: one stderr line per case "
        "that did not pass)",
    )
    p.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="stop a case that runs longer and report it as an error "
        f"(default {DEFAULT_TIMEOUT:g}; 0 = no limit)",
    )
    report = p.add_mutually_exclusive_group()
    report.add_argument(
        "--report",
        action="store_true",
        help="also write the error-versus-h report (report.md/.html, sweep.json, plots; see "
        "`gradcheck report --help`) after the checks",
    )
    report.add_argument(
        "--no-report",
        dest="report",
        action="store_false",
        help="no report: the default since the report became opt-in, accepted so older "
        "commands keep working",
    )
    p.add_argument(
        "-n",
        "--workers",
        type=_workers,
        metavar="N",
        help="run on N pytest-xdist workers ('auto': one per CPU); same verdicts and results.json",
    )
    p.set_defaults(handler=cmd_run, report=False)


def _workers(text: str) -> str:
    from harness.cli.parallel import workers_arg

    return workers_arg(text)


def cmd_run(args: argparse.Namespace) -> int:
    """`gradcheck run`."""
    from harness.files import dumps_json
    from harness.judge.check import format_failure
    from harness.results import RESULTS_KIND, results_payload
    from harness.suite.run import CaseRunner

    started = time.time()
    command = ["gradcheck", *sys.argv[1:]]
    # Not type=positive_int: main() returns 2 here rather than raising SystemExit from argparse
    # (tests/judge/test_probes.py asserts the return value).
    if args.probes is not None and args.probes < 1:
        raise UsageError(f"--probes must be at least 1, got {args.probes}")
    if args.workers and (args.probe or args.full or args.probes is not None):
        raise UsageError("-n does not combine with --probe/--full/--probes yet; drop one")
    # Every output path is checked (and resolved, once) before any work.
    report_dir = check_report_dir(args.report_dir, args.report)
    overrides: dict = {"scheme": args.scheme} if args.scheme else {}
    if args.probe:
        overrides["mode"] = "probe"
    if args.full:
        overrides["mode"] = "full"
    if args.probes is not None:
        overrides["probes"] = args.probes
    timeout = args.timeout or None
    with CaseRunner(timeout) as runner:
        cases, errors = collect_cases(runner, args.paths, args.keywords)
        if args.workers:
            from harness.cli.parallel import run_parallel
            from harness.cli.progress import open_progress

            with open_progress(len(cases), args.quiet) as display:
                results, errors = run_parallel(
                    args.paths or ["cases"],
                    args.workers,
                    args.keywords,
                    args.scheme,
                    timeout,
                    display,
                )
        else:
            results = _check_all(runner, cases, overrides, args.quiet)
        versions = runner.environment()
        _print_results(results, args.quiet)
        for err in errors:
            print(f"collection error: {err.describe()}", file=sys.stderr)
        for r in results:
            if not r.ok:
                print("\n" + format_failure(r, reproduce_command(r)), file=sys.stderr)
        payload = results_payload(results, errors, command, started, versions)
        files: dict = {"results.json": dumps_json(payload)}
        kinds: dict = {"results.json": RESULTS_KIND}
        with_report = args.report and bool(cases)
        if with_report:
            written, seconds = _report(runner, cases, results, command, args.quiet)
            files.update(written)
            kinds.update(_report_kinds(written))
    publish_outputs(report_dir, files, kinds)
    if with_report:
        print(f"error-versus-h report in {seconds:.1f}s: {args.report_dir}/report.html")
    elif args.report:
        print("no error-versus-h report: no case was collected")
    failed = sum(not r.ok for r in results)
    hint = ""
    if not with_report and cases:
        hint = "; no error-versus-h report (`gradcheck run --report` or `gradcheck report`)"
    print(
        f"\n{len(results) - failed} passed, {failed} failed"
        + (f", {len(errors)} collection error(s)" if errors else "")
        + f" in {time.time() - started:.1f}s; results in {Path(args.report_dir) / 'results.json'}"
        + hint
    )
    return EXIT_FAILED if failed or errors else EXIT_OK


def _check_all(runner, cases, overrides: dict, quiet: bool) -> list[CheckResult]:
    """Check every case in the runner's worker, showing progress on stderr."""
    from harness.cli.progress import open_progress

    results = []
    with open_progress(len(cases), quiet) as display:
        for info in cases:
            display.started(info.name)
            result = runner.check(info, on_progress=display.update, **overrides)
            display.result(result)
            results.append(result)
            stop_if_interrupted()
    return results


def _print_results(results: list[CheckResult], quiet: bool) -> None:
    """The table (only the cases that did not pass, with -q), its legend and, where probes
    judged a check, what they could have missed."""
    import shutil

    from harness.cli.progress import VERDICT_STYLES, color_wanted
    from harness.cli.table import fitting_columns, legend, power_statement, results_table

    shown = [r for r in results if not r.ok] if quiet else results
    tty = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if tty else None
    if shown:
        columns, case_width = fitting_columns(shown, width)
        color = color_wanted(sys.stdout)
        table = results_table(
            shown, columns=columns, case_width=case_width, color=color, styles=VERDICT_STYLES
        )
        print(table)
        print("\n" + legend(shown, columns, min(width or 100, 100)))
    power = power_statement(results)
    if power:
        print(textwrap.fill(power, 100, subsequent_indent="  "))


def _report(runner, cases, results, command, quiet: bool) -> tuple[dict, float]:
    """The error-versus-h report's files, swept in the runner's worker (each case under the time
    limit) while this process draws; a case whose check ended in an error is not swept."""
    from harness.cli.progress import SWEEP_LABELS, open_progress, watched_sweeps
    from harness.results import ERROR
    from harness.sweep.model import CaseSweep
    from harness.sweep.report import report_files

    verdicts = {r.name: r.verdict for r in results}

    def start(index: int):
        info = cases[index]
        stop_if_interrupted()
        if verdicts.get(info.name) == ERROR:
            skipped = CaseSweep(
                info.name, info.source, skipped="not swept: its check ended in an error"
            )
            return lambda: skipped
        return runner.start_sweep(info)

    names = [c.name for c in cases]
    with open_progress(len(cases), quiet, SWEEP_LABELS) as display:
        files, seconds, _ = report_files(
            names,
            [c.numbers for c in cases],
            any(c.descent for c in cases),
            watched_sweeps(start, names, display),
            command,
            settings=runner.sweep_settings(),
        )
    return files, seconds


def _report_kinds(files: dict) -> dict:
    from harness.sweep.report import report_kinds

    return report_kinds(list(files))


def reproduce_command(result: CheckResult) -> str:
    """The command that reruns just this case, quoted for a POSIX shell."""
    from harness.files import relative_path
    from harness.suite.collect import split_source

    path = relative_path(split_source(result.source)[0] if result.source else "cases/")
    return f"gradcheck run {shlex.quote(path)} -k {_single_quoted(result.name)}"


def _single_quoted(text: str) -> str:
    """`text` in single quotes for a POSIX shell, whatever it holds (quotes, newlines, $)."""
    return "'" + text.replace("'", "'\"'\"'") + "'"
