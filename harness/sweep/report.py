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
import re
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
from harness.sweep import recommend
from harness.sweep.explain import (
    DESCENT_CAPTION,
    SUMMARY_CAPTION,
    case_caption,
    case_rows,
    explanation,
    headline_rows,
    num_text,
)
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

TITLE = "Error versus h: which step should I use?"
SUMMARY_FIGURE, DESCENT_FIGURE = "summary.png", "function_2_descent.png"


@dataclass(frozen=True)
class CaseSection:
    """One case's part of the report: its recommended-step box, figure and caption."""

    name: str
    anchor: str
    figure: str  # file name of the PNG
    caption: str
    at_domain_edge: bool
    sentences: list[str]  # the box in words
    box: Table  # the box's table


@dataclass(frozen=True)
class ReportText:
    """What report.md and report.html both show, computed once from the sweeps."""

    lesson: list[str]  # the summary: which h, in words
    overall: Table  # the recommended-step box over all cases
    sections: list[CaseSection]  # per swept case
    paragraphs: list[str]  # how the curves behave
    cases: Table  # whole gradient per case
    headline: Table  # best errors per argument
    curves: dict[str, Table]  # every curve, per dtype
    skipped: list[tuple[str, str]]  # (case, why it was not swept)


def report_text(sweeps: Sequence[CaseSweep], dtypes: Sequence[str] | None = None) -> ReportText:
    """The summary, recommended steps, per-case sections, explanation and tables of the report.

    Args:
      sweeps: case sweeps.
      dtypes: the dtypes swept (default: measure.DTYPES).

    Returns:
      The ReportText.
    """
    dtypes = sweep_settings()["dtypes"] if dtypes is None else dtypes
    steps = {s.case: s for s in recommend.all_case_steps(sweeps)}
    files = dict(zip((s.name for s in sweeps), figure_names([s.name for s in sweeps]), strict=True))
    sections = [
        CaseSection(
            name=s.name,
            anchor="case-" + files[s.name][len("case_") : -len(".png")],
            figure=files[s.name],
            caption=case_caption(s),
            at_domain_edge=s.at_domain_edge,
            sentences=recommend.case_sentences(steps[s.name]),
            box=recommend.case_table(steps[s.name]),
        )
        for s in sweeps
        if s.name in steps
    ]
    return ReportText(
        lesson=recommend.lesson(list(steps.values())),
        overall=recommend.overall_table(list(steps.values())),
        sections=sections,
        paragraphs=explanation(sweeps),
        cases=case_rows(sweeps),
        headline=headline_rows(sweeps),
        curves={dtype: (curve_rows(sweeps, dtype), CURVE_HEADERS) for dtype in dtypes},
        skipped=[(s.name, s.skipped) for s in sweeps if s.skipped],
    )


def _contents(text: ReportText, images: Sequence[str]) -> list[tuple[str, str, list]]:
    """The table of contents: (anchor, title, [(anchor, title)] of the subsections)."""
    entries: list[tuple[str, str, list]] = [
        ("summary", "Summary: which h?", []),
        ("recommended", "Recommended step over all cases", []),
    ]
    if text.sections:
        entries.append(("cases", "Cases", [(s.anchor, s.name) for s in text.sections]))
    entries.append(("behaviour", "How the curves behave", []))
    if DESCENT_FIGURE in images:
        entries.append(("descent", "function_2 and gradient descent", []))
    tables = [
        ("table-cases", "Whole gradient per case"),
        ("table-arguments", "Best errors per argument"),
    ]
    tables += [(f"table-curves-{dtype}", f"Every curve, {dtype}") for dtype in text.curves]
    entries.append(("tables", "Tables", tables))
    if text.skipped:
        entries.append(("not-swept", "Not swept", []))
    return entries


SUMMARY_NOTE = (
    "Errors are relative: the largest absolute error over the gradient's entries divided by the "
    "largest exact derivative, every argument at one h (as a check computes it). Each case's "
    "lowest point is read off a 5-step running median, and so are the errors at the fixed steps; "
    "the checker's step lies between grid steps and is read on a straight line in log-log. "
    + recommend.OVERALL_NOTE
)


# A number as the report writes it (6.1e-06, 1.3e4×, 0.75): kept on one line in prose, where a
# browser would otherwise break "6.1e-" from "06" at the hyphen.
PROSE_NUMBER = re.compile(r"[~−-]?\d+(?:\.\d+)?(?:e[-+]?\d+)?×?")


def _prose(text: str) -> str:
    """Escaped text whose numbers do not wrap (each in a nowrap span when it has an exponent)."""
    escaped = html.escape(text)
    return PROSE_NUMBER.sub(
        lambda m: f'<span class="n">{m[0]}</span>' if "e" in m[0] else m[0], escaped
    )


