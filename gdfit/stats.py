"""Inference for a fitted linear model: standard errors, t and F tests, R² (R's ``summary(lm)``).

For a model with p parameters fitted to n rows, residuals r and residual sum of squares
RSS = Σ r², the usual (Gaussian, homoscedastic) formulas are

    σ̂² = RSS / (n − p)                     residual variance on n − p degrees of freedom
    Cov(β̂) = σ̂²·(VᵀV)⁻¹                     V the raw design, with the column of ones
    t_j = β̂_j / se_j,   p_j = 2·P(T_{n−p} > |t_j|),   CI = β̂_j ± t_{(1+level)/2, n−p}·se_j
    R² = 1 − RSS/TSS,   R̄² = 1 − (1 − R²)(n − i)/(n − p),   F = ((TSS − RSS)/(p − i)) / σ̂²

where i = 1 with an intercept (TSS = Σ(y − ȳ)²) and i = 0 without one (TSS = Σ y², the
uncentred R² that NIST certifies for NoInt1/2). (VᵀV)⁻¹ is never formed: with V = F·T⁻¹ for
a well-conditioned basis F (see :mod:`gdfit.basis`) and F = QR, Cov(β̂) = σ̂²·(T R⁻¹)(T R⁻¹)ᵀ,
so se_j = σ̂·‖row j of T R⁻¹‖ from one triangular solve. Residuals are computed from the raw
rows in extended precision.

Conventions: with n = p the residual variance is undefined and so are the standard errors,
t values and intervals (NaN, shown "—"); an exact fit (residuals at rounding level) has a
residual SD of 0, zero standard errors and infinite t, and the statistics say so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdfit.basis import LD, Basis
from gdfit.errors import OptionError

#: Residuals no larger than this many ulps of the fitted terms make an exact fit.
EXACT_FIT_ULPS = 32


@dataclass(frozen=True)
class ParameterStats:
    """One row of the coefficient table."""

    name: str
    estimate: float
    std_error: float
    t_value: float
    p_value: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class FitStatistics:
    """The inference summary of one fit.

    ``parameters`` lists the intercept first (named ``(Intercept)``), then the features.
    ``notes`` are plain sentences about conventions applied (exact fit, n = p, a run that
    stopped short of its tolerance).
    """

    parameters: tuple[ParameterStats, ...]
    n: int
    p: int
    intercept: bool
    df_model: int
    df_residual: int
    rss: float
    tss: float
    residual_sd: float
    rmse: float
    r2: float
    adj_r2: float
    f_statistic: float
    f_p_value: float
    ci_level: float
    exact_fit: bool
    converged: bool
    status: str
    notes: tuple[str, ...] = field(default=())


def check_level(level: float) -> float:
    """Validate a confidence level (0 < level < 1)."""
    if not (math.isfinite(level) and 0 < level < 1):
        raise OptionError(f"level= must lie strictly between 0 and 1 (e.g. 0.95), got {level:g}")
    return float(level)


def t_quantile(q: float, df: int) -> float:
    """The q-quantile of Student's t with df degrees of freedom."""
    from scipy.special import stdtrit  # scipy.special loads in a third of scipy.stats' time

    return float(stdtrit(df, q))


def t_two_sided_p(t: float, df: int) -> float:
    """Two-sided p-value P(|T| ≥ |t|) for Student's t with df degrees of freedom."""
    from scipy.special import stdtr

    return float(2 * stdtr(df, -abs(t)))


def f_survival(f: float, dfn: int, dfd: int) -> float:
    """P(F ≥ f) for the F distribution on (dfn, dfd) degrees of freedom."""
    from scipy.special import fdtrc

    return float(fdtrc(dfn, dfd, f))


def parameter_table(names: Sequence[str], estimates: Sequence[float],
                    std_errors: Sequence[float], df_res: int, level: float,
                    intercept: bool) -> tuple[ParameterStats, ...]:
    """Per-parameter t, two-sided p and CI at ``level``, in θ order (w…, b) given, intercept
    first returned. A zero standard error (exact fit) gives t = ±∞, p = 0 and a point interval;
    a NaN one (n = p) gives NaN throughout."""
    quantile = t_quantile(0.5 + level / 2, df_res) if df_res > 0 else math.nan
    rows = []
    for name, est, se in zip(names, estimates, std_errors, strict=True):
        if math.isnan(se):
            t = pval = lo = hi = math.nan
        elif se == 0:
            t = math.copysign(math.inf, est) if est != 0 else math.nan
            pval = 0.0 if est != 0 else math.nan
            lo = hi = est
        else:
            t = est / se
            pval = t_two_sided_p(t, df_res)
            lo, hi = est - quantile * se, est + quantile * se
        rows.append(ParameterStats(name, est, se, t, pval, lo, hi))
    if intercept:
        rows.insert(0, rows.pop())
    return tuple(rows)


def f_test(rss: float, tss: float, df_model: int, df_res: int) -> tuple[float, float]:
    """The overall F statistic ((TSS − RSS)/df_model)/(RSS/df_res) and its p-value."""
    if not (df_res > 0 and df_model > 0 and tss > 0):
        return math.nan, math.nan
    if rss == 0:
        return math.inf, 0.0
    f_stat = ((tss - rss) / df_model) / (rss / df_res)
    return f_stat, f_survival(f_stat, df_model, df_res)


