"""The report's figures, rendered with matplotlib's Agg backend straight to PNG bytes.

Figures are built with the object API (``Figure``), not pyplot, so no global state or display is
touched and the same data gives the same picture.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

# sweep_model, not sweep: figures are drawn in a process that never imports JAX.
from harness.sweep.model import SEED_STEP, CaseSweep, Curve
from harness.sweep.recommend import checker_step

# Each scheme by colour AND by line and marker, so the curves stay apart in grey print and for
# readers who do not tell blue from green: forward filled circles on a solid line, backward
# hollow triangles on a dashed line (it often lies on top of forward), central squares.
STYLES = {
    "forward": {"color": "tab:blue", "marker": "o", "ls": "-", "mfc": "tab:blue", "ms": 3.5},
    "backward": {"color": "tab:green", "marker": "v", "ls": "--", "mfc": "none", "ms": 6},
    "central": {"color": "tab:orange", "marker": "s", "ls": "-", "mfc": "tab:orange", "ms": 3.5},
}
# Backward lowest, so where it lies on forward its larger hollow triangles frame forward's dots.
ZORDER = {"backward": 2.0, "forward": 2.2, "central": 2.4}
FLOOR = 1e-18  # exact zeros are drawn here, at the bottom of the log axis
# Errors live below TOP; the band above it holds a cross for every step whose quotients were
# not finite (the step left the function's domain), one row per scheme.
TOP, BAND_TOP = 10.0, 1e4
NON_FINITE_ROW = {"forward": 30.0, "backward": 150.0, "central": 800.0}
BOOK = {"color": "k", "lw": 1.0, "ls": "-."}
CHECKER = {"central": {"color": "tab:red", "lw": 1.3, "ls": "-"}}
CHECKER["one-sided"] = {"color": "tab:purple", "lw": 1.3, "ls": (0, (2, 1.5))}
DPI = 100  # 100 dpi on a 11-inch figure: about 1100 pixels, the page's width; 9-10 pt text


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _points(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """(h, error): exact zeros at FLOOR, errors above TOP at TOP (the band above is for points
    that were not finite), nan where not finite."""
    h = np.array(curve.h)
    error = np.array([np.nan if e is None else min(max(e, FLOOR), TOP) for e in curve.error])
    return h, error


def _below_top(values: Sequence[float]) -> np.ndarray:
    """Model values with those above TOP left out (nan), so no line enters the band."""
    values = np.maximum(np.asarray(values, dtype=float), FLOOR)
    return np.where(values <= TOP, values, np.nan)


def _draw_steps(ax, dtype: str, labels: bool) -> None:
    """The checker's default steps of this dtype (central and one-sided) and the book's 1e-4,
    as vertical lines, each with its value written beside it."""
    lines = [
        (checker_step(dtype, "central"), CHECKER["central"], "checker"),
        (checker_step(dtype, "forward"), CHECKER["one-sided"], "checker 1-sided"),
        (SEED_STEP, BOOK, "book"),
    ]
    for h, style, name in lines:
        ax.axvline(h, **style, zorder=1)
        if labels:
            ax.text(
                h * 1.25,
                2e-17,
                f"{name} {_short(h)}",
                rotation=90,
                fontsize=7.5,
                color=style["color"],
                va="bottom",
            )


def _short(h: float) -> str:
    """``6.1e-6``, ``1e-4``: a step as the plots label it."""
    mantissa, exponent = f"{h:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def _draw_domain_band(ax) -> None:
    ax.axhspan(TOP, BAND_TOP, color="#f2f2f2", zorder=0)
    ax.text(2e-16, 2.2 * TOP, "not finite", fontsize=7.5, color="#555", va="bottom")


def _draw_curves(ax, curves: Sequence[Curve], title: str) -> int:
    """One axis: every scheme's measured curve, model, best points and non-finite steps.

    Returns:
      How many points were not finite.
    """
    _log_axes(ax)
    nonfinite = 0
    for curve in curves:
        style = STYLES[curve.scheme]
        colour = style["color"]
        h, error = _points(curve)
        ax.plot(h, error, lw=1.2, zorder=ZORDER[curve.scheme], **style)
        if curve.scheme != "backward":  # backward's model is forward's: |f''| is the same
            # The model's total as a wide pale band, its truncation side dotted.
            model, truncation = _below_top(curve.model), _below_top(curve.model_truncation)
            ax.plot(h, model, "-", lw=5, color=colour, alpha=0.2, solid_capstyle="butt")
            ax.plot(h, truncation, ":", lw=1, color=colour)
        lost = h[np.isnan(error)]
        nonfinite += len(lost)
        if len(lost):
            row = NON_FINITE_ROW[curve.scheme]
            ax.plot(lost, np.full(len(lost), row), "x", ms=4, mew=1.2, color=colour)
        if curve.best_h is not None:
            ax.plot(
                [curve.best_h], [max(curve.best_error, FLOOR)], "*", ms=13, color=colour, mec="k"
            )
        if curve.fitted_best_h is not None:
            ax.plot(
                [curve.fitted_best_h],
                [max(curve.fitted_best_error, FLOOR)],
                "D",
                ms=6,
                mfc="none",
                mec=colour,
                mew=1.5,
            )
    if curves:
        ax.plot(h, _below_top(curves[0].model_rounding), ":", lw=1, color="grey")
        _draw_steps(ax, curves[0].dtype, labels=True)
    _draw_domain_band(ax)
    ax.set_ylim(1e-17, BAND_TOP)
    ax.set_xlabel("h")
    ax.set_ylabel("relative error")
    # y given: matplotlib then skips placing the title above the ticks (a tight-bbox pass)
    ax.set_title(title, fontsize=10, y=1.01)
    ax.grid(True, which="major", alpha=0.3)
    _light_ticks(ax)
    return nonfinite


def _decade(value: float, _position: object = None) -> str:
    return f"1e{round(np.log10(value)):d}" if value > 0 else "0"


X_TICKS = [10.0**k for k in range(-16, 0, 3)]  # 1e-16 ... 1e-1
Y_TICKS = [10.0**k for k in range(-16, 1, 4)]  # 1e-16 ... 1e0


def _log_axes(ax) -> None:
    """Log scales set once, before anything is drawn: ``loglog`` sets them again on every call,
    and each time matplotlib rebuilds the ticks (a third of a figure's time)."""
    ax.set_xscale("log")
    ax.set_yscale("log")


def _light_ticks(ax) -> None:
    """Fixed labelled decades and no minor ticks: tick-label layout was most of the report's
    time (thousands of text extents for log axes), and minor ticks carry no information here.
    Labels are plain text ("1e-8"): matplotlib's default 10^n labels go through its mathtext
    parser, which was 40% of a figure's time."""
    for axis, ticks in ((ax.xaxis, X_TICKS), (ax.yaxis, Y_TICKS)):
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_minor_locator(NullLocator())
        axis.set_major_formatter(FuncFormatter(_decade))


def _legend_handles(ax) -> tuple[list, list[str]]:
    """Legend entries for everything a case or summary figure draws, on invisible artists."""
    entries = [(ax.plot([], [], lw=1.2, **STYLES[s])[0], f"{s} (measured)") for s in STYLES]
    entries += [
        (ax.plot([], [], "-", lw=5, color="k", alpha=0.2)[0], "model total (pale band)"),
        (ax.plot([], [], "k:", lw=1)[0], "model truncation; grey: rounding ε/h"),
        (ax.plot([], [], "k*", ms=10)[0], "best h (lowest point)"),
        (ax.plot([], [], "D", ms=6, mfc="none", mec="k", mew=1.5)[0], "minimum of the fitted V"),
        (ax.plot([], [], **CHECKER["central"])[0], "checker's central h = ε^(1/3)"),
        (ax.plot([], [], **CHECKER["one-sided"])[0], "checker's one-sided h = ε^(1/2)"),
        (ax.plot([], [], **BOOK)[0], "book's h = 1e-4"),
        (ax.plot([], [], "kx", ms=5, mew=1.2)[0], "not finite (left the domain)"),
    ]
    return [h for h, _ in entries], [label for _, label in entries]


def case_figure(sweep: CaseSweep) -> bytes:
    """Error against h for every argument (rows) and dtype (columns) of one case.

    Args:
      sweep: the case's curves.

    Returns:
      PNG bytes.
    """
    args = list(dict.fromkeys(c.arg for c in sweep.curves))
    dtypes = list(dict.fromkeys(c.dtype for c in sweep.curves))
    # A fixed layout: constrained layout measured every tick label again (half the report's time).
    legend_height, title_height = 0.95, 0.6
    fig = Figure(figsize=(5.5 * len(dtypes), 3.9 * len(args) + legend_height + title_height))
    # A figure title at a fixed place (suptitle would be laid out against the axes' titles).
    fig.text(0.5, 1 - 0.12 / fig.get_figheight(), sweep.name, ha="center", va="top", fontsize=12)
    fig.subplots_adjust(
        left=0.08,
        right=0.98,
        top=1 - title_height / fig.get_figheight(),
        bottom=(legend_height + 0.45) / fig.get_figheight(),
        hspace=0.42,
        wspace=0.2,
    )
    axes = fig.subplots(len(args), len(dtypes), squeeze=False)
    for row, arg in enumerate(args):
        for col, dtype in enumerate(dtypes):
            curves = [c for c in sweep.curves if c.arg == arg and c.dtype == dtype]
            mode = curves[0].mode if curves else ""
            _draw_curves(axes[row][col], curves, f"{arg} ({mode}), {dtype}")
    handles, labels = _legend_handles(axes[0][0])
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8.5, frameon=False)
    return _png(fig)


