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
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

# sweep_model, not sweep: figures are drawn in a process that never imports JAX.
from harness.sweep.model import SEED_STEP, CaseSweep, Curve

COLOURS = {"forward": "tab:blue", "backward": "tab:green", "central": "tab:orange"}
FLOOR = 1e-18  # exact zeros are drawn here, at the bottom of the log axis
DPI = 80


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _points(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    h = np.array(curve.h)
    error = np.array([np.nan if e is None else max(e, FLOOR) for e in curve.error])
    return h, error


def _draw_curves(ax, curves: Sequence[Curve], title: str) -> None:
    for curve in curves:
        colour = COLOURS[curve.scheme]
        h, error = _points(curve)
        ax.loglog(h, error, "o-", ms=3, lw=1.2, color=colour, label=f"{curve.scheme} (measured)")
        ax.loglog(h, curve.model, "--", lw=1, color=colour, alpha=0.8)
        if curve.scheme != "backward":
            # The two sides of the model's V on their own: slope p truncation, slope -1 rounding.
            ax.loglog(h, np.maximum(curve.model_truncation, FLOOR), ":", lw=1, color=colour)
        if curve.best_h is not None:
            ax.loglog(
                [curve.best_h], [max(curve.best_error, FLOOR)], "*", ms=13, color=colour, mec="k"
            )
        if curve.fitted_best_h is not None:
            ax.loglog(
                [curve.fitted_best_h],
                [max(curve.fitted_best_error, FLOOR)],
                "D",
                ms=6,
                mfc="none",
                mec=colour,
                mew=1.5,
            )
    if curves:
        ax.loglog(h, curves[0].model_rounding, ":", lw=1, color="grey", label="rounding ε/h")
    ax.axvline(SEED_STEP, color="k", lw=0.8, ls="-.", label="seed h = 1e-4")
    ax.set_ylim(1e-17, 10)
    ax.set_xlabel("h")
    ax.set_ylabel("relative error")
    ax.set_title(title, fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    _light_ticks(ax)


def _decade(value: float, _position: object = None) -> str:
    return f"1e{round(np.log10(value)):d}" if value > 0 else "0"


def _light_ticks(ax) -> None:
    """A few labelled decades and no minor ticks: tick-label layout was most of the report's
    time (thousands of text extents for log axes), and minor ticks carry no information here.
    Labels are plain text ("1e-8"): matplotlib's default 10^n labels go through its mathtext
    parser, which was 40% of a figure's time."""
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_locator(LogLocator(base=10.0, numticks=6))
        axis.set_minor_locator(NullLocator())
        axis.set_major_formatter(FuncFormatter(_decade))


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
    fig = Figure(figsize=(5.2 * len(dtypes), 3.6 * len(args) + 0.6))
    fig.subplots_adjust(
        left=0.1,
        right=0.97,
        top=1 - 0.35 / fig.get_figheight(),
        bottom=1.0 / fig.get_figheight(),
        hspace=0.45,
        wspace=0.28,
    )
    axes = fig.subplots(len(args), len(dtypes), squeeze=False)
    for row, arg in enumerate(args):
        for col, dtype in enumerate(dtypes):
            curves = [c for c in sweep.curves if c.arg == arg and c.dtype == dtype]
            mode = curves[0].mode if curves else ""
            _draw_curves(axes[row][col], curves, f"{sweep.name} — {arg} ({mode}), {dtype}")
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles.append(axes[0][0].plot([], [], "k--", lw=1)[0])
    labels.append("model total (dotted: truncation)")
    handles.append(axes[0][0].plot([], [], "k*", ms=10)[0])
    labels.append("best h (lowest point)")
    handles.append(axes[0][0].plot([], [], "D", ms=6, mfc="none", mec="k", mew=1.5)[0])
    labels.append("minimum of the fitted V")
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    return _png(fig)


def summary_figure(sweeps: Sequence[CaseSweep]) -> bytes:
    """Every forward and central curve of every case, float64 and float32 side by side.

    Args:
      sweeps: all case sweeps.

    Returns:
      PNG bytes.
    """
    fig = Figure(figsize=(11, 4.2))
    fig.subplots_adjust(left=0.07, right=0.98, top=0.92, bottom=0.12, wspace=0.2)
    axes = fig.subplots(1, 2)
    for ax, dtype in zip(axes, ("float64", "float32"), strict=True):
        for sweep in sweeps:
            for curve in sweep.curves:
                if curve.dtype != dtype or curve.scheme == "backward":
                    continue
                h, error = _points(curve)
                colour = COLOURS[curve.scheme]
                ax.loglog(h, error, "-", lw=0.8, alpha=0.45, color=colour)
                if curve.best_h is not None:
                    ax.loglog([curve.best_h], [max(curve.best_error, FLOOR)], "o", ms=4, c=colour)
        for scheme in ("forward", "central"):
            ax.plot([], [], "-", color=COLOURS[scheme], label=scheme)
        ax.axvline(SEED_STEP, color="k", lw=0.8, ls="-.", label="seed h = 1e-4")
        ax.set_ylim(1e-17, 10)
        ax.set_title(f"all cases, {dtype} (dots: best h of each curve)", fontsize=9)
        ax.set_xlabel("h")
        ax.set_ylabel("relative error")
        ax.grid(True, alpha=0.3)
        _light_ticks(ax)
        ax.legend(fontsize=8)
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