def _inverse_r_rows(T: np.ndarray, design: np.ndarray) -> np.ndarray:
    """T·R⁻¹ for the QR factorisation of ``design`` (p × p), by a triangular solve."""
    from scipy.linalg import solve_triangular

    r = np.linalg.qr(design, mode="r")
    # M·R = T  ⇔  Rᵀ·Mᵀ = Tᵀ.
    return np.asarray(solve_triangular(r, T.T, trans="T", lower=False)).T


def compute_statistics(basis: Basis, y: np.ndarray, w: np.ndarray, b: float | None, *,
                       level: float = 0.95, converged: bool = True, status: str = "converged",
                       message: str = "") -> FitStatistics:
    """The inference summary of the raw coefficients (w, b) fitted to ``basis``'s rows and y.

    Parameters
    ----------
    basis : Basis
        The design, with a well-conditioned basis for the standard errors.
    y : ndarray
        The target.
    w, b : the estimates in data units (b None without intercept).
    level : float
        Confidence level of the intervals.
    converged, status, message :
        How the run that produced the estimates ended; a run that stopped short of its
        tolerance is flagged in ``notes``.
    """
    level = check_level(level)
    n, p, intercept = basis.n, basis.dim, basis.intercept
    y_ld = np.asarray(y, dtype=np.float64).astype(LD)
    coefs = [float(v) for v in w]
    residual = basis.residuals_ld(np.asarray(y, dtype=np.float64), coefs, b)
    magnitude = float(np.max(np.maximum(np.abs(np.asarray(y, dtype=np.float64)),
                                        basis.raw_magnitude(coefs, b)))) if n else 0.0
    max_res = float(np.max(np.abs(residual))) if n else 0.0
    centre = y_ld.mean() if intercept else LD(0)
    tss_ld = np.sum((y_ld - centre) ** 2)
    tss = float(tss_ld)
    df_res = n - p
    df_model = p - int(intercept)
    notes: list[str] = []
    exact_fit = bool(max_res <= EXACT_FIT_ULPS * np.finfo(np.float64).eps * magnitude)
    rss_ld = LD(0) if exact_fit else np.sum(residual * residual)
    rss = float(rss_ld)
    if df_res == 0:
        sigma = math.nan
        notes.append(f"n = p = {n}: the fit interpolates and leaves no residual degrees of "
                     "freedom, so the residual SD, standard errors, t values and intervals "
                     "are undefined")
    else:
        sigma = math.sqrt(rss / df_res)
        if exact_fit:
            notes.append(f"exact fit: every residual is at rounding level (max |r| = "
                         f"{max_res:.3g}), so the residual SD and the standard errors are 0")
    # se_j = σ̂·‖(T R⁻¹)_j‖, in θ order (w…, b).
    unit_se = np.sqrt(np.sum(_inverse_r_rows(basis.matrix, basis.design()) ** 2, axis=1))
    estimates = list(map(float, w)) + ([float(b)] if b is not None else [])
    names = list(basis.names) + (["(Intercept)"] if intercept else [])
    rows = parameter_table(names, estimates, [sigma * float(u) for u in unit_se], df_res, level,
                           intercept)
    # (TSS − RSS)/TSS in long double keeps the digits of a small R² (Wampler5: 0.0022).
    r2 = float((tss_ld - rss_ld) / tss_ld) if tss > 0 else math.nan
    adj = (1.0 - (1.0 - r2) * (n - int(intercept)) / df_res) if df_res > 0 else math.nan
    f_stat, f_p = f_test(rss, tss, df_model, df_res)
    if not converged:
        notes.append(f"gradient descent stopped short of its tolerance ({status}"
                     + (f": {message}" if message else "") + "); these statistics describe "
                     "unconverged estimates")
    return FitStatistics(
        parameters=rows, n=n, p=p, intercept=intercept, df_model=df_model,
        df_residual=df_res, rss=rss, tss=tss, residual_sd=sigma,
        rmse=math.sqrt(rss / n) if n else math.nan, r2=r2, adj_r2=adj, f_statistic=f_stat,
        f_p_value=f_p, ci_level=level, exact_fit=exact_fit, converged=converged,
        status=status, notes=tuple(notes))


def statistics(X: np.ndarray, y: np.ndarray, w: np.ndarray, b: float | None, *,
               features: tuple[str, ...] | None = None, level: float = 0.95) -> FitStatistics:
    """The inference summary of coefficients (w, b) on a plain design X (library helper).

    Examples
    --------
    >>> s = statistics([[0.0], [1.0], [2.0], [3.0]], [1.0, 3.1, 4.9, 7.0], [1.98], 1.03)
    >>> s.df_residual, round(s.r2, 4)
    (2, 0.9992)
    """
    from gdfit.basis import ColumnBasis

    Xa = np.asarray(X, dtype=np.float64)
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    names = features or tuple(f"x{j}" for j in range(Xa.shape[1]))
    basis = ColumnBasis(Xa, names, intercept=b is not None)
    return compute_statistics(basis, np.asarray(y, dtype=np.float64),
                              np.asarray(w, dtype=np.float64), b, level=level)


def summarise(basis: Basis, y: np.ndarray, result: Any, *, level: float = 0.95
              ) -> FitStatistics:
    """:func:`compute_statistics` for a :class:`~gdfit.result.FitResult` on ``basis``'s rows."""
    return compute_statistics(basis, y, result.w, result.b, level=level,
                              converged=result.success, status=result.status,
                              message=result.message)
