"""Feature scaling: descend on standardised variables, report in the data's own units.

Standardising maps x ↦ z = (x − m)/σ and y ↦ u = (y − m_y)/σ_y (with an intercept m is the
mean and σ the standard deviation; without one nothing is shifted and σ is the root mean
square, so the model stays a line through the origin). Fitting u ≈ zᵀv + c is the same
least-squares problem in other coordinates, and

    w_j = σ_y·v_j / σ_j,    b = m_y + σ_y·c − Σ_j w_j·m_j,    f_data = σ_y²·f_scaled.

Because the moments in :class:`~gdfit.objective.LeastSquares` are central, the scaled
problem's statistics follow from the raw ones without touching the rows again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gdfit.choices import Scale
from gdfit.errors import ConstantColumnError, DataError
from gdfit.objective import LeastSquares, Vector


@dataclass(frozen=True, eq=False)
class AffineScaling:
    """The change of variables between data units and the space gradient descent runs in."""

    x_shift: Vector
    x_scale: Vector
    y_shift: float
    y_scale: float
    intercept: bool

    @classmethod
    def identity(cls, d: int, intercept: bool) -> AffineScaling:
        """No scaling: the descent runs on the raw columns."""
        return cls(np.zeros(d), np.ones(d), 0.0, 1.0, intercept)

    @classmethod
    def standard(cls, problem: LeastSquares) -> AffineScaling:
        """Standardise every column (and the target) of ``problem``."""
        if problem.intercept:
            x_shift, y_shift = problem.x_mean, problem.y_mean
            x_sq, y_sq = np.diag(problem.gram), problem.yty
        else:
            x_shift, y_shift = np.zeros(problem.n_features), 0.0
            x_sq = np.diag(problem.gram) + problem.x_mean**2
            y_sq = problem.yty + problem.y_mean**2
        y_scale = float(np.sqrt(y_sq))
        return cls(x_shift=np.array(x_shift, dtype=np.float64), x_scale=np.sqrt(x_sq),
                   y_shift=float(y_shift), y_scale=y_scale if y_scale > 0 else 1.0,
                   intercept=problem.intercept)

    @classmethod
    def for_problem(cls, problem: LeastSquares, scale: Scale | str) -> AffineScaling:
        """The scaling named by ``scale`` ("standard" or "none") for ``problem``."""
        if Scale(scale) is Scale.standard:
            return cls.standard(problem)
        return cls.identity(problem.n_features, problem.intercept)

    def transform(self, problem: LeastSquares) -> LeastSquares:
        """The statistics of the same data in scaled coordinates."""
        s, sy = self.x_scale, self.y_scale
        return LeastSquares(
            n=problem.n,
            x_mean=(problem.x_mean - self.x_shift) / s,
            y_mean=(problem.y_mean - self.y_shift) / sy,
            gram=problem.gram / np.outer(s, s),
            xty=problem.xty / (s * sy),
            yty=problem.yty / (sy * sy),
            intercept=problem.intercept,
        )

    def to_data(self, theta: Vector) -> tuple[Vector, float | None]:
        """Map scaled parameters θ to (w, b) in data units; b is None without intercept."""
        d = self.x_scale.shape[0]
        w = self.y_scale * theta[:d] / self.x_scale
        if not self.intercept:
            return w, None
        b = self.y_shift + self.y_scale * float(theta[d]) - float(w @ self.x_shift)
        return w, b

    def to_scaled(self, w: Vector, b: float | None) -> Vector:
        """Map (w, b) in data units to scaled parameters θ (inverse of :meth:`to_data`)."""
        v = np.asarray(w, dtype=np.float64) * self.x_scale / self.y_scale
        if not self.intercept:
            return v
        c = ((b or 0.0) - self.y_shift + float(np.asarray(w) @ self.x_shift)) / self.y_scale
        return np.append(v, c)

    @property
    def loss_factor(self) -> float:
        """f_data / f_scaled = σ_y²."""
        return self.y_scale * self.y_scale


def check_identifiable(problem: LeastSquares, features: tuple[str, ...]) -> None:
    """Raise :class:`DataError` for too few rows or a column that carries no information.

    With an intercept a constant column is indistinguishable from it; without one an
    all-zero column multiplies nothing.
    """
    p = problem.dim
    if problem.n < p:
        what = f"{problem.n_features} coefficient{'s' if problem.n_features != 1 else ''}"
        if problem.intercept:
            what += " and an intercept"
        raise DataError(f"{problem.n} row{'s' if problem.n != 1 else ''} but {p} parameters "
                        f"to fit ({what}): need at least {p} rows")
    spread = np.diag(problem.gram) if problem.intercept else (
        np.diag(problem.gram) + problem.x_mean**2)
    # A column is "constant" when its spread is at rounding level relative to its magnitude.
    tiny = (64 * np.finfo(np.float64).eps * (np.abs(problem.x_mean) + 1e-300)) ** 2
    for j in np.flatnonzero(spread <= tiny):
        if problem.intercept:
            raise ConstantColumnError(features[j], int(j), float(problem.x_mean[j]))
        raise DataError(f"column '{features[j]}' is all zeros, so its coefficient cannot be "
                        "estimated; drop it")
