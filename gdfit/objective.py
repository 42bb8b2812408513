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

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gdfit.errors import DataError

Vector = NDArray[np.float64]


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
        x_mean = X.mean(axis=0)
        y_mean = float(y.mean())
        Xc = X - x_mean
        yc = y - y_mean
        return cls(n=n, x_mean=x_mean, y_mean=y_mean, gram=(Xc.T @ Xc) / n,
                   xty=(Xc.T @ yc) / n, yty=float(yc @ yc) / n, intercept=intercept)

    @property
    def n_features(self) -> int:
        """Number of x columns d."""
        return int(self.x_mean.shape[0])

    @property
    def dim(self) -> int:
        """Number of parameters p = d (+ 1 with an intercept)."""
        return self.n_features + int(self.intercept)

    def split(self, theta: Vector) -> tuple[Vector, float]:
        """Return (w, b) from θ; b is 0.0 for a model without intercept."""
        d = self.n_features
        return theta[:d], float(theta[d]) if self.intercept else 0.0

    def _delta(self, w: Vector, b: float) -> float:
        return self.y_mean - float(self.x_mean @ w) - b

    def loss(self, theta: Vector) -> float:
        """Mean squared error f(θ)."""
        return self.loss_and_grad(theta)[0]

    def grad(self, theta: Vector) -> Vector:
        """Gradient ∇f(θ)."""
        return self.loss_and_grad(theta)[1]

    def loss_and_grad(self, theta: Vector) -> tuple[float, Vector]:
        """Return f(θ) and ∇f(θ) sharing one product G·w."""
        w, b = self.split(theta)
        r = self.gram @ w - self.xty
        delta = self._delta(w, b)
        loss = self.yty + float(w @ r) - float(self.xty @ w) + delta * delta
        gw = 2.0 * r - (2.0 * delta) * self.x_mean
        g = np.append(gw, -2.0 * delta) if self.intercept else gw
        return max(loss, 0.0), g

    def hvp(self, v: Vector) -> Vector:
        """Hessian-vector product H·v; H = 2·[[G + x̄x̄ᵀ, x̄], [x̄ᵀ, 1]] is constant."""
        vw, vb = self.split(v)
        m = float(self.x_mean @ vw) + vb
        hw = 2.0 * (self.gram @ vw + m * self.x_mean)
        return np.append(hw, 2.0 * m) if self.intercept else hw

    def loss_change(self, grad: Vector, step: Vector) -> float:
        """f(θ + s) − f(θ) for a step s, given g = ∇f(θ).

        The objective is quadratic, so f(θ + s) − f(θ) = gᵀs + ½·sᵀHs exactly. Computing the
        change this way keeps its relative precision where subtracting two losses would leave
        only rounding noise (near the minimum the change is far below ε·f).
        """
        return float(grad @ step) + 0.5 * float(step @ self.hvp(step))

    def hessian(self) -> Vector:
        """The Hessian matrix H (p × p)."""
        return np.column_stack([self.hvp(e) for e in np.eye(self.dim)])