def _split_lead(line: str) -> tuple[str, str]:
    """("float64, central differences:", the rest) when a summary line opens with a short
    label ending in a colon; ("", line) otherwise."""
    lead, colon, rest = line.partition(": ")
    return (lead + ":", rest) if colon and len(lead) <= 32 else ("", line)


def _lead_markdown(line: str) -> str:
    lead, rest = _split_lead(line)
    return f"**{lead}** {rest}" if lead else rest


def _lead_html(line: str) -> str:
    lead, rest = _split_lead(line)
    body = _prose(rest)
    return f"<strong>{html.escape(lead)}</strong> {body}" if lead else body


def _md_table(table: Table) -> str:
    return tabulate(*table, tablefmt="github", disable_numparse=True)


def render_markdown(
    text: ReportText, images: Sequence[tuple[str, str, bytes]], seconds: float
) -> str:
    """report.md: summary, recommended steps, cases with their figures, explanation, tables."""
    names = [name for name, _, _ in images]
    parts = [f"# {TITLE}", "", "## Contents", ""]
    for anchor, title, children in _contents(text, names):
        parts.append(f"- [{title}](#{anchor})")
        parts += [f"  - [{child}](#{child_anchor})" for child_anchor, child in children]
    parts += ["", '<a id="summary"></a>', "", "## Summary: which h?", ""]
    parts += [f"- {_lead_markdown(line)}" for line in text.lesson] or [
        "No case had a numerical check to sweep."
    ]
    parts += ["", '<a id="recommended"></a>', "", "## Recommended step over all cases", ""]
    parts += [_md_table(text.overall), "", SUMMARY_NOTE, ""]
    if SUMMARY_FIGURE in names:
        parts += [f"![Every forward and central curve]({SUMMARY_FIGURE})", "", SUMMARY_CAPTION, ""]
    if text.sections:
        parts += ['<a id="cases"></a>', "", "## Cases", ""]
    for s in text.sections:
        edge = " (domain edge)" if s.at_domain_edge else ""
        parts += [f'<a id="{s.anchor}"></a>', "", f"### {s.name}{edge}", ""]
        parts += ["**Recommended step.** " + " ".join(s.sentences), ""]
        parts += [_md_table(s.box), ""]
        if s.figure in names:
            parts += [f"![{s.name}]({s.figure})", "", f"_{s.caption}_", ""]
    parts += ['<a id="behaviour"></a>', "", "## How the curves behave", ""]
    parts += [*text.paragraphs, ""]
    if DESCENT_FIGURE in names:
        parts += ['<a id="descent"></a>', "", "## function_2 and gradient descent", ""]
        parts += [f"![function_2 and gradient descent]({DESCENT_FIGURE})", "", DESCENT_CAPTION, ""]
    parts += ['<a id="tables"></a>', "", "## Tables", ""]
    tables = [
        ("table-cases", "Whole gradient per case, float64 (every argument at one h)", text.cases),
        ("table-arguments", "Best errors per argument, float64", text.headline),
    ]
    tables += [(f"table-curves-{d}", f"Every curve, {d}", t) for d, t in text.curves.items()]
    for anchor, title, table in tables:
        parts += [f'<a id="{anchor}"></a>', "", f"### {title}", "", _md_table(table), ""]
    if text.skipped:
        parts += ['<a id="not-swept"></a>', "", "## Not swept", ""]
        parts += [f"- {name}: {why}" for name, why in text.skipped] + [""]
    parts += [f"_Sweep and report generated in {seconds:.1f} s._", ""]
    return "\n".join(parts)


CSS = """
body { font-family: system-ui, sans-serif; font-size: 15px; line-height: 1.45; color: #222;
  max-width: 1150px; margin: 1em auto; padding: 0 1em; }
h1 { font-size: 26px; margin-bottom: 0.2em; } h2 { font-size: 21px; margin-top: 1.8em;
  border-bottom: 1px solid #ddd; } h3 { font-size: 17px; margin-top: 1.6em; }
nav { background: #f7f7f7; border: 1px solid #e2e2e2; padding: 0.3em 1em; font-size: 14px; }
nav h2 { border: none; margin: 0.4em 0; font-size: 16px; }
nav ol { margin: 0.2em 0; } nav ol ol { columns: 3 17em; font-size: 13px; }
.scroll { overflow-x: auto; margin: 0.5em 0 1.2em; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 2px 7px; text-align: left; vertical-align: top; }
th { background: #eee; } td.num, th.num { white-space: nowrap; text-align: right;
  font-variant-numeric: tabular-nums; }
.box { border: 2px solid #4a7ab5; background: #f3f7fc; border-radius: 4px; padding: 0.4em 1em;
  margin: 0.8em 0 1em; } .box h3, .box h4 { margin: 0.3em 0; color: #234; }
.box p { margin: 0.4em 0; } .lesson li { margin: 0.35em 0; }
.edge { font-size: 13px; font-weight: normal; color: #a33; }
img { max-width: 100%; border: 1px solid #ddd; } figure { margin: 0.5em 0 1.5em; }
figcaption { font-size: 13px; color: #444; max-width: 1100px; }
p.note { font-size: 13px; color: #444; } .n { white-space: nowrap; }
"""

