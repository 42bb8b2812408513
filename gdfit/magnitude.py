"""Extreme magnitudes: scale every column by a power of two before anything is squared.

Values around 10²⁰⁰ overflow when squared (the largest double is 1.8·10³⁰⁸) and values around
10⁻²⁰⁰ underflow to 0, so the sums of squares that every engine forms would be inf or 0: the
column would look constant, or NumPy would print ``RuntimeWarning`` lines. gdfit therefore
divides each column x_j by a power of two p_j near its largest |value| (and y by p_y) when
some column is outside [2⁻ᴸ, 2ᴸ] with L = :data:`SAFE_EXPONENT`, fits

    y/p_y ≈ Σ_j (x_j/p_j)·v_j + c,

and reports w_j = v_j·p_y/p_j, b = c·p_y, MSE·p_y², RMSE·p_y. Dividing and multiplying by a
power of two is exact (no digit is lost, as long as nothing over- or underflows), so a fit of
X·2ᵃ, y·2ᵇ gives exactly 2^(b−a) times the coefficients of the fit of X, y. Data whose
columns are all inside the range are not touched.

A coefficient that cannot be represented (|w_j| beyond 1.8·10³⁰⁸, or a nonzero one below
the smallest double) is refused with a message naming the column; a mean squared error that
overflows is reported as infinite (its root, the RMSE, is still finite).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from gdfit.errors import ConstantColumnError, DataError
from gdfit.objective import Vector

if TYPE_CHECKING:
    from gdfit.history import Recorder
    from gdfit.result import FitResult, IterRecord
    from gdfit.stats import FitStatistics

#: Columns whose largest |value| lies in [2^-SAFE_EXPONENT, 2^SAFE_EXPONENT] are not scaled:
#: their squares, summed over 2^500 rows, stay far inside the range of a double.
SAFE_EXPONENT = 200


def _ldexp(value: float, k: int) -> float:
    """value·2^k as a double (±inf or 0 when out of range; NaN stays NaN)."""
    with np.errstate(over="ignore", under="ignore"):
        return float(np.ldexp(np.float64(value), k))


def _exponent(value: float) -> int:
    """e with 2^(e−1) ≤ |value| < 2^e (0 for 0 or a non-finite value)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return math.frexp(abs(value))[1]


def _needs_scaling(peak: float) -> bool:
    if peak == 0 or not math.isfinite(peak):
        return False
    exponent = math.frexp(peak)[1]
    return not -SAFE_EXPONENT <= exponent <= SAFE_EXPONENT


def _peak(values: np.ndarray) -> float:
    with np.errstate(invalid="ignore"):
        finite = values[np.isfinite(values)]
    return float(np.abs(finite).max(initial=0.0))


