"""The exact least-squares solution that gradient descent is measured against.

Two ways to compute it, both returning a :class:`Reference` that says how it was computed,
how well conditioned the problem is and how many significant digits can be trusted:

* from the rows (:func:`reference_from_rows`): a QR factorisation of the centred design
  whose columns are scaled by powers of two (exact), then iterative refinement by the
  corrected semi-normal equations (Björck, *Numerical Methods for Least Squares Problems*,
  §2.5.4): with r = u − Aθ and Aᵀr computed in double-double arithmetic from the raw rows,

      RᵀR·δ = Aᵀr,    θ ← θ + δ,

  until δ no longer changes θ in float64. Each step multiplies the error by about κ(A)²·ε,
  so on nearly collinear columns (κ(A)² ≈ 10¹²) a few steps reach the least-squares solution
  of the float64 data to full double precision;
* from the sufficient statistics alone (:func:`reference_from_statistics`, the gram engine):
  the standardised normal equations G_z·v = c_z, solved by an eigendecomposition and refined
  once with the residual in long double. The statistics themselves carry rounding errors of
  order ε, which the solution inherits multiplied by κ(G_z): about 16 − log₁₀ κ(G_z) digits are
  trustworthy, and the reference says so.

The condition number reported is κ(G_z) = κ(A)², that of the standardised Gram matrix: it is
also what slows gradient descent down. Above :data:`CONDITION_WARN` gdfit warns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from gdfit.basis import DD, dd_add, dd_mul, dd_mul_dd, two_sum
from gdfit.objective import LeastSquares, Vector
from gdfit.scaling import AffineScaling

#: Above this condition number of the standardised Gram matrix gdfit warns: gradient descent
#: converges slowly and a reference from the statistics keeps fewer than 8 digits.
CONDITION_WARN = 1e8
#: Significant digits a float64 reference is claimed to be exact to, at most.
FULL_DIGITS = 15
#: Refinement steps, at most.
MAX_REFINE = 10
_EPS = float(np.finfo(np.float64).eps)


@dataclass(frozen=True, eq=False)
class Reference:
    """A least-squares solution and how far to trust it.

    Attributes
    ----------
    w, b : ndarray, float or None
        The solution in data units (b is None without intercept).
    method : str
        ``"qr+refinement"`` (from the rows) or ``"normal equations"`` (from the statistics).
    condition : float
        κ(G_z), the condition number of the standardised Gram matrix (κ of the standardised
        design, squared); inf when the columns are linearly dependent.
    digits : int
        Significant digits of ``(w, b)`` that are exact (relative to the largest standardised
        coefficient), at most :data:`FULL_DIGITS`.
    """

    w: Vector
    b: float | None
    method: str
    condition: float
    digits: int

    @property
    def solution(self) -> tuple[Vector, float | None]:
        """(w, b)."""
        return self.w, self.b

    @property
    def ill_conditioned(self) -> bool:
        """Whether κ(G_z) exceeds :data:`CONDITION_WARN`."""
        return not self.condition <= CONDITION_WARN


def _pow2(value: float) -> float:
    """The power of two nearest above |value| (1 for 0 or a non-finite value)."""
    if value == 0 or not math.isfinite(value):
        return 1.0
    return math.ldexp(1.0, math.frexp(abs(value))[1])


def _digits(relative_error: float) -> int:
    if relative_error <= 0:
        return FULL_DIGITS
    return int(max(0, min(FULL_DIGITS, math.floor(-math.log10(relative_error)))))


def _condition(singular: Vector) -> float:
    """κ² from the singular values of a standardised design."""
    if singular.size == 0:
        return 1.0
    top, low = float(singular.max()), float(singular.min())
    return math.inf if low <= 0 else (top / low) ** 2


#: Floats per temporary array of the refinement (columns are handled in blocks this big).
BLOCK_FLOATS = 1 << 18


def _design_condition(T: Vector) -> float:
    """κ(T)² for the triangular factor T of a design with unit columns: from its singular
    values, or for a wide design (where the SVD costs seconds) from the eigenvalues of TᵀT,
    which are κ² already, as long as they resolve the smallest one."""
    if T.shape[0] > 200:
        values = np.linalg.eigvalsh(T.T @ T)
        low, top = float(values[0]), float(values[-1])
        if low > top * 1e-12:
            return top / low
    return _condition(np.asarray(np.linalg.svd(T, compute_uv=False), dtype=np.float64))


def dd_tree(a: DD, axis: int = 0) -> DD:
    """Σ of a double-double array along ``axis``, by a pairwise tree of double-double
    additions (vectorised over the other axis)."""
    hi, lo = np.moveaxis(a[0], axis, 0), np.moveaxis(a[1], axis, 0)
    if hi.shape[0] == 0:
        return np.zeros(hi.shape[1:]), np.zeros(hi.shape[1:])
    while hi.shape[0] > 1:
        if hi.shape[0] % 2:
            pad = np.zeros((1, *hi.shape[1:]))
            hi, lo = np.concatenate([hi, pad]), np.concatenate([lo, pad])
        hi, lo = dd_add((hi[0::2], lo[0::2]), (hi[1::2], lo[1::2]))
    return hi[0], lo[0]


def reference_from_rows(X: Vector, y: Vector, intercept: bool = True) -> Reference:
    """The least-squares solution of ``y ≈ X·w (+ b)``, to full double precision when κ allows.

    The design is centred at the float64 column means m and scaled by powers of two p (exact):
    A = [(X − m)·p, 1]. The refinement works on the exact A and u = (y − m_y)·p_y, formed in
    double-double from the raw rows, so its fixed point is the least-squares solution of the
    float64 data themselves.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    n, d = X.shape
    m = X.mean(axis=0) if intercept else np.zeros(d)
    m_y = float(y.mean()) if intercept else 0.0
    with np.errstate(all="ignore"):
        a_hi, a_lo = two_sum(X, np.broadcast_to(-m, X.shape))  # X − m, exactly
        p = np.array([1.0 / _pow2(v) for v in np.abs(a_hi).max(axis=0, initial=0.0)])
        a_hi, a_lo = a_hi * p, a_lo * p
        uh, ul = two_sum(y, np.full(n, -m_y))
    p_y = 1.0 / _pow2(float(np.abs(uh).max(initial=0.0)))
    u: DD = (uh * p_y, ul * p_y)
    A = np.column_stack([a_hi, np.ones(n)]) if intercept else a_hi
    R: Vector = np.asarray(np.linalg.qr(A, mode="r"), dtype=np.float64)
    del A
    # Column norms equalised for the condition number: that of the standardised design.
    norms = np.sqrt(np.einsum("ij,ij->j", R, R))
    norms[norms == 0] = 1.0
    condition = _design_condition(R / norms)
    q = d + int(intercept)
    # θ in double-double (theta + theta_lo): b = m_y + c/p_y − Σ w_j·m_j cancels, and the
    # rounding of a float64 w_j, times m_j, would be most of what is left.
    theta, theta_lo = np.zeros(q), np.zeros(q)
    step = max(1, BLOCK_FLOATS // max(n, 1))
    blocks = [slice(k, min(k + step, d)) for k in range(0, d, step)]

    def solve(g: Vector) -> Vector:
        z = _triangular(R.T, g, lower=True)
        return _triangular(R, z, lower=False)

    def residual() -> DD:
        r: DD = u
        for blk in blocks:
            cols = (a_hi[:, blk], a_lo[:, blk])
            part = dd_add(dd_mul(cols, np.broadcast_to(theta[blk], cols[0].shape)),
                          dd_mul(cols, np.broadcast_to(theta_lo[blk], cols[0].shape)))
            s_hi, s_lo = dd_tree(part, axis=1)
            r = dd_add(r, (-s_hi, -s_lo))
        if intercept:
            r = dd_add(r, (np.full(n, -theta[d]), np.full(n, -theta_lo[d])))
        return r

    def gradient(r: DD) -> Vector:
        g = np.empty(q)
        rr = (r[0][:, None], r[1][:, None])
        for blk in blocks:
            cols = (a_hi[:, blk], a_lo[:, blk])
            t_hi, t_lo = dd_tree(dd_mul_dd(cols, (np.broadcast_to(rr[0], cols[0].shape),
                                                  np.broadcast_to(rr[1], cols[0].shape))))
            g[blk] = t_hi + t_lo
        if intercept:
            t_hi, t_lo = dd_tree(r)
            g[d] = float(t_hi + t_lo)
        return g

    rel = math.inf
    with np.errstate(all="ignore"):
        for _ in range(MAX_REFINE + 1):
            delta = solve(gradient(residual()))
            if not np.isfinite(delta).all():
                break
            size = float(np.abs(theta).max(initial=0.0))
            new_rel = float(np.abs(delta).max(initial=0.0)) / size if size > 0 else (
                0.0 if not delta.any() else math.inf)
            if new_rel > rel:  # the refinement does not contract: κ²ε ≳ 1
                break
            s, e = two_sum(theta, delta)
            theta, theta_lo = two_sum(s, e + theta_lo)
            rel = new_rel
            if rel <= _EPS * 1e-3:  # the low parts settled too
                break
    digits = _digits(rel if rel > 2 * _EPS else 0.0)
    if condition * _EPS > 0.1:
        # κ(A)²·ε ≳ 1: the refinement does not contract and its last step says little; the
        # QR solution's own error is about κ(A)·ε.
        digits = min(digits, _digits(math.sqrt(condition) * _EPS))
    exact_theta = [Fraction(float(h)) + Fraction(float(lo))
                   for h, lo in zip(theta, theta_lo, strict=True)]
    # w_j = v_j·p_j/p_y: powers of two, exact.
    exact_w = [exact_theta[j] * Fraction(float(p[j])) / Fraction(p_y) for j in range(d)]
    w = np.array([float(v) for v in exact_w], dtype=np.float64)
    b = None
    if intercept:
        terms = [wj * Fraction(float(mj)) for wj, mj in zip(exact_w, m, strict=True)]
        exact_b = Fraction(m_y) + exact_theta[d] / Fraction(p_y) - sum(terms, Fraction(0))
        # The refinement leaves θ to about ε² of itself: a b below that, beside the terms it
        # is the difference of, is 0 (y = 2x gives b = 0, not 6e-48).
        noise = 16 * _EPS**2 * float(abs(Fraction(m_y)) + sum(abs(t) for t in terms))
        b = 0.0 if abs(float(exact_b)) <= noise else float(exact_b)
    return Reference(np.asarray(w, dtype=np.float64), b, "qr+refinement", condition, digits)


def _triangular(T: Vector, g: Vector, *, lower: bool) -> Vector:
    """Solve T·x = g for a triangular T by substitution."""
    q = g.shape[0]
    x = np.zeros(q)
    order = range(q) if lower else range(q - 1, -1, -1)
    for i in order:
        s = g[i] - T[i] @ x
        x[i] = s / T[i, i] if T[i, i] != 0 else 0.0
    return x


def reference_from_statistics(problem: LeastSquares) -> Reference:
    """The least-squares solution from the statistics alone (no rows at hand).

    Solves the standardised normal equations G_z·v = c_z by an eigendecomposition (the
    eigenvalues give κ(G_z)), with one refinement step whose residual c_z − G_z·v is computed
    in long double. Exact to about 16 − log₁₀(f(n)·κ(G_z)) digits: the statistics' own
    rounding errors (relative f(n)·ε for sums of n rows, :func:`summation_factor`) are
    amplified by κ(G_z).
    """
    scaling = AffineScaling.standard(problem)
    scaled = scaling.transform(problem)
    if problem.intercept:
        G, c = scaled.gram, scaled.xty
    else:
        # Uncentred moments: (G + x̄x̄ᵀ)·v = c + x̄·ȳ.
        G = scaled.gram + np.outer(scaled.x_mean, scaled.x_mean)
        c = scaled.xty + scaled.x_mean * scaled.y_mean
    with np.errstate(all="ignore"):
        values, vectors = np.linalg.eigh(G)
        top = float(values.max(initial=0.0))
        keep = values > top * G.shape[0] * _EPS
        inverse = np.where(keep, 1.0 / np.where(keep, values, 1.0), 0.0)

        def solve(rhs: Vector) -> Vector:
            return np.asarray(vectors @ (inverse * (vectors.T @ rhs)), dtype=np.float64)

        v = solve(c)
        r = np.asarray(c.astype(np.longdouble) - G.astype(np.longdouble) @ v.astype(
            np.longdouble), dtype=np.float64)
        v = v + solve(r)
    low = float(values.min(initial=math.inf))
    condition = math.inf if low <= 0 or not keep.all() else top / low
    theta = np.append(v, scaled.y_mean - float(scaled.x_mean @ v)) if problem.intercept else v
    w, b = scaling.to_data(np.asarray(theta, dtype=np.float64))
    digits = 0
    if math.isfinite(condition):
        digits = _statistics_digits(G, c, v, vectors, inverse, problem, w, b)
    return Reference(w, b, "normal equations", condition, digits)


def summation_factor(n: int) -> float:
    """Typical rounding error of the statistics' sums over n rows, in units of ε: √n for a
    running sum of up to 1024 terms (a BLAS product, one chunk of the streaming pass), times
    the levels of the pairwise tree above (gdfit.stream sums its chunks pairwise)."""
    chunk = min(max(n, 1), 1024)
    return math.sqrt(chunk) * (1.0 + math.log2(max(1.0, n / 1024)))


def _statistics_digits(G: Vector, c: Vector, v: Vector, vectors: Vector, inverse: Vector,
                       problem: LeastSquares, w: Vector, b: float | None) -> int:
    """Digits of every coefficient that survive errors of relative size ε in the statistics.

    First order, one eigendirection u_k of G (eigenvalue λ_k) at a time: an error
    e_k = f(n)·ε·|u_k|ᵀ(|G|·|v| + |c|) in the equations (the statistics are sums of n
    rows' products, f = :func:`summation_factor`) moves v by u_k·e_k/λ_k, so
    |δv| ≤ Σ_k |u_k|·e_k/λ_k, with the same relative error for w_j = σ_y·v_j/σ_j. The
    intercept b = ȳ − Σ_j w_j·x̄_j = ȳ − aᵀv moves by Σ_k |aᵀu_k|·e_k/λ_k (taking each
    direction whole keeps the cancellation between nearly collinear columns) plus the
    rounding of its terms. Coefficients that are 0 to rounding are left out.
    """
    with np.errstate(all="ignore"):
        U = np.abs(vectors)
        e = _EPS * summation_factor(problem.n) * (U.T @ (np.abs(G) @ np.abs(v) + np.abs(c)))
        moved = e * inverse  # inverse is 1/λ_k, or 0 for a direction left out
        dv = U @ moved
        scale_v = float(np.abs(v).max(initial=0.0))
        significant = np.abs(v) > 1e-8 * scale_v
        errors = list((dv / np.abs(v))[significant])
        if b is not None:
            a = np.where(v != 0, w * problem.x_mean / np.where(v != 0, v, 1.0), 0.0)
            terms = np.abs(w * problem.x_mean)
            db = float(np.abs(a @ vectors) @ moved) + _EPS * (abs(problem.y_mean)
                                                               + float(terms.sum()))
            # b that is 0 to rounding beside its terms (a line through the origin) has no
            # relative digits to speak of: left out, as a coefficient v_j of 0 is.
            if abs(b) > 1e-8 * (abs(problem.y_mean) + float(terms.sum())):
                errors.append(db / abs(b))
    worst = max(errors, default=0.0)
    return _digits(worst) if math.isfinite(worst) else 0


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
