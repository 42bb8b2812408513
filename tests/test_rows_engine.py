"""The rows engine's loss and gradient: the same numbers whichever way the slices are summed.

:meth:`RowsLeastSquares.loss_and_grad` sums s = Zw − u slice by slice and takes b and Σs from the
column sums when that is accurate (centred rows), or sums r = Zw + b − u itself when it is not.
These tests hold both paths to the statistics engine, to extended precision and to finite
differences, on row counts around the slice length. Timing lives in benchmarks/, not here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gdfit.engines import ROWS_CHUNK, RowsLeastSquares
from gdfit.objective import LeastSquares


def problem(seed: int, n: int, d: int, *, shift: float = 0.0, noise: float = 0.3,
            centred: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Columns of mixed scale and offset, and a target ``shift`` away from zero on average.

    ``centred`` subtracts the means, as the descent's standardised coordinates do.
    """
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-1, 1, size=d)
    X = rng.normal(size=(n, d)) * scales + rng.normal(size=d) * 2
    y = X @ (rng.normal(size=d) / scales) + shift + noise * rng.normal(size=n)
    if centred:
        return X - X.mean(axis=0), y - y.mean()
    return X, y


def slice_rows(d: int) -> int:
    """Rows per slice of the rows engine for d features."""
    return max(ROWS_CHUNK // d, 1024)


def rel(a: np.ndarray | float, b: np.ndarray | float) -> float:
    """Norm-wise relative difference ‖a − b‖/‖b‖ (‖a − b‖ when b = 0)."""
    diff, size = np.linalg.norm(np.asarray(a) - np.asarray(b)), np.linalg.norm(b)
    return float(diff / size if size else diff)


def extended(X: np.ndarray, y: np.ndarray, theta: np.ndarray, intercept: bool
             ) -> tuple[float, np.ndarray]:
    """f and ∇f in long double arithmetic, as a reference independent of both engines."""
    d, n = X.shape[1], len(y)
    Xl, yl, tl = (a.astype(np.longdouble) for a in (X, y, theta))
    r = Xl @ tl[:d] + (tl[d] if intercept else 0) - yl
    grad = [2 * (Xl.T @ r) / n] + ([[2 * r.sum() / n]] if intercept else [])
    return float(r @ r / n), np.concatenate(grad).astype(np.float64)


def assert_near_extended(rows: RowsLeastSquares, X: np.ndarray, y: np.ndarray,
                         theta: np.ndarray) -> None:
    """f and ∇f within a few dozen ulps of the bound every way of forming r shares.

    Rounding r_i = z_iᵀw + b − u_i errs by ≈ ε·(|z_iᵀw| + |b| + |u_i|): relative to f that is
    ε·T/‖r‖ with T = ‖Zw‖ + |b|·√n + ‖u‖, and in ∇f it is 2ε·σ·(‖r‖ + T)/n, σ = ‖[Z 1]‖₂.
    Away from the fit (T ≈ ‖r‖) this is plain relative accuracy.
    """
    n, d = X.shape
    loss, grad = rows.loss_and_grad(theta)
    ref_loss, ref_grad = extended(X, y, theta, rows.intercept)
    b = theta[d] if rows.intercept else 0.0
    r_norm = math.sqrt(ref_loss * n)
    terms = float(np.linalg.norm(X @ theta[:d]) + abs(b) * math.sqrt(n) + np.linalg.norm(y))
    sigma = float(np.linalg.norm(np.column_stack([X, np.ones(n)]), 2))
    assert abs(loss - ref_loss) <= 1e-14 * (ref_loss + math.sqrt(ref_loss / n) * terms)
    assert np.linalg.norm(grad - ref_grad) <= 1e-14 * (
        np.linalg.norm(ref_grad) + 2 * sigma * (r_norm + terms) / n)


def n_cases(d: int) -> list[int]:
    """Fewer rows than a slice, exactly one, one more, and several with a ragged end."""
    k = slice_rows(d)
    return [1, d + 2, k - 1, k, k + 1, 3 * k + 7]


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize(("shift", "centred"), [(0.0, True), (0.0, False), (40.0, False)])
def test_rows_loss_and_grad_match_the_statistics(d: int, intercept: bool, shift: float,
                                                 centred: bool) -> None:
    rng = np.random.default_rng(100 + d)
    for n in n_cases(d):
        X, y = problem(n + d, n, d, shift=shift, centred=centred)
        rows = RowsLeastSquares.from_rows(X, y, intercept=intercept)
        stats = LeastSquares.from_arrays(X, y, intercept=intercept)
        best = np.linalg.lstsq(np.column_stack([X, np.ones(n)]) if intercept else X, y,
                               rcond=None)[0]
        theta = rng.normal(size=rows.dim) * 3
        loss, grad = rows.loss_and_grad(theta)
        ref_loss, ref_grad = stats.loss_and_grad(theta)
        assert loss == pytest.approx(ref_loss, rel=1e-12)
        assert rel(grad, ref_grad) <= 1e-12
        assert isinstance(loss, float) and grad.shape == (rows.dim,)
        # Near the fit b ≈ shift outweighs the residuals and the gradient is small: there the
        # statistics lose digits to cancellation (≈ 1e-12 of ∇f), so the reference is exact.
        assert_near_extended(rows, X, y, best + 0.01 * rng.normal(size=rows.dim))


@pytest.mark.parametrize("how", ["as chosen", "column sums tried first", "r summed"])
@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("centred", [True, False])
def test_both_ways_of_summing_give_the_same_numbers(
        how: str, d: int, centred: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # The statistics' f(w, 0) predicts whether the column-sum identities are accurate, and the
    # rows' ‖s‖² confirms it; force the attempt (so that the check must catch the bad cases)
    # or skip it.
    if how == "column sums tried first":
        monkeypatch.setattr(RowsLeastSquares, "_loss_at_zero", lambda self, theta: math.inf)
    elif how == "r summed":
        monkeypatch.setattr(RowsLeastSquares, "_identities_hold", lambda self, *args: False)
    n = 2 * slice_rows(d) + 3
    for shift in (0.0, 1e4):
        X, y = problem(7 * d, n, d, shift=shift, centred=centred)
        rows = RowsLeastSquares.from_rows(X, y)
        best = np.linalg.lstsq(np.column_stack([X, np.ones(n)]), y, rcond=None)[0]
        # Near the fit and with b ≈ 1e4 the statistics themselves lose ≈ 1e-12 of ∇f: compare
        # to the exact values.
        thetas = [np.append(np.full(d, 0.2), b) for b in (0.0, 1e-17, 0.5, shift + 0.1, -3e3)]
        for theta in [*thetas, best + 1e-3]:
            assert_near_extended(rows, X, y, theta)


@pytest.mark.parametrize("d", [1, 2])
def test_centred_rows_take_the_shorter_pass(d: int, monkeypatch: pytest.MonkeyPatch) -> None:
    # Not a timing test: which sums are formed. Centred rows (the standardised coordinates
    # of every default fit) need no Σr pass; a large mean with b far from 0 needs it.
    passes: list[bool] = []
    sums = RowsLeastSquares._sums

    def spy(self: RowsLeastSquares, w: np.ndarray, b: float, total: bool
            ) -> tuple[float, np.ndarray, float]:
        passes.append(total)
        return sums(self, w, b, total)

    monkeypatch.setattr(RowsLeastSquares, "_sums", spy)
    n = 3 * slice_rows(d) + 5
    rows = RowsLeastSquares.from_rows(*problem(d, n, d, centred=True))
    rng = np.random.default_rng(d)
    for theta in [np.zeros(d + 1), *(rng.normal(size=d + 1) * 3 for _ in range(5))]:
        rows.loss_and_grad(theta)
    assert passes == [False] * 6
    passes.clear()
    X, y = problem(d, n, d, shift=1e4, noise=1e-3)
    rows = RowsLeastSquares.from_rows(X, y)
    rows.loss_and_grad(np.linalg.lstsq(np.column_stack([X, np.ones(n)]), y, rcond=None)[0])
    assert passes == [True]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), d=st.sampled_from([1, 2, 5]), intercept=st.booleans(),
       n=st.one_of(st.integers(1, 50), st.integers(ROWS_CHUNK - 3, 2 * ROWS_CHUNK + 3)),
       shift=st.floats(-1e3, 1e3), spread=st.floats(0.1, 10.0),
       near_fit=st.booleans(), centred=st.booleans())
