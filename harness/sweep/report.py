"""The error-versus-h report: `gradcheck report`, also written by `gradcheck run`.

Writes REPORT_DIR/report.md (tabulate tables), report.html (one self-contained page, plots
embedded as base64 PNG data URIs), sweep.json (every point) and the PNG plots, all published
together (`files.publish`). `report_files` renders them without writing, for the command line,
which sweeps in its worker process (harness/suite/run.py) and publishes them with results.json.
The explanatory text is generated from the measurements (`harness.sweep.explain`).
"""

from __future__ import annotations

import base64
import html
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tabulate import tabulate

from harness.files import ANY_FILE, OutputKind, dumps_json, publish
from harness.suite.case import Case
from harness.sweep.explain import case_rows, explanation, headline_rows, num_text
from harness.sweep.model import CaseSweep, array_numbers

SWEEP_FORMAT, SWEEP_VERSION = "gradcheck-sweep", 1
CURVE_HEADERS = (
    "case",
    "arg",
    "scheme",
    "trunc. slope",
    "trunc. decades",
    "best h",
    "best error",
    "model best h",
    "model best error",
    "best h / model",
    "fitted min h",
    "fitted / model",
    "error at h=1e-4",
    "non-finite",
)


def curve_rows(sweeps: Sequence[CaseSweep], dtype: str) -> list[list[str]]:
    """One row per curve of the given dtype.

    Args:
      sweeps: case sweeps.
      dtype: "float64" or "float32".

    Returns:
      Rows matching CURVE_HEADERS.
    """
    rows = []
    for sweep in sweeps:
        for c in sweep.curves:
            if c.dtype != dtype:
                continue
            fit = c.truncation
            ratio = None if c.best_h is None else c.best_h / c.model_best_h
            fitted = None if c.fitted_best_h is None else c.fitted_best_h / c.model_best_h
            rows.append(
                [
                    sweep.name,
                    f"{c.arg} ({c.count} {c.mode})",
                    c.scheme,
                    "—" if fit.slope is None else f"{fit.slope:.3f}",
                    f"{fit.decades:.2f}",
                    num_text(c.best_h),
                    num_text(c.best_error),
                    num_text(c.model_best_h) + ("" if c.model_interior else " (edge)"),
                    num_text(c.model_best_error),
                    "—" if ratio is None else f"{ratio:.2g}",
                    num_text(c.fitted_best_h),
                    "—" if fitted is None else f"{fitted:.2g}",
                    num_text(c.seed_error),
                    str(c.nonfinite),
                ]
            )
    return rows


def sweep_settings() -> dict[str, Any]:
    """The sweep's settings (grid, step, directions) and its dtypes, as sweep.json records them.

    Returns:
      {"settings": {...}, "dtypes": [...]}; the command line asks its case worker for this, so
      that drawing and writing the report never imports JAX (measure.py does).
    """
    from harness.sweep import measure as sweep_module

    return {
        "settings": {
            "step_max": sweep_module.STEP_MAX,
            "step_min": sweep_module.STEP_MIN,
            "points_per_decade": sweep_module.POINTS_PER_DECADE,
            "seed_step": sweep_module.SEED_STEP,
            "directional_above_entries": sweep_module.DIRECTIONAL_ABOVE_ENTRIES,
            "large_case_numbers": sweep_module.LARGE_CASE_NUMBERS,
            "direction_count": sweep_module.DIRECTION_COUNT,
            "direction_seed": sweep_module.DIRECTION_SEED,
        },
        "dtypes": list(sweep_module.DTYPES),
    }


def sweep_payload(
    sweeps: Sequence[CaseSweep],
    command: Sequence[str],
    seconds: float,
    settings: dict[str, Any] | None = None,
) -> dict:
    """The sweep.json document: settings and every point; timings apart (they vary).

    Args:
      sweeps: the case sweeps.
      command: the argv.
      seconds: how long sweeping and drawing took.
      settings: `sweep_settings()`, if already known.
    """
    settings = settings or sweep_settings()
    return {
        "format": SWEEP_FORMAT,
        "version": SWEEP_VERSION,
        "command": list(command),
        "error_measure": (
            "max over entries (or directions) k of |D_num_k - D_exact_k| / max_k |D_exact_k|; "
            "null where a quotient was not finite"
        ),
        "settings": settings["settings"],
        "cases": [s.to_dict() for s in sweeps],
        "timings": {"seconds": round(seconds, 3)},
    }


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name).strip("_")