# Columns of the report's tables that hold words; every other column holds numbers (no wrap).
TEXT_COLUMNS = frozenset({"case", "arguments", "arg", "swept along", "scheme", "dtype"})


def _html_table(table: Table) -> str:
    """A table whose number cells do not wrap (class "num"), in a box that scrolls sideways on
    a narrow window instead of squeezing the numbers."""
    rows, headers = table
    number = ' class="num"'
    numeric = [number if header not in TEXT_COLUMNS else "" for header in headers]
    out = ['<div class="scroll"><table>', "<thead><tr>"]
    out += [f"<th{n}>{html.escape(h)}</th>" for h, n in zip(headers, numeric, strict=True)]
    out.append("</tr></thead><tbody>")
    for row in rows:
        cells = [f"<td{n}>{html.escape(cell)}</td>" for cell, n in zip(row, numeric, strict=True)]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _figure(data: bytes, alt: str, caption: str) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{_prose(caption)}</figcaption></figure>"
    )


def _paragraph(text: str) -> str:
    """A paragraph whose opening words up to the first full stop are its title ("Sweep
    modes."), set in bold."""
    lead, dot, rest = text.partition(". ")
    if dot and len(lead) <= 40 and not any(ch.isdigit() for ch in lead):
        return f"<p><strong>{html.escape(lead)}.</strong> {_prose(rest)}</p>"
    return f"<p>{_prose(text)}</p>"


def render_html(text: ReportText, images: Sequence[tuple[str, str, bytes]], seconds: float) -> str:
    """report.html: one page, no external resources (plots as data URIs)."""
    data = {name: png for name, _, png in images}
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>gradcheck: error versus h</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{html.escape(TITLE)}</h1>",
        '<nav id="contents"><h2>Contents</h2><ol>',
    ]
    for anchor, title, children in _contents(text, list(data)):
        out.append(f'<li><a href="#{anchor}">{html.escape(title)}</a>')
        if children:
            out.append("<ol>")
            out += [f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in children]
            out.append("</ol>")
        out.append("</li>")
    out.append("</ol></nav>")
    out.append('<section id="summary"><h2>Summary: which h?</h2><ul class="lesson">')
    out += [f"<li>{_lead_html(line)}</li>" for line in text.lesson]
    if not text.lesson:
        out.append("<li>No case had a numerical check to sweep.</li>")
    out.append("</ul>")
    out.append('<div class="box" id="recommended"><h3>Recommended step over all cases</h3>')
    out.append(_html_table(text.overall))
    out.append(f'<p class="note">{_prose(SUMMARY_NOTE)}</p></div>')
    if SUMMARY_FIGURE in data:
        alt = "Every forward and central curve"
        out.append(_figure(data[SUMMARY_FIGURE], alt, SUMMARY_CAPTION))
    out.append("</section>")
    if text.sections:
        out.append('<section id="cases"><h2>Cases</h2>')
    for s in text.sections:
        edge = ' <span class="edge">domain edge</span>' if s.at_domain_edge else ""
        out.append(f'<section id="{s.anchor}"><h3>{html.escape(s.name)}{edge}</h3>')
        out.append('<div class="box"><h4>Recommended step</h4>')
        out += [f"<p>{_prose(line)}</p>" for line in s.sentences]
        out.append(_html_table(s.box) + "</div>")
        if s.figure in data:
            out.append(_figure(data[s.figure], s.name, s.caption))
        out.append("</section>")
    if text.sections:
        out.append("</section>")
    out.append('<section id="behaviour"><h2>How the curves behave</h2>')
    out += [_paragraph(p) for p in text.paragraphs if p]
    out.append("</section>")
    if DESCENT_FIGURE in data:
        out.append('<section id="descent"><h2>function_2 and gradient descent</h2>')
        alt = "function_2 and gradient descent"
        out.append(_figure(data[DESCENT_FIGURE], alt, DESCENT_CAPTION))
        out.append("</section>")
    out.append('<section id="tables"><h2>Tables</h2>')
    tables = [
        ("table-cases", "Whole gradient per case, float64 (every argument at one h)", text.cases),
        ("table-arguments", "Best errors per argument, float64", text.headline),
    ]
    tables += [(f"table-curves-{d}", f"Every curve, {d}", t) for d, t in text.curves.items()]
    for anchor, title, table in tables:
        out.append(f'<h3 id="{anchor}">{html.escape(title)}</h3>')
        out.append(_html_table(table))
    out.append("</section>")
    if text.skipped:
        out.append('<section id="not-swept"><h2>Not swept</h2><ul>')
        out += [f"<li>{html.escape(name)}: {html.escape(why)}</li>" for name, why in text.skipped]
        out.append("</ul></section>")
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