def summary_figure(sweeps: Sequence[CaseSweep]) -> bytes:
    """Every forward and central curve of every case, float64 and float32 side by side.

    Args:
      sweeps: all case sweeps.

    Returns:
      PNG bytes.
    """
    fig = Figure(figsize=(11, 4.6))
    fig.subplots_adjust(left=0.07, right=0.98, top=0.93, bottom=0.12, wspace=0.2)
    axes = fig.subplots(1, 2)
    for ax, dtype in zip(axes, ("float64", "float32"), strict=True):
        _log_axes(ax)
        for sweep in sweeps:
            for curve in sweep.curves:
                if curve.dtype != dtype or curve.scheme == "backward":
                    continue
                h, error = _points(curve)
                style = STYLES[curve.scheme]
                ax.plot(h, error, style["ls"], lw=0.8, alpha=0.45, color=style["color"])
                if curve.best_h is not None:
                    ax.plot(
                        [curve.best_h],
                        [max(curve.best_error, FLOOR)],
                        style["marker"],
                        ms=4.5,
                        color=style["color"],
                        mec="k",
                        mew=0.4,
                    )
        _draw_steps(ax, dtype, labels=True)
        for scheme in ("forward", "central"):
            ax.plot([], [], label=scheme, lw=1.2, **STYLES[scheme])
        ax.plot([], [], **CHECKER["central"], label="checker's central h")
        ax.plot([], [], **CHECKER["one-sided"], label="checker's one-sided h")
        ax.plot([], [], **BOOK, label="book's h = 1e-4")
        ax.set_ylim(1e-17, TOP)
        ax.set_title(f"all cases, {dtype} (markers: each curve's best h)", fontsize=10, y=1.01)
        ax.set_xlabel("h")
        ax.set_ylabel("relative error")
        ax.grid(True, alpha=0.3)
        _light_ticks(ax)
        ax.legend(fontsize=8, loc="lower left")
    return _png(fig)