def figure_names(names: Sequence[str]) -> list[str]:
    """One PNG file name per case, all different: ``case_SLUG.png``, and ``case_SLUG-2.png``
    (and so on) for a later case whose name gives the same slug ("a/b" and "a_b"), so no case's
    figure overwrites another's.

    Args:
      names: case names, in page order.

    Returns:
      The file names, in the same order.
    """
    taken: set[str] = set()
    files = []
    for name in names:
        base = f"case_{_slug(name)}"
        candidate, n = f"{base}.png", 1
        while candidate.lower() in taken:  # lower: case-insensitive file systems too
            n += 1
            candidate = f"{base}-{n}.png"
        taken.add(candidate.lower())
        files.append(candidate)
    return files


def sweep_or_skip(case: Case) -> CaseSweep:
    """`measure.sweep_case`, or a CaseSweep marked skipped with the reason when sweeping raised
    (a reference that raises or is not scalar, a non-finite gradient): one case's problem never
    stops the report.

    Args:
      case: the case.

    Returns:
      Its CaseSweep.
    """
    from harness.sweep import measure as sweep_module

    try:
        return sweep_module.sweep_case(case)
    except Exception as exc:  # noqa: BLE001 - the case's own code raised; the checks said so
        text = str(exc).strip().splitlines()
        what = f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
        return CaseSweep(case.name, case.source, skipped=f"sweeping raised {what}")


# (file name, caption, drawing function, its arguments, the PNG bytes to come)
_Job = tuple[str, str, Callable[..., bytes], tuple, Future]


class _Inline:
    """Stands in for a process pool: runs each job at once, here."""

    def submit(self, fn: Callable[..., bytes], *args: Any) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, cancel_futures: bool = False) -> None:
        """Nothing to stop."""


def _figure_pool(helper: bool) -> ProcessPoolExecutor | _Inline:
    """One helper process that draws figures while this one sweeps the next case.

    Drawing a figure costs about as much as sweeping a case, and both are mostly single-threaded,
    so on two cores they overlap. The helper is spawned (no fork of a process holding JAX's
    threads) and imports only matplotlib and the JAX-free plotting modules. Spawning re-imports
    the main script unless it has an ``if __name__ == "__main__"`` guard, so only the command
    line (whose entry points have one) asks for the helper. GRADCHECK_REPORT_PROCESSES=0 draws
    everything here instead; the PNGs are the same bytes either way.
    """
    if not helper or os.environ.get("GRADCHECK_REPORT_PROCESSES", "1") == "0":
        return _Inline()
    try:
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    except (OSError, ValueError):  # no processes on this platform: draw here
        return _Inline()


def _take_back(jobs: list[_Job]) -> None:
    """Draw here the jobs the helper has not started, last first, until one has started."""
    for position in range(len(jobs) - 1, -1, -1):
        name, caption, fn, args, future = jobs[position]
        if future.done():
            continue
        if not future.cancel():  # running or taken: so is every job before it
            return
        jobs[position] = (name, caption, fn, args, _Inline().submit(fn, *args))


def _result(future: Future, fn: Callable[..., bytes], *args: Any) -> bytes:
    """The figure from the helper, or drawn here if the helper process died."""
    try:
        return future.result()
    except BrokenProcessPool:
        return fn(*args)


# Starts sweeping case i (in a page-order list) and returns a function that waits for its sweep.
StartSweep = Callable[[int], Callable[[], CaseSweep]]


