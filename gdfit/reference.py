"""The exact least-squares solution that gradient descent is measured against."""

from __future__ import annotations

import numpy as np

from gdfit.objective import LeastSquares, Vector
from gdfit.scaling import AffineScaling


def lstsq_solution(X: Vector, y: Vector, problem: LeastSquares) -> tuple[Vector, float | None]:
    """Solve min ‖y − Xw − b‖₂ with ``numpy.linalg.lstsq`` on the standardised design.

    Centring and scaling the columns first (and converting back) keeps digits that the raw
    columns would lose to their condition number.
    """
    scaling = AffineScaling.standard(problem)
    Z = (X - scaling.x_shift) / scaling.x_scale
    u = (y - scaling.y_shift) / scaling.y_scale
    v = np.asarray(np.linalg.lstsq(Z, u, rcond=None)[0], dtype=np.float64)
    theta = np.append(v, float(np.mean(u - Z @ v))) if problem.intercept else v
    return scaling.to_data(theta)


def normal_equations_solution(problem: LeastSquares) -> tuple[Vector, float | None]:
    """The least-squares solution from the statistics alone (no rows at hand).

    Solves the standardised normal equations G_z·v = c_z with ``numpy.linalg.lstsq``; their
    condition number is κ(Z)², so prefer :func:`lstsq_solution` when the rows are available.
    """
    scaling = AffineScaling.standard(problem)
    scaled = scaling.transform(problem)
    if problem.intercept:
        v = np.linalg.lstsq(scaled.gram, scaled.xty, rcond=None)[0]
        theta = np.append(v, scaled.y_mean - float(scaled.x_mean @ v))
    else:
        # Uncentred moments: (G + x̄x̄ᵀ)·v = c + x̄·ȳ.
        gram = scaled.gram + np.outer(scaled.x_mean, scaled.x_mean)
        theta = np.linalg.lstsq(gram, scaled.xty + scaled.x_mean * scaled.y_mean,
                                rcond=None)[0]
    return scaling.to_data(np.asarray(theta, dtype=np.float64))


def statistics_quality(problem: LeastSquares, mse: float) -> float:
    """R² of a fit with mean squared error ``mse`` on the data behind ``problem``."""
    ss_tot = problem.yty if problem.intercept else problem.yty + problem.y_mean**2
    return 1.0 - mse / ss_tot if ss_tot > 0 else float("nan")


def fit_quality(X: Vector, y: Vector, w: Vector, b: float | None) -> tuple[float, float]:
    """Mean squared error and R² of ``y ≈ Xw + b`` on the rows.

    R² is 1 − SSres/SStot with SStot = Σ(y − ȳ)² for a model with intercept and Σy² (uncentred)
    without one; NaN when SStot is 0.
    """
    residual = y - X @ w - (b or 0.0)
    ss_res = float(residual @ residual)
    centred = y - y.mean() if b is not None else y
    ss_tot = float(centred @ centred)
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    return ss_res / len(y), r2
