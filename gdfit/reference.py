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