def _sweep_and_draw(
    names: Sequence[str],
    numbers: Sequence[int],
    descent: bool,
    start: StartSweep,
    helper: bool,
) -> tuple[list[CaseSweep], list[tuple[str, str, bytes]]]:
    """Sweep every case and draw every figure: (sweeps, [(file name, caption, PNG bytes)]).

    Args:
      names: the case names, in page order.
      numbers: how many numbers each case's arguments hold.
      descent: draw the function_2 descent figure.
      start: starts a case's sweep; drawing the previous case's figure overlaps it when the
        sweep runs elsewhere (the command line's worker process).
      helper: draw figures in a spawned helper process (for sweeps that run here).
    """
    from harness import scratch
    from harness.sweep import plots

    pool = _figure_pool(helper)
    jobs: list[_Job] = []
    files = figure_names(names)

    def draw(name: str, caption: str, fn: Callable[..., bytes], *args: Any) -> None:
        # Submitted as soon as its data exists, so drawing overlaps the next case's sweep.
        nonlocal pool
        try:
            future = pool.submit(fn, *args)
        except BrokenProcessPool:  # the helper died (or never started): draw the rest here
            pool = _Inline()
            future = pool.submit(fn, *args)
        jobs.append((name, caption, fn, args, future))

    def draw_descent() -> None:
        draw(
            "function_2_descent.png",
            "function_2 and gradient descent",
            plots.descent_figure,
            scratch.function_2,
            scratch.numerical_gradient,
            scratch.gradient_descent,
        )

    try:
        # The largest cases first: their sweeps are the longest, and the figures of the small
        # ones are drawn meanwhile instead of all at the end. The page keeps the cases' order.
        by_size = sorted(range(len(names)), key=lambda i: -numbers[i])
        swept: dict[int, CaseSweep] = {}
        figures: dict[int, _Job] = {}
        previous: int | None = None
        if descent and not by_size:
            draw_descent()
        for position, index in enumerate(by_size):
            waiting = start(index)
            if position == 0 and descent:
                draw_descent()
            if previous is not None:
                _draw_case(draw, swept[previous], files[previous], figures, previous, jobs)
            swept[index], previous = waiting(), index
        if previous is not None:
            _draw_case(draw, swept[previous], files[previous], figures, previous, jobs)
        sweeps = [swept[i] for i in range(len(names))]
        jobs += [figures[i] for i in sorted(figures)]
        # Drawn here while the helper works through its queue; then this process takes the
        # queue from the back until the two meet. The summary comes first on the page.
        summary = plots.summary_figure(sweeps)
        _take_back(jobs)
        images = [("summary.png", "Every forward and central curve", summary)]
        images += [(name, caption, _result(f, fn, *args)) for name, caption, fn, args, f in jobs]
    finally:
        pool.shutdown(cancel_futures=True)
    return sweeps, images


def _draw_case(draw, sweep: CaseSweep, file: str, figures: dict, index: int, jobs: list) -> None:
    from harness.sweep import plots

    if sweep.curves:
        draw(file, sweep.name, plots.case_figure, sweep)
        figures[index] = jobs.pop()


Table = tuple[list[list[str]], Sequence[str]]  # (rows, headers) for tabulate


@dataclass(frozen=True)
class ReportText:
    """What report.md and report.html both show, computed once from the sweeps."""

    paragraphs: list[str]
    cases: Table  # whole gradient per case
    headline: Table  # best errors per argument
    curves: dict[str, Table]  # every curve, per dtype
    skipped: list[tuple[str, str]]  # (case, why it was not swept)


def report_text(sweeps: Sequence[CaseSweep], dtypes: Sequence[str] | None = None) -> ReportText:
    """The explanation and the tables of the report.

    Args:
      sweeps: case sweeps.
      dtypes: the dtypes swept (default: measure.DTYPES).

    Returns:
      The ReportText.
    """
    dtypes = sweep_settings()["dtypes"] if dtypes is None else dtypes
    return ReportText(
        paragraphs=explanation(sweeps),
        cases=case_rows(sweeps),
        headline=headline_rows(sweeps),
        curves={dtype: (curve_rows(sweeps, dtype), CURVE_HEADERS) for dtype in dtypes},
        skipped=[(s.name, s.skipped) for s in sweeps if s.skipped],
    )


def render_markdown(
    text: ReportText, images: Sequence[tuple[str, str, bytes]], seconds: float
) -> str:
    """report.md: explanation, tables, and links to the PNG files."""
    parts = ["# Error versus h: forward, backward and central differences", ""]
    parts += [*text.paragraphs, ""]
    parts += ["## Whole gradient per case, float64 (every argument at one h)", ""]
    parts += [tabulate(*text.cases, tablefmt="github", disable_numparse=True), ""]
    parts += ["## Best errors per argument, float64", ""]
    parts += [tabulate(*text.headline, tablefmt="github", disable_numparse=True), ""]
    for dtype, table in text.curves.items():
        parts += [f"## Every curve, {dtype}", ""]
        parts += [tabulate(*table, tablefmt="github", disable_numparse=True), ""]
    if text.skipped:
        parts += ["## Not swept", ""] + [f"- {name}: {why}" for name, why in text.skipped] + [""]
    parts += ["## Plots", ""]
    parts += [f"![{caption}]({name})" for name, caption, _ in images]
    parts += ["", f"_Sweep and report generated in {seconds:.1f} s._", ""]
    return "\n".join(parts)


CSS = """
body { font-family: sans-serif; max-width: 1250px; margin: 1em auto; padding: 0 1em; }
table { border-collapse: collapse; font-size: 12px; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: left; }
th { background: #eee; } img { max-width: 100%; border: 1px solid #ddd; margin: 0.5em 0; }
figure { margin: 0 0 1.5em; } figcaption { font-size: 13px; color: #444; }
"""