@dataclass(frozen=True, eq=False)
class Units:
    """Powers of two the columns (2^``x_exp``) and the target (2^``y_exp``) are divided by.

    Kept as exponents, so that the factors between scaled and data units (2^(y_exp − x_exp),
    for a polynomial's powers too) are applied with ``ldexp``, exactly, even where the
    factor itself would not be a double.
    """

    x_exp: NDArray[np.int64]
    y_exp: int

    @property
    def x(self) -> Vector:
        return np.ldexp(1.0, self.x_exp)

    @property
    def y(self) -> float:
        return math.ldexp(1.0, self.y_exp)

    def powers(self, degree: int) -> Units:
        """The units of x, x², …, x^degree for a polynomial in the single column."""
        return Units(np.array([k * int(self.x_exp[0]) for k in range(1, degree + 1)]),
                     self.y_exp)

    @classmethod
    def of_peaks(cls, x_peaks: Sequence[float], y_peak: float) -> Units | None:
        """Units for columns with these largest |values|, or None when no column needs any."""
        peaks = [*x_peaks, y_peak]
        if not any(_needs_scaling(p) for p in peaks):
            return None
        return cls(np.array([_exponent(p) for p in x_peaks], dtype=np.int64), _exponent(y_peak))

    @classmethod
    def of_rows(cls, X: np.ndarray, y: np.ndarray) -> Units | None:
        """Units for the rows X (n × d), y; None when every column is of moderate size."""
        X2 = X if X.ndim == 2 else X[:, None]
        return cls.of_peaks([_peak(X2[:, j]) for j in range(X2.shape[1])], _peak(y))

    def rows(self, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """X/p and y/p_y (exact, unless a value underflows below the smallest double)."""
        with np.errstate(under="ignore"):
            return (np.asarray(np.ldexp(X, -self.x_exp), dtype=np.float64),
                    np.asarray(np.ldexp(y, -self.y_exp), dtype=np.float64))

    def weights(self, w: Vector) -> Vector:
        """Coefficients of the scaled columns in data units: w_j·p_y/p_j."""
        with np.errstate(over="ignore", under="ignore"):
            return np.asarray(np.ldexp(w, self.y_exp - self.x_exp), dtype=np.float64)

    def intercept(self, b: float | None) -> float | None:
        return None if b is None else self.times_y(b)

    def times_y(self, value: float) -> float:
        """value·2^y_exp (inf when that overflows)."""
        with np.errstate(over="ignore", under="ignore"):
            return float(np.ldexp(value, self.y_exp))

    def loss(self, value: float) -> float:
        """A mean square in data units: value·4^y_exp."""
        with np.errstate(over="ignore", under="ignore"):
            return float(np.ldexp(value, 2 * self.y_exp))

    def record(self, rec: IterRecord) -> IterRecord:
        """An iteration's loss, w and b in data units."""
        return replace(rec, loss=self.loss(rec.loss), w=self.weights(rec.w),
                       b=self.intercept(rec.b))

    def check(self, w_scaled: Vector, features: Sequence[str]) -> None:
        """Refuse coefficients that do not fit in a double once in data units."""
        w = self.weights(w_scaled)
        for j, (ws, wd) in enumerate(zip(w_scaled, w, strict=True)):
            if math.isfinite(float(ws)) and (not math.isfinite(float(wd))
                                             or (ws != 0 and wd == 0)):
                size = math.log2(abs(float(ws))) + self.y_exp - int(self.x_exp[j])
                raise DataError(
                    f"the coefficient of column '{features[j]}' is about 2^{size:.0f}, "
                    "outside the range of double precision (y and this column differ in "
                    "magnitude by too much); rescale y or the column")

    def observers(self, callback: Callable[[IterRecord], Any] | None,
                  history: bool | Recorder) -> tuple[Callable[[IterRecord], Any] | None,
                                                     bool | Recorder]:
        """The callback and history of a fit on the scaled columns, seeing data units."""
        from gdfit.history import as_recorder, converting

        on_iter = None if callback is None else (lambda rec: callback(self.record(rec)))
        recorder = as_recorder(history)
        return on_iter, (False if recorder is None else converting(recorder, self.record))

    @contextmanager
    def restating(self) -> Iterator[None]:
        """Errors of a fit on the scaled columns said in data units: a constant column's value
        (2^e times the one seen), not the scaled one."""
        try:
            yield
        except ConstantColumnError as exc:
            j = exc.column
            exponent = int(self.x_exp[j]) if 0 <= j < len(self.x_exp) else 0
            raise ConstantColumnError(exc.feature, j, math.ldexp(exc.value, exponent)) from None

    def refit(self, fit: Callable[..., FitResult], X: np.ndarray, y: np.ndarray, *,
              callback: Callable[[IterRecord], Any] | None, history: bool | Recorder,
              **options: Any) -> FitResult:
        """``fit(X / 2^e, y / 2^e_y, ...)``, with its progress, history, errors and result in
        data units: what every entry point does with values that cannot be squared."""
        Xs, ys = self.rows(X, y)
        on_iter, recorder = self.observers(callback, history)
        with self.restating():
            inner = fit(Xs, ys, callback=on_iter, history=recorder, **options)
        return self.result(inner)

    def result(self, result: FitResult) -> FitResult:
        """A result fitted on the scaled columns (its history already converted by
        :meth:`observers`), in data units."""
        self.check(result.w, result.features)
        return replace(result, w=self.weights(result.w), b=self.intercept(result.b),
                       loss=self.loss(result.loss), rmse=self.times_y(result.rmse),
                       lstsq_w=self.weights(result.lstsq_w),
                       lstsq_b=self.intercept(result.lstsq_b))

    def to_scaled(self, result: FitResult) -> FitResult:
        """The inverse of :meth:`result` for w and b (for statistics on the scaled rows)."""
        return replace(result, w=np.asarray(np.ldexp(result.w, self.x_exp - self.y_exp),
                                            dtype=np.float64),
                       b=None if result.b is None else _ldexp(result.b, -self.y_exp))

    def to_scaled_theta(self, result: FitResult) -> Vector:
        """The least-squares parameters (w, then b) of ``result`` on the scaled columns."""
        w = np.ldexp(result.lstsq_w, self.x_exp - self.y_exp)
        if result.lstsq_b is None:
            return np.asarray(w, dtype=np.float64)
        return np.append(w, _ldexp(result.lstsq_b, -self.y_exp))

    def statistics(self, stats: FitStatistics) -> FitStatistics:
        """Statistics computed on the scaled rows, in data units (t, p, R², F are unchanged)."""
        shifts = ([self.y_exp] if stats.intercept else []) + [
            self.y_exp - int(e) for e in self.x_exp]
        assert len(shifts) == len(stats.parameters)
        with np.errstate(over="ignore", under="ignore"):
            params = tuple(replace(p, estimate=_ldexp(p.estimate, k),
                                   std_error=_ldexp(p.std_error, k),
                                   ci_low=_ldexp(p.ci_low, k),
                                   ci_high=_ldexp(p.ci_high, k))
                           for p, k in zip(stats.parameters, shifts, strict=True))
            return replace(stats, parameters=params, rss=self.loss(stats.rss),
                           tss=self.loss(stats.tss), residual_sd=self.times_y(stats.residual_sd),
                           rmse=self.times_y(stats.rmse))

    def describe(self) -> dict[str, Any]:
        """The powers of two, as exponents (for JSON output)."""
        return {"x": [int(e) for e in self.x_exp], "y": self.y_exp}
