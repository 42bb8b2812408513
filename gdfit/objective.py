"""The least-squares objective, backed by sufficient statistics.

Mean squared error of the linear model ``y ≈ X·w + b``::

    f(w, b) = (1/n) Σᵢ (yᵢ − xᵢᵀw − b)²

depends on the data only through n, the means x̄ and ȳ, and the centred second moments
G = XcᵀXc/n, c = Xcᵀyc/n and s = ycᵀyc/n (Xc = X − x̄, yc = y − ȳ). With δ = ȳ − x̄ᵀw − b,

    f(w, b) = s − 2cᵀw + wᵀGw + δ²
    ∂f/∂w   = 2(Gw − c) − 2δ·x̄
    ∂f/∂b   = −2δ

so every evaluation costs O(d²) however many rows there are. The moments are centred before
they are formed because uncentred sums lose digits (κ(XᵀX) = κ(X)²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from math import hypot

import numpy as np
from numpy.typing import NDArray

from gdfit.errors import DataError

Vector = NDArray[np.float64]


def vector_norm(v: Vector) -> float:
    """‖v‖₂ as ``math.hypot`` of the entries.

    For the few entries of a parameter vector this is cheaper than ``sqrt(v·v)`` (one
    ``tolist`` and one C call, no NumPy dispatch), never overflows or underflows in the
    squares, and is correctly rounded or nearly so.
    """
    return hypot(*v.tolist())


@dataclass(frozen=True, eq=False)
class LeastSquares:
    """Mean squared error of ``y ≈ X·w (+ b)`` as a function of θ = (w, b), or θ = w.

    Parameters
    ----------
    n : int
        Number of observations.
    x_mean : ndarray, shape (d,)
        Column means x̄.
    y_mean : float
        Mean of the target ȳ.
    gram : ndarray, shape (d, d)
        Centred Gram matrix G = XcᵀXc / n.
    xty : ndarray, shape (d,)
        Centred cross moments c = Xcᵀyc / n.
    yty : float
        Centred second moment of the target s = ycᵀyc / n.
    intercept : bool
        Whether θ carries the intercept b as its last component.
    """

    n: int
    x_mean: Vector
    y_mean: float
    gram: Vector
    xty: Vector
    yty: float
    intercept: bool = True
    # Cached for the iteration loop, which calls the methods below ~10⁵ times a second: the
    # sizes, and with one feature the statistics as Python floats (scalar arithmetic beats
    # numpy's per-call overhead at that size; the formulas are the same).
    _d: int = field(init=False, repr=False, compare=False)
    _p: int = field(init=False, repr=False, compare=False)
    _scalars: tuple[float, float, float, float, float] | None = field(
        init=False, repr=False, compare=False)
    # With more features, one matrix-vector product gives every term (see _stacked).
    _stack: Vector = field(init=False, repr=False, compare=False)
    _shift: Vector = field(init=False, repr=False, compare=False)
    _xhat: Vector | None = field(init=False, repr=False, compare=False)
    _hstack: Vector = field(init=False, repr=False, compare=False)
    _hxhat: Vector = field(init=False, repr=False, compare=False)
    # What loss_grad_norm reads, in one tuple: unpacking it beats seven attribute lookups.
    _kernel: tuple[Vector, Vector, Vector | None, int, int, float, bool] = field(
        init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        d = int(np.shape(self.x_mean)[0])
        object.__setattr__(self, "_d", d)
        object.__setattr__(self, "_p", d + int(self.intercept))
        scalars = None
        if d == 1:
            scalars = (float(np.asarray(self.gram).reshape(-1)[0]), float(self.xty[0]),
                       float(self.x_mean[0]), float(self.y_mean), float(self.yty))
        object.__setattr__(self, "_scalars", scalars)
        self._stacked()

    def _stacked(self) -> None:
        """Precompute the matrices that give f, ∇f and H·v in a few NumPy calls (d ≥ 2).

        With S = [[2G, 0], [2x̄ᵀ, 2], [2cᵀ, 0]] (the column of 2 only with an intercept) and
        k = (2c, 2ȳ, 0), the vector v = Sθ − k holds 2(Gw − c), −2δ and 2cᵀw, from which

            ∇f = v[:p] − 2δ·(x̄, 0),   f = s + ½(θᵀv[:p] − 2cᵀw) + δ(b + δ)

        (θᵀv[:p] = 2wᵀ(Gw − c) − 2bδ). These are the centred formulas of the class docstring,
        term for term; the factor 2 is folded into S and k, which is exact in floating point.
        Likewise [[2G, 0], [x̄ᵀ, 1]]·v = (2G·v_w, m) with m = x̄ᵀv_w + v_b gives
        H·v = (2G·v_w, m) + m·(2x̄, 1).
        """
        d, p = self._d, self._p
        gram = np.asarray(self.gram, dtype=np.float64).reshape(d, d)
        x_mean = np.asarray(self.x_mean, dtype=np.float64)
        xty = np.asarray(self.xty, dtype=np.float64)
        stack = np.zeros((d + 2, p))
        stack[:d, :d] = 2.0 * gram
        stack[d, :d] = 2.0 * x_mean
        stack[d + 1, :d] = 2.0 * xty
        hstack = np.zeros((d + 1, p))
        hstack[:d, :d] = 2.0 * gram
        hstack[d, :d] = x_mean
        if self.intercept:
            stack[d, d] = 2.0
            hstack[d, d] = 1.0
        xhat = np.zeros(p)
        xhat[:d] = x_mean
        object.__setattr__(self, "_stack", stack)
        object.__setattr__(self, "_shift", np.concatenate([2.0 * xty, [2.0 * self.y_mean, 0.0]]))
        object.__setattr__(self, "_xhat", xhat if x_mean.any() else None)
        object.__setattr__(self, "_hstack", hstack)
        object.__setattr__(self, "_hxhat", np.concatenate([2.0 * x_mean, [1.0]]))
        object.__setattr__(self, "_kernel", (stack, self._shift, self._xhat, d, p,
                                             float(self.yty), self.intercept))

    @classmethod
    def from_arrays(cls, X: NDArray[np.floating], y: NDArray[np.floating], *,
                    intercept: bool = True) -> LeastSquares:
        """Compute the statistics of the rows ``X`` (n × d) and ``y`` (n) in two passes."""
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0]:
            raise DataError(f"X must be n × d and y of length n; got {X.shape} and {y.shape}")
        n = X.shape[0]
        if n == 0:
            raise DataError("no observations to fit")
        with np.errstate(over="ignore", invalid="ignore"):
            x_mean = X.mean(axis=0)
            y_mean = float(y.mean())
            Xc = X - x_mean
            yc = y - y_mean
            gram, xty, yty = (Xc.T @ Xc) / n, (Xc.T @ yc) / n, float(yc @ yc) / n
        if not (np.isfinite(gram).all() and np.isfinite(xty).all() and math.isfinite(yty)) \
                and np.isfinite(X).all() and np.isfinite(y).all():
            # Finite values whose squares overflow (|v| ≳ 1e154): as the streaming readers say.
            raise DataError("the values are too large to sum in double precision")
        return cls(n=n, x_mean=x_mean, y_mean=y_mean, gram=gram, xty=xty, yty=yty,
                   intercept=intercept)

    @property
    def n_features(self) -> int:
        """Number of x columns d."""
        return self._d

    @property
    def dim(self) -> int:
        """Number of parameters p = d (+ 1 with an intercept)."""
        return self._p

    def split(self, theta: Vector) -> tuple[Vector, float]:
        """Return (w, b) from θ; b is 0.0 for a model without intercept."""
        d = self._d
        return theta[:d], float(theta[d]) if self.intercept else 0.0

    def loss(self, theta: Vector) -> float:
        """Mean squared error f(θ)."""
        return self.loss_and_grad(theta)[0]

    def grad(self, theta: Vector) -> Vector:
        """Gradient ∇f(θ)."""
        return self.loss_and_grad(theta)[1]

    def loss_and_grad(self, theta: Vector) -> tuple[float, Vector]:
        """Return f(θ) and ∇f(θ) (see :meth:`loss_grad_norm`)."""
        loss, grad, _ = self.loss_grad_norm(theta)
        return loss, grad

    def loss_grad_norm(self, theta: Vector) -> tuple[float, Vector, float]:
        """Return f(θ), ∇f(θ) and ‖∇f(θ)‖₂, from one product S·θ (see :meth:`_stacked`).

        The descent needs all three at every iteration; computed together they cost about
        half as many NumPy calls as apart. ‖∇f‖ is :func:`vector_norm` of the gradient. A
        subclass that computes f and ∇f another way must override both methods (enforced when
        the subclass is defined).
        """
        if self._scalars is not None:  # one feature: the same formulas on Python floats
            g00, c0, x0, y_mean, yty = self._scalars
            if self.intercept:
                w0, b = theta.tolist()
            else:
                w0, b = theta.item(0), 0.0
            r0 = g00 * w0 - c0
            delta = y_mean - x0 * w0 - b
            loss = yty + w0 * r0 - c0 * w0 + delta * delta
            gw0 = 2.0 * r0 - (2.0 * delta) * x0
            if self.intercept:
                gb = -2.0 * delta
                return max(loss, 0.0), np.array((gw0, gb)), hypot(gw0, gb)
            return max(loss, 0.0), np.array((gw0,)), abs(gw0)
        stack, shift, xhat, d, p, yty, intercept = self._kernel
        # ndarray.dot, not np.dot or @: for arrays this small the method's call costs the
        # least (no __array_function__ dispatch). One tolist() reads every scalar of v.
        v = stack.dot(theta) - shift
        head = v[:p]
        values = v.tolist()
        delta = -0.5 * values[d]
        b = theta.item(d) if intercept else 0.0
        loss = yty + 0.5 * (float(theta.dot(head)) - values[d + 1]) + delta * (b + delta)
        if loss < 0.0:  # rounding below an exact fit's 0
            loss = 0.0
        if xhat is None:  # x̄ = 0, as in the standardised coordinates: ∇f is v[:p] itself
            return loss, head, hypot(*values[:p])
        grad = head - (2.0 * delta) * xhat
        return loss, grad, hypot(*grad.tolist())

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if ("loss_and_grad" in own) != ("loss_grad_norm" in own):
            raise TypeError(f"{cls.__name__} must override loss_and_grad and loss_grad_norm "
                            "together: the descent calls the latter")

    def hvp(self, v: Vector) -> Vector:
        """Hessian-vector product H·v; H = 2·[[G + x̄x̄ᵀ, x̄], [x̄ᵀ, 1]] is constant."""
        if self._scalars is not None:
            g00, _, x0, _, _ = self._scalars
            vw0 = float(v[0])
            vb = float(v[1]) if self.intercept else 0.0
            m = x0 * vw0 + vb
            hw0 = 2.0 * (g00 * vw0 + m * x0)
            return np.array((hw0, 2.0 * m)) if self.intercept else np.array((hw0,))
        d = self._d
        u = np.dot(self._hstack, v)
        m = float(u[d])
        if not self.intercept:
            return u[:d] + m * self._hxhat[:d]
        u += m * self._hxhat
        return u

    def loss_change(self, grad: Vector, step: Vector) -> float:
        """f(θ + s) − f(θ) for a step s, given g = ∇f(θ).

        The objective is quadratic, so f(θ + s) − f(θ) = gᵀs + ½·sᵀHs exactly. Computing the
        change this way keeps its relative precision where subtracting two losses would leave
        only rounding noise (near the minimum the change is far below ε·f).
        """
        if self._scalars is not None:
            g00, _, x0, _, _ = self._scalars
            s0 = float(step[0])
            if self.intercept:
                s1 = float(step[1])
                m = x0 * s0 + s1
                gs = float(grad[0]) * s0 + float(grad[1]) * s1
                return gs + 0.5 * (s0 * (2.0 * (g00 * s0 + m * x0)) + s1 * (2.0 * m))
            m = x0 * s0 + 0.0
            return float(grad[0]) * s0 + 0.5 * (s0 * (2.0 * (g00 * s0 + m * x0)))
        return float(grad @ step) + 0.5 * float(step @ self.hvp(step))

    def hessian(self) -> Vector:
        """The Hessian matrix H (p × p)."""
        return np.column_stack([self.hvp(e) for e in np.eye(self.dim)])
