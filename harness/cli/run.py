"""`gradcheck run`: check every case and print a table of verdicts."""

from __future__ import annotations

import argparse
import shlex
import sys
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
            "(case, parameters, check, max abs error, max rel error, tolerance, verdict) and write "
            "REPORT_DIR/results.json."
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
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    p.add_argument(
        "--timeout",
        type=timeout_seconds,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="stop a case that runs longer and report it as an error "
        f"(default {DEFAULT_TIMEOUT:g}; 0 = no limit)",
    )
    p.add_argument(
        "--no-report",
        action="store_true",
        help="skip the error-versus-h report (report.md/.html, sweep.json, plots; see "
        "`gradcheck report --help`); --probe skips it",
    )
    p.add_argument(
        "-n",
        "--workers",
        type=_workers,
        metavar="N",
        help="run on N pytest-xdist workers ('auto': one per CPU); same verdicts and results.json",
    )
    p.set_defaults(handler=cmd_run)


def _workers(text: str) -> str:
    from harness.cli.parallel import workers_arg

    return workers_arg(text)


def cmd_run(args: argparse.Namespace) -> int:
    """`gradcheck run`."""
    from harness.cli.table import results_table
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
    with_report = not args.probe and not args.no_report
    # Every output path is checked (and resolved, once) before any work.
    report_dir = check_report_dir(args.report_dir, with_report)
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

            results, errors = run_parallel(
                args.paths or ["cases"], args.workers, args.keywords, args.scheme, timeout
            )
        else:
            results = []
            for info in cases:
                results.append(runner.check(info, **overrides))
                stop_if_interrupted()
        versions = runner.environment()
        shown = [r for r in results if not r.ok] if args.quiet else results
        if shown:
            print(results_table(shown))
        for err in errors:
            print(f"collection error: {err.describe()}", file=sys.stderr)
        for r in results:
            if not r.ok:
                print("\n" + format_failure(r, reproduce_command(r)), file=sys.stderr)
        payload = results_payload(results, errors, command, started, versions)
        files: dict = {"results.json": dumps_json(payload)}
        kinds: dict = {"results.json": RESULTS_KIND}
        if with_report:
            written, seconds = _report(runner, cases, results, command)
            files.update(written)
            kinds.update(_report_kinds(written))
    publish_outputs(report_dir, files, kinds)
    if args.probe and not args.no_report:
        print("error-versus-h report skipped with --probe (gradcheck report writes it)")
    elif with_report:
        print(f"error-versus-h report in {seconds:.1f}s: {args.report_dir}/report.html")
    failed = sum(not r.ok for r in results)
    print(
        f"\n{len(results) - failed} passed, {failed} failed"
        + (f", {len(errors)} collection error(s)" if errors else "")
        + f" in {time.time() - started:.1f}s; results in {Path(args.report_dir) / 'results.json'}"
    )
    return EXIT_FAILED if failed or errors else EXIT_OK


def _report(runner, cases, results, command) -> tuple[dict, float]:
    """The error-versus-h report's files, swept in the runner's worker (each case under the time
    limit) while this process draws; a case whose check ended in an error is not swept."""
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

    files, seconds, _ = report_files(
        [c.name for c in cases],
        [c.numbers for c in cases],
        any(c.descent for c in cases),
        start,
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
