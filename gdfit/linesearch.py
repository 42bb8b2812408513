"""One-dimensional searches the step policies are built on, testable on their own.

:func:`scalar_search_wolfe` finds a step meeting the strong Wolfe conditions for any smooth
φ(α) (in the manner of ``scipy.optimize``'s ``scalar_search_wolfe2``), and
:func:`power_iteration` estimates the largest eigenvalue of a symmetric positive semidefinite
operator from its products alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gdfit.objective import Vector


@dataclass(frozen=True)
class WolfeSearch:
    """Outcome of :func:`scalar_search_wolfe`.

    ``alpha``, ``phi`` and ``derphi`` are the accepted step, φ(α) and φ'(α) when ``ok``;
    ``evaluations`` counts the φ evaluations (trial points); ``reason`` says what happened.
    """

    ok: bool
    alpha: float
    phi: float
    derphi: float
    evaluations: int
    reason: str


def _interpolate(lo: float, hi: float, phi_lo: float, derphi_lo: float, phi_hi: float) -> float:
    """Minimiser of the quadratic through φ(lo), φ'(lo), φ(hi), kept well inside [lo, hi]."""
    delta = hi - lo
    denom = 2.0 * (phi_hi - phi_lo - derphi_lo * delta)
    guard = 0.1 * abs(delta)
    if denom > 0:
        trial = lo - derphi_lo * delta * delta / denom
        if min(lo, hi) + guard <= trial <= max(lo, hi) - guard:
            return trial
    return lo + 0.5 * delta  # bisection when the model is useless or too near an end


def scalar_search_wolfe(
    phi: Callable[[float], float],
    derphi: Callable[[float], float],
    phi0: float,
    derphi0: float,
    *,
    alpha1: float = 1.0,
    alpha_max: float = 1e100,
    c1: float = 1e-4,
    c2: float = 0.9,
    max_bracket: int = 60,
    max_zoom: int = 60,
) -> WolfeSearch:
    """Find α > 0 satisfying the strong Wolfe conditions for φ.

    ::

        φ(α) ≤ φ(0) + c₁·α·φ'(0)       and       |φ'(α)| ≤ c₂·|φ'(0)|

    Bracketing phase (Nocedal & Wright, Algorithm 3.5): trial steps α₁, 2α₁, 4α₁, … until one
    violates sufficient decrease, fails to decrease φ, or has φ' ≥ 0; then the zoom phase
    (Algorithm 3.6) shrinks the bracket by safeguarded quadratic interpolation. Requires
    φ'(0) < 0 and 0 < c₁ < c₂ < 1.

    Returns
    -------
    WolfeSearch
        ``ok`` False (with the reason) when φ'(0) ≥ 0, no bracket is found within
        ``max_bracket`` doublings (φ unbounded below along the line) or the zoom does not
        converge in ``max_zoom`` steps (typically rounding noise in φ).
    """
    if not derphi0 < 0:
        return WolfeSearch(False, 0.0, phi0, derphi0, 0,
                           f"not a descent direction (φ'(0) = {derphi0:.3g} ≥ 0)")
    evals = 0

    def sufficient(alpha: float, value: float) -> bool:
        return value <= phi0 + c1 * alpha * derphi0

    def curvature(slope: float) -> bool:
        return abs(slope) <= -c2 * derphi0

    def zoom(lo: float, hi: float, phi_lo: float, derphi_lo: float,
             phi_hi: float) -> WolfeSearch:
        nonlocal evals
        for _ in range(max_zoom):
            alpha = _interpolate(lo, hi, phi_lo, derphi_lo, phi_hi)
            value = phi(alpha)
            evals += 1
            if not sufficient(alpha, value) or value >= phi_lo:
                hi, phi_hi = alpha, value
                continue
            slope = derphi(alpha)
            if curvature(slope):
                return WolfeSearch(True, alpha, value, slope, evals, "strong Wolfe conditions hold")
            if slope * (hi - lo) >= 0:
                hi, phi_hi = lo, phi_lo
            lo, phi_lo, derphi_lo = alpha, value, slope
            if abs(hi - lo) <= 1e-15 * max(abs(lo), abs(hi)):
                break
        return WolfeSearch(False, 0.0, phi0, derphi0, evals,
                           f"zoom did not find a strong-Wolfe step in [{min(lo, hi):.3g}, "
                           f"{max(lo, hi):.3g}] after {evals} trials (φ is rounding noise "
                           "at this scale)")

    prev, phi_prev, derphi_prev = 0.0, phi0, derphi0
    alpha = min(alpha1, alpha_max)
    for i in range(max_bracket):
        value = phi(alpha)
        evals += 1
        if not math.isfinite(value):  # overflow: the trial is far too long, shrink towards prev
            alpha = prev + 0.1 * (alpha - prev)
            continue
        if not sufficient(alpha, value) or (i > 0 and value >= phi_prev):
            return zoom(prev, alpha, phi_prev, derphi_prev, value)
        slope = derphi(alpha)
        if curvature(slope):
            return WolfeSearch(True, alpha, value, slope, evals, "strong Wolfe conditions hold")
        if slope >= 0:
            return zoom(alpha, prev, value, slope, phi_prev)
        if alpha >= alpha_max:
            break
        prev, phi_prev, derphi_prev = alpha, value, slope
        alpha = min(2.0 * alpha, alpha_max)
    return WolfeSearch(False, 0.0, phi0, derphi0, evals,
                       f"no step up to α = {alpha:.3g} brackets a strong-Wolfe point "
                       f"({evals} trials): f keeps decreasing along the line")


def power_iteration(hvp: Callable[[Vector], Vector], dim: int, *, tol: float = 1e-10,
                    max_iter: int = 10_000, seed: int = 0) -> tuple[float, int]:
    """Largest eigenvalue of a symmetric positive semidefinite H given only v ↦ H·v.

    Power iteration v ← Hv/‖Hv‖ from a fixed pseudo-random start (so that the answer is
    reproducible and the start is almost surely not orthogonal to the top eigenvector), with
    the Rayleigh quotient vᵀHv as the estimate; stops when it changes by ≤ ``tol`` relative.
    The estimate approaches λ_max from below (Golub & Van Loan, *Matrix Computations*, §8.2).

    Returns
    -------
    (float, int)
        The estimate (0.0 for H = 0) and the number of products used.
    """
    v = np.random.default_rng(seed).standard_normal(dim)
    v /= np.sqrt(v @ v)
    estimate = 0.0
    for k in range(1, max_iter + 1):
        w = hvp(v)
        new = float(v @ w)
        size = float(np.sqrt(w @ w))
        if size == 0.0:
            return 0.0, k
        v = w / size
        if abs(new - estimate) <= tol * abs(new):
            return new, k
        estimate = new
    return estimate, max_iter