def descent_figure(
    function: object,
    gradient: object,
    descend: object,
    start: Sequence[float] = (-3.0, 4.0),
    lr: float = 0.1,
    steps: int = 20,
) -> bytes:
    """The seed note's picture: contours of function_2, its negative gradient field, and the
    gradient-descent path from ``start``.

    Args:
      function: f(x) for x of shape (2,) (the NumPy function_2).
      gradient: numerical_gradient(f, x), as in the note's quiver plot.
      descend: gradient_descent(f, init_x, lr, step_num) returning (x, history).
      start: the starting point.
      lr: learning rate.
      steps: number of steps.

    Returns:
      PNG bytes.
    """
    axis = np.linspace(-4.5, 4.5, 181)
    grid_x, grid_y = np.meshgrid(axis, axis)
    values = function(np.stack([grid_x, grid_y], axis=-1))
    arrows = np.arange(-4.0, 4.01, 0.5)
    arrow_x, arrow_y = np.meshgrid(arrows, arrows)
    field = np.array(
        [
            gradient(function, np.array([a, b]))
            for a, b in zip(arrow_x.ravel(), arrow_y.ravel(), strict=True)
        ]
    )
    _, history = descend(function, np.array(start, dtype=np.float64), lr=lr, step_num=steps)
    fig = Figure(figsize=(6, 5.4), layout="constrained")
    ax = fig.subplots()
    contours = ax.contour(grid_x, grid_y, values, levels=12, cmap="viridis", linewidths=0.8)
    ax.clabel(contours, fontsize=7)
    ax.quiver(
        arrow_x.ravel(), arrow_y.ravel(), -field[:, 0], -field[:, 1], angles="xy", color="#666"
    )
    ax.plot(history[:, 0], history[:, 1], "o-", color="tab:red", ms=4, label="gradient descent")
    ax.plot([0], [0], "k+", ms=12, label="minimum (0, 0)")
    ax.set_title(f"function_2: −∇f and descent from {tuple(start)}, lr={lr}, {steps} steps")
    ax.set_xlabel("x0")
    ax.set_ylabel("x1")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)
