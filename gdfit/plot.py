"""Pictures of a descent: loss against iteration, and the path over the loss surface.

What is drawn is the loss *above its minimum*, f(θ_k) − f(θ*), with θ* the exact least-squares
solution, on a log scale: the loss itself flattens out at the residual error and a log scale of
it shows nothing once the fit is close, while f − f* keeps falling by orders of magnitude and a
linearly converging method draws a straight line. f − f* = ½(θ − θ*)ᵀH(θ − θ*) is computed from
the quadratic form (exact on this objective) rather than by subtracting two nearly equal losses.

The terminal plot uses plotext (a dependency); the image uses matplotlib, an optional extra
(``pip install 'gdfit[plot]'``). Neither is imported until a plot is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdfit.atomic import atomic_write_bytes
from gdfit.errors import OptionError
from gdfit.objective import LeastSquares, Vector
from gdfit.result import FitResult

#: Points per line in the terminal plot: more cannot be told apart on a screen.
TERMINAL_POINTS = 2000


@dataclass(frozen=True)
class Series:
    """One policy's descent: iterations, f − f* at each, and the path in data units."""

    label: str
    iterations: Vector
    excess: Vector
    w: Vector          # shape (k, d)
    b: Vector | None   # shape (k,), None without an intercept


def excess_loss(problem: LeastSquares, theta: Vector, best: Vector) -> Vector:
    """f(θ) − f(θ*) for each row of ``theta`` (k × p), from ½(θ − θ*)ᵀH(θ − θ*).

    Parameters
    ----------
    problem : LeastSquares
        The objective in data units.
    theta : ndarray, shape (k, p)
        Points (w, then b).
    best : ndarray, shape (p,)
        The minimiser θ*.
    """
    e = np.atleast_2d(theta) - best
    hess = problem.hessian()
    return np.maximum(0.5 * np.einsum("ij,jk,ik->i", e, hess, e), 0.0)


def series_of(label: str, result: FitResult, problem: LeastSquares) -> Series:
    """The :class:`Series` of a result fitted with ``history=True``."""
    if not result.history:
        raise ValueError("the result has no history; fit with history=True")
    its = np.array([r.iteration for r in result.history], dtype=np.float64)
    w = np.array([r.w for r in result.history], dtype=np.float64).reshape(len(its), -1)
    b = None if result.b is None else np.array([r.b for r in result.history], dtype=np.float64)
    theta = w if b is None else np.column_stack([w, b])
    return Series(label, its, excess_loss(problem, theta, result.lstsq_theta), w, b)


def _thin(x: Vector, y: Vector, limit: int) -> tuple[list[float], list[float]]:
    """At most ``limit`` evenly spaced points (keeping the last), without zeros or non-finites."""
    keep = np.isfinite(y) & (y > 0)
    x, y = x[keep], y[keep]
    if len(x) > limit:
        idx = np.unique(np.append(np.linspace(0, len(x) - 1, limit).astype(int), len(x) - 1))
        x, y = x[idx], y[idx]
    return x.tolist(), y.tolist()


