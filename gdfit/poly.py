"""``--poly K``: a polynomial in one x column, fitted in an orthogonal basis.

The raw powers 1, x, …, x^K are about as badly conditioned as columns can be (NIST's Filip,
degree 10, has κ ≈ 10¹⁵), so gradient descent runs on discrete orthogonal polynomials
instead. x is mapped to t = (x − c)/s ∈ [−1, 1] (c the midrange, s the half range) and the
basis is built by the Arnoldi process on diag(t) (Brubeck, Nakatsukasa & Trefethen,
"Vandermonde with Arnoldi", SIAM Review 63, 2021):

    q₀ = 1,    h_{k,k−1}·q_k = t·q_{k−1} − Σ_{j<k} h_{j,k−1}·q_j,

with the h chosen so the q_k are orthonormal on the data (‖q_k‖² = n). Each q_k is a polynomial
of degree k whose coefficients follow exactly, in rational arithmetic, from the float64 numbers
h, c and s; so the coefficients on the raw powers of x are computed exactly and rounded once.
Without an intercept the basis starts at q₀ = t/h₀ and there is no shift (c = 0), so every
basis polynomial, and the fit, has no constant term.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from functools import cached_property

import numpy as np

from gdfit.basis import (
    DD,
    Basis,
    FloatArray,
    dd_add,
    dd_div,
    dd_mul,
    dd_mul_dd,
    dd_value,
    exact,
    two_sum,
)
from gdfit.errors import DataError, OptionError

#: Arnoldi breakdown: a new direction below this fraction of t·q_{k−1} means x^k adds nothing.
BREAKDOWN = 1e-8


def power_names(column: str, degree: int) -> tuple[str, ...]:
    """Names of the raw powers: ``x``, ``x^2``, …, ``x^K``."""
    return tuple(column if k == 1 else f"{column}^{k}" for k in range(1, degree + 1))


def _listing(names: Sequence[str]) -> str:
    if len(names) == 1:
        return f"{names[0]} is a linear combination"
    return f"{', '.join(names)} are linear combinations"


class PolyBasis(Basis):
    """Orthogonal polynomials of degree 1…K (0…K−1 times t without intercept) on one column.

    Parameters
    ----------
    x : array_like, shape (n,)
        The column.
    degree : int
        K ≥ 1.
    intercept : bool
        With an intercept the model is b + Σ w_k x^k; without, Σ w_k x^k.
    name : str
        The column's name, used in the power names and in messages.
    """

    def __init__(self, x: FloatArray | Sequence[float], degree: int, *, intercept: bool = True,
                 name: str = "x") -> None:
        if degree < 1:
            raise OptionError(f"poly= must be ≥ 1, got {degree}")
        self.x = np.asarray(x, dtype=np.float64).ravel()
        self.degree = degree
        self.intercept = intercept
        self.column = name
        self.n = self.x.shape[0]
        self.names = power_names(name, degree)
        distinct = np.unique(self.x).size
        # Without an intercept the powers vanish together at x = 0, so 0 does not count.
        usable = distinct if intercept else int(np.unique(self.x[self.x != 0]).size)
        if degree >= usable + (0 if intercept else 1):
            need = degree + 1 if intercept else degree
            raise DataError(
                f"'{name}' has {usable} distinct {'non-zero ' if not intercept else ''}value"
                f"{'s' if usable != 1 else ''} but a polynomial of degree {degree} "
                f"{'with' if intercept else 'without'} an intercept needs at least {need}: "
                f"{_listing(self.names[usable - (1 if intercept else 0):])} of the lower "
                "powers; lower poly=")
        lo, hi = float(self.x.min()), float(self.x.max())
        if intercept:
            self.shift, self.half = (lo + hi) / 2, (hi - lo) / 2
        else:
            self.shift, self.half = 0.0, max(abs(lo), abs(hi))
        t = (self.x - self.shift) / self.half
        self.h0, self.H = self._arnoldi(t)

    def _arnoldi(self, t: FloatArray) -> tuple[float, FloatArray]:
        """The recurrence coefficients (h₀ and the Hessenberg matrix H), in float64."""
        n, K = self.n, self.degree
        m = K if not self.intercept else K + 1  # number of basis polynomials incl. q₀
        h0 = 1.0 if self.intercept else float(np.sqrt(t @ t / n))
        Q = np.empty((n, m))
        Q[:, 0] = 1.0 if self.intercept else t / h0
        H = np.zeros((m, m - 1))
        for k in range(1, m):
            v = t * Q[:, k - 1]
            size = float(np.sqrt(v @ v))
            for _ in range(2):  # "twice is enough" (classical Gram–Schmidt, re-orthogonalised)
                coef = Q[:, :k].T @ v / n
                v = v - Q[:, :k] @ coef
                H[:k, k - 1] += coef
            H[k, k - 1] = float(np.sqrt(v @ v / n))
            if H[k, k - 1] * np.sqrt(n) <= BREAKDOWN * size:
                power = self.names[k - 1] if self.intercept else self.names[k]
                raise DataError(f"'{self.column}' cannot carry a polynomial of degree "
                                f"{self.degree}: {power} is numerically a combination of the "
                                "lower powers (too few well-separated values); lower poly=")
            Q[:, k] = v / H[k, k - 1]
        return h0, H

    @property
    def feature_names(self) -> tuple[str, ...]:
        first = 1 if self.intercept else 0
        return tuple(f"P{k}({self.column})" for k in range(first, first + self.degree))

    def features_dd(self) -> DD:
        """q₁…q_K (q₀…q_{K−1} without intercept) by the recurrence, in double-double."""
        n = self.n
        t = dd_div(two_sum(self.x, np.full(n, -self.shift)), self.half)
        m = self.H.shape[0]
        Q: list[DD] = [(np.ones(n), np.zeros(n)) if self.intercept else dd_div(t, self.h0)]
        for k in range(1, m):
            v = dd_mul_dd(t, Q[k - 1])
            for j in range(k):
                v = dd_add(v, dd_mul(Q[j], np.full(n, -self.H[j, k - 1])))
            Q.append(dd_div(v, float(self.H[k, k - 1])))
        cols = Q[1:] if self.intercept else Q
        return np.column_stack([q[0] for q in cols]), np.column_stack([q[1] for q in cols])

    def _t_coefficients(self) -> list[list[Fraction]]:
        """Exact coefficients of each basis polynomial on 1, t, …, t^K (q₀ first)."""
        K = self.degree
        H = [exact(row) for row in self.H]
        first = [Fraction(0)] * (K + 1)
        if self.intercept:
            first[0] = Fraction(1)
        else:
            first[1] = 1 / Fraction(self.h0)
        C = [first]
        for k in range(1, self.H.shape[0]):
            c = [Fraction(0), *C[k - 1][:-1]]  # t·q_{k−1}
            for j in range(k):
                hj = H[j][k - 1]
                if hj:
                    c = [a - hj * b for a, b in zip(c, C[j], strict=True)]
            C.append([a / H[k][k - 1] for a in c])
        return C

    def _x_from_t(self, beta_t: Sequence[Fraction]) -> list[Fraction]:
        """Coefficients on powers of x of Σ β_m·((x − c)/s)^m, exactly."""
        c, s = Fraction(self.shift), Fraction(self.half)
        out = [Fraction(0)] * len(beta_t)
        for m, bm in enumerate(beta_t):
            if not bm:
                continue
            scale = bm / s**m
            for j in range(m + 1):
                out[j] += scale * math.comb(m, j) * (-c) ** (m - j)
        return out

    def to_raw(self, gamma: Sequence[Fraction], b: Fraction | None) -> tuple[list[Fraction],
                                                                            Fraction | None]:
        C = self._coefficients
        basis = C[1:] if self.intercept else C
        beta_t = [Fraction(0)] * (self.degree + 1)
        for g, coeffs in zip(gamma, basis, strict=True):
            if g:
                beta_t = [a + g * cf for a, cf in zip(beta_t, coeffs, strict=True)]
        if b is not None:
            beta_t[0] += b
        beta_x = self._x_from_t(beta_t)
        return beta_x[1:], (beta_x[0] if self.intercept else None)

    @cached_property
    def _coefficients(self) -> list[list[Fraction]]:
        return self._t_coefficients()

    def raw_fitted_dd(self, w: Sequence[Fraction | float], b: Fraction | float | None) -> DD:
        """b + Σ w_k x^k by Horner's rule in double-double arithmetic."""
        acc: DD = (np.zeros(self.n), np.zeros(self.n))
        for cf in reversed(list(w)):
            hi, lo = dd_value(cf)
            acc = dd_mul(dd_add(acc, (np.full(self.n, hi), np.full(self.n, lo))), self.x)
        hi, lo = dd_value(0.0 if b is None else b)
        return dd_add(acc, (np.full(self.n, hi), np.full(self.n, lo)))

    def raw_magnitude(self, w: Sequence[float], b: float | None) -> FloatArray:
        """Σ|w_k||x|^k + |b|."""
        ax = np.abs(self.x)
        acc = np.zeros(self.n)
        for cf in reversed(list(w)):
            acc = (acc + abs(float(cf))) * ax
        return acc + abs(b or 0.0)

    def check_raw(self, w: Sequence[float], b: float | None, y: FloatArray,
                  rmse: float) -> None:
        """Refuse raw-power coefficients that cannot carry the fit in float64.

        Rounding the coefficients to float64 moves a fitted value by up to
        δ = ε·max Σ|w_k||x|^k (+|b|). When the terms cancel (a high degree, or x far from 0),
        δ can exceed the residuals, and the raw model then says nothing about the data: its
        residuals are rounding noise (reported as an exact fit, RMSE 0) or worse. The fit is
        refused when 32·δ > max(rmse, 10⁻⁶·spread of y), ``rmse`` being the orthogonal-basis
        fit's (accurate: its features are orthonormal).

        Raises
        ------
        DataError
            Naming the column, the degree and the sizes involved.
        """
        y = np.asarray(y, dtype=np.float64)
        centre = float(np.mean(y)) if self.intercept and y.size else 0.0
        spread = float(np.max(np.abs(y - centre))) if y.size else 0.0
        terms = float(np.max(self.raw_magnitude(w, b))) if self.n else 0.0
        delta = float(np.finfo(np.float64).eps) * terms
        if not math.isfinite(terms) or 32 * delta > max(rmse if math.isfinite(rmse) else 0.0,
                                                         1e-6 * spread):
            raise DataError(
                f"a polynomial of degree {self.degree} in '{self.column}' cannot be written on "
                f"the raw powers of x in double precision: its terms w_k·x^k reach "
                f"{terms:.2g} and cancel to values of about {spread:.2g}, so rounding the "
                f"coefficients alone moves a fitted value by up to {delta:.2g} (the residuals "
                f"are about {rmse:.2g}); lower poly= (or shift x nearer 0)")

    def raw_columns(self) -> FloatArray:
        """The raw design x, x², …, x^K (float64), e.g. for ``numpy.linalg.lstsq``."""
        return np.column_stack([self.x**k for k in range(1, self.degree + 1)])
