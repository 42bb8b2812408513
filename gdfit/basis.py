"""Bases for the descent: well-conditioned features with an exact way back to the raw columns.

Gradient descent converges at a rate set by the condition number of the features it runs on,
so gdfit can descend in a better basis F = V·T than the raw design V (a centred, scaled and
possibly orthogonalised version of it, or orthogonal polynomials for ``--poly``) and map the
coefficients back afterwards: if ŷ = F·γ then ŷ = V·(T·γ). The map T is held exactly, as
rational numbers built from the float64 constants that define the basis, so converting back
adds no rounding of its own; only the final coefficients are rounded to float64.

Every basis can also evaluate its features and the raw fitted values in extended precision
(``numpy.longdouble``), which :mod:`gdfit.precise` uses for iterative refinement and
:mod:`gdfit.stats` for residuals.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from fractions import Fraction
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from gdfit.errors import DataError
from gdfit.objective import LeastSquares
from gdfit.scaling import check_identifiable

LD = np.longdouble
LongVector = NDArray[np.longdouble]
FloatArray = NDArray[np.float64]

#: A design whose standardised columns have σ_min/σ_max below √ε is numerically singular for
#: gradient descent: the Gram matrix it descends on then has condition number ≥ 1/ε.
SINGULAR_RATIO = float(np.sqrt(np.finfo(np.float64).eps))


def exact(values: Sequence[float] | FloatArray) -> list[Fraction]:
    """Float64 values as exact rationals."""
    return [Fraction(float(v)) for v in values]


# Double-double arithmetic (Dekker 1971; Shewchuk 1997): a value is an unevaluated sum hi + lo
# of two float64 arrays, about 106 significant bits. Residuals of ill-conditioned models are
# differences of terms up to 10⁸ times larger than they are; long double (64 bits) would
# leave them only ~11 digits, double-double leaves them ~24.
DD = tuple[FloatArray, FloatArray]
_SPLITTER = 134217729.0  # 2**27 + 1


def two_sum(a: FloatArray, b: FloatArray) -> DD:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: FloatArray) -> DD:
    c = _SPLITTER * a
    hi = c - (c - a)
    return hi, a - hi


def _two_prod(a: FloatArray, b: FloatArray) -> DD:
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def dd_value(value: Fraction | float) -> tuple[float, float]:
    """An exact rational rounded to double-double (hi, lo)."""
    hi = float(value)
    return hi, float(Fraction(value) - Fraction(hi))


def dd_add(a: DD, b: DD) -> DD:
    """(a + b) in double-double."""
    s, e = two_sum(a[0], b[0])
    e = e + (a[1] + b[1])
    hi = s + e
    return hi, e - (hi - s)


def dd_mul(a: DD, x: FloatArray) -> DD:
    """(a · x) for a double-double a and a float64 x."""
    p, e = _two_prod(a[0], x)
    e = e + a[1] * x
    hi = p + e
    return hi, e - (hi - p)


def dd_div(a: DD, s: float | FloatArray) -> DD:
    """(a / s) for a double-double a and a float64 s."""
    q1 = a[0] / s
    p, e = _two_prod(q1, np.broadcast_to(s, np.shape(q1)))
    q2 = (((a[0] - p) - e) + a[1]) / s
    hi = q1 + q2
    return hi, q2 - (hi - q1)


def dd_mul_dd(a: DD, b: DD) -> DD:
    """(a · b) for two double-doubles."""
    p, e = _two_prod(a[0], b[0])
    e = e + (a[0] * b[1] + a[1] * b[0])
    hi = p + e
    return hi, e - (hi - p)


def dd_sum(a: DD) -> float:
    """Σ a, correctly rounded to float64 (``math.fsum`` of every part)."""
    return math.fsum(np.concatenate([a[0].ravel(), a[1].ravel()]).tolist())


def dd_to_longdouble(a: DD) -> LongVector:
    """A double-double rounded to long double."""
    return np.asarray(a[0], dtype=LD) + np.asarray(a[1], dtype=LD)


class Basis(ABC):
    """The features a descent runs on, and the exact map back to the raw parameters.

    Raw parameters are ordered like gdfit's θ: the coefficients of ``names``, then the
    intercept (when ``intercept``). Basis coefficients are ordered likewise: the coefficients
    of the basis features, then the intercept (the coefficient of the constant 1).
    """

    names: tuple[str, ...]
    intercept: bool
    n: int

    @property
    @abstractmethod
    def feature_names(self) -> tuple[str, ...]:
        """Names of the basis features (what the descent's coefficients belong to)."""

    @abstractmethod
    def features_dd(self) -> DD:
        """The basis features on the rows, n × m, in double-double arithmetic."""

    @abstractmethod
    def to_raw(self, gamma: Sequence[Fraction], b: Fraction | None) -> tuple[list[Fraction],
                                                                            Fraction | None]:
        """Exact raw coefficients (w, b) of the model with basis coefficients (γ, b)."""

    @abstractmethod
    def raw_fitted_dd(self, w: Sequence[Fraction | float], b: Fraction | float | None) -> DD:
        """V·θ on the rows in double-double arithmetic."""

    @abstractmethod
    def raw_magnitude(self, w: Sequence[float], b: float | None) -> FloatArray:
        """|V|·|θ| on the rows: the size of the terms that make up each fitted value."""

    def residuals_dd(self, y: FloatArray, w: Sequence[Fraction | float],
                     b: Fraction | float | None) -> DD:
        """y − V·θ in double-double arithmetic."""
        fitted = self.raw_fitted_dd(w, b)
        neg = (-fitted[0], -fitted[1])
        return dd_add((np.asarray(y, dtype=np.float64), np.zeros(self.n)), neg)

    def residuals_ld(self, y: FloatArray, w: Sequence[Fraction | float],
                     b: Fraction | float | None) -> LongVector:
        """y − V·θ computed in double-double and rounded to long double."""
        return dd_to_longdouble(self.residuals_dd(y, w, b))

    @cached_property
    def features(self) -> FloatArray:
        """The basis features rounded to float64."""
        hi, lo = self.features_dd()
        return np.asarray(hi + lo, dtype=np.float64)

    @property
    def dim(self) -> int:
        """Number of parameters p."""
        return len(self.names) + int(self.intercept)

    def theta_to_raw(self, theta: Sequence[float] | FloatArray) -> tuple[FloatArray,
                                                                        float | None]:
        """Basis θ = (γ, b) in float64 → raw (w, b) in float64, converted exactly."""
        m = len(self.feature_names)
        gamma = exact(np.asarray(theta, dtype=np.float64)[:m])
        b = Fraction(float(theta[m])) if self.intercept else None
        w, braw = self.to_raw(gamma, b)
        return (np.array([float(v) for v in w], dtype=np.float64),
                None if braw is None else float(braw))

    @cached_property
    def matrix(self) -> FloatArray:
        """T (p × p) in float64: raw θ = T·(basis θ); each entry correctly rounded."""
        p = self.dim
        columns = []
        for j in range(p):
            unit = [Fraction(int(i == j)) for i in range(p)]
            w, b = self.to_raw(unit[: len(self.feature_names)],
                               unit[-1] if self.intercept else None)
            columns.append([float(v) for v in w] + ([] if b is None else [float(b)]))
        return np.array(columns, dtype=np.float64).T

    @abstractmethod
    def raw_columns(self) -> FloatArray:
        """The raw design's columns in float64 (without the column of ones)."""

    def design(self) -> FloatArray:
        """The basis design [F, 1] (or F without intercept) in float64, in θ order."""
        F = self.features
        return np.column_stack([F, np.ones(self.n)]) if self.intercept else F


def _standardise(X: FloatArray, intercept: bool) -> tuple[FloatArray, FloatArray]:
    """Column shifts and scales: mean and SD with an intercept, 0 and RMS without one."""
    shift = X.mean(axis=0) if intercept else np.zeros(X.shape[1])
    scale = np.sqrt(((X - shift) ** 2).mean(axis=0))
    return shift, scale


def _refuse(names: Sequence[str], small: Sequence[int], vectors: FloatArray,
            ratio: float, exact_below: float) -> None:
    """The DataError for near-null directions ``vectors[:, k]``, k in ``small``."""
    involved: list[int] = []
    for k in small:
        weights = np.abs(vectors[:, k])
        involved += [int(j) for j in np.flatnonzero(weights >= 0.1 * weights.max())
                     if int(j) not in involved]
    cols = ", ".join(f"'{names[j]}'" for j in sorted(involved))
    near = ratio >= exact_below
    exactly = (f"nearly linearly dependent (σ_min/σ_max = {ratio:.2g} after standardising)"
               if near else "linearly dependent")
    raise DataError(f"the design is rank deficient: columns {cols} are {exactly}, so their "
                    "coefficients cannot be told apart; drop one of them"
                    + (" (for powers of one column use poly=)" if near and len(involved) > 2
                       else ""))


def check_rank(Z: FloatArray, names: Sequence[str]) -> None:
    """Raise :class:`DataError` naming the columns of a numerically rank-deficient design.

    ``Z`` holds standardised columns. A singular value below :data:`SINGULAR_RATIO` times the
    largest marks a near dependency; the columns with a sizeable weight in its singular
    vector are the ones involved.
    """
    if Z.shape[1] == 0:
        return
    _, sv, vt = np.linalg.svd(Z, full_matrices=False)
    small = np.flatnonzero(sv <= SINGULAR_RATIO * sv[0])
    if small.size:
        _refuse(names, [int(k) for k in small], vt.T, float(sv[-1] / sv[0]),
                exact_below=1e3 * np.finfo(np.float64).eps)


def check_rank_rows(X: FloatArray, names: Sequence[str], *, intercept: bool) -> None:
    """:func:`check_rank` on the raw columns ``X``, standardised as :class:`ColumnBasis`
    standardises them (a column without spread is left to ``check_identifiable``)."""
    shift, scale = _standardise(X, intercept)
    check_rank((X - shift) / np.where(scale > 0, scale, 1.0), names)


def check_rank_moments(problem: LeastSquares, names: Sequence[str]) -> None:
    """:func:`check_rank` from sufficient statistics alone (no rows at hand).

    The eigenvalues of the standardised second-moment matrix are the squared singular values
    of the standardised columns, computed to about ε·λ_max; a ratio λ_min/λ_max at that level
    (16·d·ε, a little more lenient than :func:`check_rank`) marks a dependency.
    """
    d = problem.n_features
    second = problem.gram if problem.intercept else (
        problem.gram + np.outer(problem.x_mean, problem.x_mean))
    spread = np.sqrt(np.diag(second))
    if d == 0 or np.any(spread == 0):
        return  # check_identifiable reports constant columns
    lam, vec = np.linalg.eigh(second / np.outer(spread, spread))
    top = float(lam[-1])
    small = np.flatnonzero(lam <= max(SINGULAR_RATIO**2, 16 * d * np.finfo(np.float64).eps)
                           * top)
    if small.size:
        # A squared ratio is only known to ~ε, so below ~√ε exact and near look alike.
        _refuse(names, [int(k) for k in small], vec, math.sqrt(max(float(lam[0]), 0.0) / top),
                exact_below=1e-7)


class ColumnBasis(Basis):
    """The raw columns centred and scaled (z = (x − m)/s), optionally orthogonalised.

    With ``orthogonal`` the features are F = √n·Z·R⁻¹ for the QR factorisation Z = QR of the
    standardised columns: orthonormal up to rounding (κ(FᵀF) ≈ 1), so steepest descent with an
    exact line search converges in one or two steps whatever the correlation of the columns.
    """

    def __init__(self, X: FloatArray, names: Sequence[str], *, intercept: bool = True,
                 orthogonal: bool = False) -> None:
        self.X = np.asarray(X, dtype=np.float64)
        self.names = tuple(names)
        self.intercept = intercept
        self.n = self.X.shape[0]
        self.orthogonal = orthogonal
        # Too few rows, a constant column: the messages gdfit.api gives.
        check_identifiable(LeastSquares.from_arrays(self.X, np.zeros(self.n),
                                                    intercept=intercept), self.names)
        self.shift, self.scale = _standardise(self.X, intercept)
        if np.any(self.scale == 0):
            j = int(np.flatnonzero(self.scale == 0)[0])
            raise DataError(f"column '{self.names[j]}' has no spread; it cannot be fitted")
        Z = (self.X - self.shift) / self.scale
        check_rank(Z, self.names)
        self.root_n = float(np.sqrt(self.n))
        if orthogonal:
            r = np.asarray(np.linalg.qr(Z, mode="r"), dtype=np.float64)
            signs = np.where(np.diag(r) < 0, -1.0, 1.0)
            self.R: FloatArray = r * signs[:, None]
        else:
            self.R = np.eye(self.X.shape[1])

    @property
    def feature_names(self) -> tuple[str, ...]:
        prefix = "q" if self.orthogonal else "z"
        return tuple(f"{prefix}{j + 1}" for j in range(len(self.names)))

    def features_dd(self) -> DD:
        hi, lo = two_sum(self.X, -np.broadcast_to(self.shift, self.X.shape))
        Z = dd_div((hi, lo), self.scale)
        if not self.orthogonal:
            return Z
        # F·R = √n·Z, solved column by column (forward substitution) in double-double.
        Fh, Fl = np.empty_like(Z[0]), np.empty_like(Z[0])
        for j in range(Z[0].shape[1]):
            acc = dd_mul((Z[0][:, j], Z[1][:, j]), np.full(self.n, self.root_n))
            for i in range(j):
                term = dd_mul((Fh[:, i], Fl[:, i]), np.full(self.n, -self.R[i, j]))
                acc = dd_add(acc, term)
            Fh[:, j], Fl[:, j] = dd_div(acc, float(self.R[j, j]))
        return Fh, Fl

    def to_raw(self, gamma: Sequence[Fraction], b: Fraction | None) -> tuple[list[Fraction],
                                                                            Fraction | None]:
        d = len(self.names)
        v = list(gamma)
        if self.orthogonal:
            # v = √n·R⁻¹·γ by exact back substitution.
            R = [exact(row) for row in self.R]
            root_n = Fraction(self.root_n)
            v = [Fraction(0)] * d
            for i in reversed(range(d)):
                acc = root_n * gamma[i] - sum((R[i][j] * v[j] for j in range(i + 1, d)),
                                              Fraction(0))
                v[i] = acc / R[i][i]
        w = [vj / Fraction(float(s)) for vj, s in zip(v, self.scale, strict=True)]
        if b is None:
            return w, None
        return w, b - sum((wj * Fraction(float(m)) for wj, m in zip(w, self.shift, strict=True)),
                          Fraction(0))

    def raw_fitted_dd(self, w: Sequence[Fraction | float], b: Fraction | float | None) -> DD:
        hi, lo = dd_value(0.0 if b is None else b)
        acc: DD = (np.full(self.n, hi), np.full(self.n, lo))
        for j, wj in enumerate(w):
            whi, wlo = dd_value(wj)
            acc = dd_add(acc, dd_mul((np.full(self.n, whi), np.full(self.n, wlo)),
                                     self.X[:, j]))
        return acc

    def raw_columns(self) -> FloatArray:
        return self.X

    def raw_magnitude(self, w: Sequence[float], b: float | None) -> FloatArray:
        return np.abs(self.X) @ np.abs(np.asarray(w, dtype=np.float64)) + abs(b or 0.0)