def render_html(text: ReportText, images: Sequence[tuple[str, str, bytes]], seconds: float) -> str:
    """report.html: one page, no external resources (plots as data URIs)."""
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>gradcheck: error versus h</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Error versus h: forward, backward and central differences</h1>",
    ]
    out += [f"<p>{html.escape(p)}</p>" for p in text.paragraphs if p]
    out.append("<h2>Whole gradient per case, float64 (every argument at one h)</h2>")
    out.append(tabulate(*text.cases, tablefmt="html", disable_numparse=True))
    out.append("<h2>Best errors per argument, float64</h2>")
    out.append(tabulate(*text.headline, tablefmt="html", disable_numparse=True))
    out.append("<h2>Plots</h2>")
    for _, caption, data in images:
        encoded = base64.b64encode(data).decode("ascii")
        out.append(
            f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    for dtype, table in text.curves.items():
        out.append(f"<h2>Every curve, {dtype}</h2>")
        out.append(tabulate(*table, tablefmt="html", disable_numparse=True))
    if text.skipped:
        out.append("<h2>Not swept</h2><ul>")
        out += [f"<li>{html.escape(name)}: {html.escape(why)}</li>" for name, why in text.skipped]
        out.append("</ul>")
    out.append(f"<p><em>Sweep and report generated in {seconds:.1f} s.</em></p></body></html>")
    return "\n".join(out) + "\n"


def report_files(
    names: Sequence[str],
    numbers: Sequence[int],
    descent: bool,
    start: StartSweep,
    command: Sequence[str] = (),
    helper_process: bool = False,
    settings: dict[str, Any] | None = None,
) -> tuple[dict[str, bytes | str], float, list[CaseSweep]]:
    """Sweep the cases and render every report file, writing nothing.

    Args:
      names: the case names, in page order.
      numbers: how many numbers each case's arguments hold (big ones are swept first).
      descent: draw the function_2 descent figure.
      start: starts sweeping case i and returns a function that waits for its CaseSweep.
      command: the argv, recorded in sweep.json.
      helper_process: draw figures in a spawned helper process (see `write_report`).
      settings: `sweep_settings()`, if already known (the command line's worker gives them).

    Returns:
      (file name -> content, seconds taken, the CaseSweeps in page order).
    """
    started = time.perf_counter()
    sweeps, images = _sweep_and_draw(names, numbers, descent, start, helper_process)
    seconds = time.perf_counter() - started
    settings = settings or sweep_settings()
    text = report_text(sweeps, settings["dtypes"])
    files: dict[str, bytes | str] = {name: data for name, _, data in images}
    files["sweep.json"] = dumps_json(sweep_payload(sweeps, command, seconds, settings))
    files["report.md"] = render_markdown(text, images, seconds)
    files["report.html"] = render_html(text, images, seconds)
    return files, time.perf_counter() - started, sweeps


# What each report file must be if it already exists (files.publish replaces nothing else).
REPORT_KINDS = {
    "sweep.json": OutputKind("gradcheck-sweep file", json=(SWEEP_FORMAT, SWEEP_VERSION)),
    "report.md": OutputKind("error-versus-h report", marker=b"# Error versus h"),
    "report.html": OutputKind("error-versus-h report", marker=b"gradcheck: error versus h"),
}
PNG_KIND = OutputKind("PNG plot", marker=b"\x89PNG")


def report_kinds(files: Sequence[str]) -> dict[str, OutputKind]:
    """The OutputKind of each report file name (the PNGs by their extension)."""
    return {
        name: REPORT_KINDS.get(name, PNG_KIND if name.endswith(".png") else ANY_FILE)
        for name in files
    }


def write_report(
    cases: Sequence[Case],
    report_dir: str | Path,
    command: Sequence[str] = (),
    helper_process: bool = False,
) -> dict[str, Any]:
    """Sweep the cases in this process and write report.md, report.html, sweep.json and the PNGs.

    Args:
      cases: the cases (those without a numerical check are listed as not swept).
      report_dir: output folder.
      command: the argv, recorded in sweep.json.
      helper_process: draw figures in a spawned helper process while sweeping (a script
        calling this needs an ``if __name__ == "__main__"`` guard).

    Returns:
      {"paths": [written files], "seconds": wall time, "sweeps": the CaseSweeps}.
    """
    from harness import scratch

    def start(index: int) -> Callable[[], CaseSweep]:
        done = sweep_or_skip(cases[index])
        return lambda: done

    files, seconds, sweeps = report_files(
        [c.name for c in cases],
        [array_numbers(c.args) for c in cases],
        any(c.fn is scratch.function_2 for c in cases),
        start,
        command,
        helper_process,
    )
    paths = publish(report_dir, files, report_kinds(list(files)))
    return {"paths": paths, "seconds": seconds, "sweeps": sweeps}