def test_rows_engine_matches_extended_precision(seed: int, d: int, intercept: bool, n: int,
                                                shift: float, spread: float, near_fit: bool,
                                                centred: bool) -> None:
    X, y = problem(seed, n, d, shift=shift if intercept else 0.0, centred=centred)
    rows = RowsLeastSquares.from_rows(X, y, intercept=intercept)
    rng = np.random.default_rng(seed)
    theta = spread * rng.normal(size=rows.dim)
    if near_fit and n > rows.dim:
        design = np.column_stack([X, np.ones(n)]) if intercept else X
        theta = np.linalg.lstsq(design, y, rcond=None)[0] + 1e-3 * theta
    assert_near_extended(rows, X, y, theta)


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("centred", [True, False])
def test_rows_gradient_is_the_central_difference_of_the_loss(d: int, intercept: bool,
                                                             centred: bool) -> None:
    n = slice_rows(d) + 11
    X, y = problem(30 + d, n, d, shift=5.0 if intercept else 0.0, centred=centred)
    rows = RowsLeastSquares.from_rows(X, y, intercept=intercept)
    theta = np.random.default_rng(d).normal(size=rows.dim)
    loss, grad = rows.loss_and_grad(theta)
    for i in range(rows.dim):
        h = 1e-4 * max(1.0, abs(theta[i]))
        step = np.zeros(rows.dim)
        step[i] = h
        # f is quadratic, so the central difference is exact up to rounding (≈ ε·f/h).
        fd = (rows.loss(theta + step) - rows.loss(theta - step)) / (2 * h)
        assert fd == pytest.approx(grad[i], rel=1e-7, abs=1e-9 * (1 + loss) / h)


def test_rows_slices_cover_every_row_once() -> None:
    for d in (1, 4):
        k = slice_rows(d)
        for n in (1, k, k + 1, 3 * k + 7):
            X, y = problem(n, n, d)
            rows = RowsLeastSquares.from_rows(X, y)
            zs = [zc for zc, *_ in rows._slices]
            assert sum(len(zc) for zc in zs) == n
            assert all(len(zc) <= k for zc in zs)
            assert np.array_equal(np.concatenate(zs).reshape(n, d), X)
            assert all(np.shares_memory(scratch, rows._r) for _, _, scratch, _ in rows._slices)