def terminal_plot(series: Sequence[Series], *, width: int = 78, height: int = 20,
                  color: bool = False, title: str = "") -> str:
    """Loss above its minimum (log scale) against iteration, drawn with plotext, as text.

    A line reaching f − f* = 0 exactly stops where it does (a log scale cannot show 0).
    """
    import plotext as plt

    plt.clear_figure()
    plt.theme("pro" if color else "clear")
    plt.plotsize(width, height)
    plt.yscale("log")
    lows, highs = [], []
    for s in series:
        x, y = _thin(s.iterations, s.excess, TERMINAL_POINTS)
        if not y:
            continue
        lows.append(min(y))
        highs.append(max(y))
        plt.plot(x, y, label=s.label)
    if highs:
        # Ticks at powers of ten read better than plotext's fixed-point labels.
        lo, hi = int(np.floor(np.log10(min(lows)))), int(np.ceil(np.log10(max(highs))))
        stride = max(1, -(-(hi - lo) // 6))
        powers = list(range(hi, lo - 1, -stride))
        plt.yticks([10.0**k for k in powers], [f"1e{k}" for k in powers])
    title = title or "loss − least-squares minimum (log scale)"
    if len(title) > width - 4:  # plotext drops a title that does not fit
        title = title[: width - 5] + "…"
    plt.title(title)
    plt.xlabel("iteration")
    text: str = plt.build()
    plt.clear_figure()
    return text if color else plt.uncolorize(text)


def _pyplot(option: str) -> Any:
    """matplotlib.pyplot on the file-only Agg backend, or a usage error saying how to get it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise OptionError(f"{option} needs matplotlib, which is not installed; install it with "
                          "pip install 'gdfit[plot]' (or pip install matplotlib)") from None
    return pyplot


def check_image_support(path: str, option: str = "--plot-file") -> None:
    """Fail before any work when ``path`` cannot be drawn: no matplotlib, or an unknown type.

    Whether the file may be written at all is :func:`gdfit.atomic.check_output`'s question.
    """
    _pyplot(option)
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in ("png", "svg", "pdf"):
        raise OptionError(f"{option} {path}: the file name must end in .png, .svg or .pdf")


def image_plot(path: str, series: Sequence[Series], *, problem: LeastSquares | None = None,
               best: Vector | None = None, title: str = "", option: str = "--plot-file",
               force: bool = False, inputs: Iterable[str] = ()) -> bool:
    """Write the loss plot to ``path`` (PNG, SVG or PDF, from the extension) atomically.

    With one x column and an intercept (``problem`` and ``best`` given), a second panel draws the
    contours of f over (w, b) and each policy's path on them. Returns whether it did. The file is
    written by :func:`gdfit.atomic.atomic_write_bytes`: never over one of ``inputs``, over an
    existing file only with ``force``.
    """
    pyplot = _pyplot(option)
    contours = (problem is not None and best is not None and problem.n_features == 1
                and problem.intercept and all(s.b is not None for s in series))
    fig, axes = pyplot.subplots(1, 2 if contours else 1, figsize=(13 if contours else 7, 5),
                                squeeze=False)
    try:
        ax = axes[0][0]
        for s in series:
            keep = np.isfinite(s.excess) & (s.excess > 0)
            ax.semilogy(s.iterations[keep], s.excess[keep], label=s.label, lw=1.2)
        ax.set_xlabel("iteration")
        ax.set_ylabel("f(θ) − f(θ*)   (MSE above the least-squares minimum)")
        ax.set_title(title or "loss above its minimum")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize="small")
        if contours:
            assert problem is not None and best is not None
            _contour_panel(axes[0][1], series, problem, best)
        fig.tight_layout()
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        with atomic_write_bytes(path, force=force, inputs=inputs, option="--force") as fh:
            fig.savefig(fh, format=ext, dpi=110)
    finally:
        pyplot.close(fig)
    return contours


def _contour_panel(ax: Any, series: Sequence[Series], problem: LeastSquares,
                   best: Vector) -> None:
    """Contours of f − f* over (w, b) around the paths, each path drawn on them."""
    points = [np.column_stack([s.w[:, 0], s.b]) for s in series if s.b is not None]
    start = np.array([p[0] for p in points])
    # The box holds the start(s) and θ*; a path leaving it far (divergence) is cut at the edge.
    lo = np.minimum(start.min(axis=0), best)
    hi = np.maximum(start.max(axis=0), best)
    span = np.where(hi - lo > 0, hi - lo, np.maximum(np.abs(best), 1.0))
    allp = np.vstack(points)
    inside = np.all((allp >= lo - span) & (allp <= hi + span), axis=1)
    lo = np.minimum(lo, allp[inside].min(axis=0)) - 0.15 * span
    hi = np.maximum(hi, allp[inside].max(axis=0)) + 0.15 * span
    W, B = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 300))
    grid = np.column_stack([W.ravel(), B.ravel()])
    Z = excess_loss(problem, grid, best).reshape(W.shape)
    top = float(Z.max())
    if top > 0:
        levels = np.geomspace(top * 1e-6, top, 16)
        ax.contour(W, B, Z, levels=levels, colors="0.6", linewidths=0.6)
    for s, p in zip((s for s in series if s.b is not None), points, strict=True):
        ax.plot(p[:, 0], p[:, 1], "-o", ms=2, lw=1, label=s.label)
    ax.plot([best[0]], [best[1]], "k*", ms=12, label="least squares")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("w")
    ax.set_ylabel("b")
    ax.set_title("paths over the loss contours (data units)")
    ax.legend(fontsize="small")
