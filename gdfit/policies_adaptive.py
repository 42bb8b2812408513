"""Step policies from machine learning: momentum, Nesterov, Adam, AdaGrad, RMSProp, decay.

All but ``nesterov`` (whose 1/L default and restart test need the exact objective) use only
gradients, so they also work on mini-batch gradients. Their defaults are chosen for the
standardised coordinates gdfit descends in by default (``--scale standard``), where
coefficients and gradients are of order one; the measurements behind them are in the README.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, NamedTuple

import numpy as np

from gdfit.choices import NesterovRestart
from gdfit.errors import OptionError
from gdfit.linesearch import power_iteration
from gdfit.objective import LeastSquares, Vector, vector_norm
from gdfit.step_base import StepInfo, StepPolicy, Why, choice, fraction, positive

Update = tuple[Vector, StepInfo, Any]


class NesterovState(NamedTuple):
    """α and how it was chosen, the last gradient step x_k, the momentum t_k and f(x_k)."""

    alpha: float
    note: str
    x: Vector
    t: float
    fx: float


class AdamState(NamedTuple):
    """The step count t and the running means m (gradient) and v (its square)."""

    t: int
    m: Vector
    v: Vector


class HeavyBall(StepPolicy):
    """Polyak's heavy-ball momentum.

        θ_{k+1} = θ_k − α·∇f(θ_k) + β·(θ_k − θ_{k−1})

    (Polyak, USSR Comput. Math. Math. Phys. 4, 1964). On a quadratic it converges for
    0 ≤ β < 1 and 0 < α < 2(1 + β)/L, at a rate of about max(√β, 1 − α·λ_min/(1 − β)) per
    iteration. The defaults α = 0.01, β = 0.9 (SGD with momentum as in PyTorch) are safe on
    standardised data, where L = λ_max(H) ≤ 2(d + 1) for d columns: they need L < 380. On raw
    columns (``--scale none``) α must suit the data. Not monotone. Works on mini-batches.
    """

    name = "momentum"
    formula = "θ ← θ − α∇f + β(θ − θ_prev)"
    options: ClassVar[dict[str, str]] = {"alpha": "--alpha", "beta": "--momentum-beta"}
    needs_tuning = True
    stochastic = True

    def __init__(self, alpha: float = 0.01, beta: float = 0.9) -> None:
        self.alpha = positive("alpha", alpha)
        self.beta = fraction("beta", beta, closed_low=True)

    def init(self, problem: LeastSquares, theta: Vector) -> Any:
        return theta  # the previous iterate; none yet, so no momentum in the first step

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> Update:
        new = theta - self.alpha * grad + self.beta * (theta - state)
        why = Why("α = {:g} plus momentum β·(θ − θ_prev), β = {:g}", self.alpha, self.beta)
        return new, StepInfo(self.alpha, reason=why), theta


class Nesterov(StepPolicy):
    """Nesterov's accelerated gradient with adaptive restart.

        x_{k+1} = y_k − α·∇f(y_k)
        y_{k+1} = x_{k+1} + ((t_k − 1)/t_{k+1})·(x_{k+1} − x_k),  t_{k+1} = (1 + √(1 + 4t_k²))/2

    (Nesterov 1983; Beck & Teboulle's FISTA sequence). The iterate gdfit reports and stops on
    is y_k, where the gradient is taken. Adaptive restart (O'Donoghue & Candès, Found. Comput.
    Math. 15, 2015) resets the momentum (t ← 1) when ∇f(y_k)ᵀ(x_{k+1} − x_k) > 0
    (``gradient``, default) or when f(x_{k+1}) > f(x_k) (``function``), which recovers linear
    convergence at the accelerated rate ≈ 1 − 1/√κ without knowing κ. α defaults to 1/L, L
    found by power iteration on H·v in :meth:`init` (as for ``lipschitz``): no tuning.
    """

    name = "nesterov"
    formula = "x ← y − α∇f(y),  y ← x + ((t−1)/t')(x − x_prev), momentum reset on restart"
    options: ClassVar[dict[str, str]] = {"alpha": "--alpha", "restart": "--nesterov-restart"}
    default_notes: ClassVar[dict[str, str]] = {"alpha": "1/L"}

    def __init__(self, alpha: float | None = None,
                 restart: str | NesterovRestart = "gradient") -> None:
        self.alpha = None if alpha is None else positive("alpha", alpha)
        self.restart = choice("restart", restart, NesterovRestart)

    def init(self, problem: LeastSquares, theta: Vector) -> Any:
        if self.alpha is not None:
            alpha, note = self.alpha, f"α = {self.alpha:g}"
        else:
            lam, its = power_iteration(problem.hvp, problem.dim)
            alpha = 1.0 / lam if lam > 0 else 0.0
            note = f"α = 1/L = {alpha:.6g} (L by {its} power iterations)"
        return NesterovState(alpha, note, theta, 1.0, math.nan)

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> Update:
        alpha, note, x, t, fx = state
        x_new = theta - alpha * grad
        if self.restart == "gradient":
            restart = float(grad @ (x_new - x)) > 0
        elif self.restart == "function":
            fx_new = loss + problem.loss_change(grad, x_new - theta)
            restart, fx = fx_new > fx, fx_new
        else:
            restart = False
        if restart:
            t_new, y_new = 1.0, x_new
            how: str | Why = "restart: momentum reset"
        else:
            t_new = (1.0 + math.sqrt(1.0 + 4.0 * t * t)) / 2.0
            mu = (t - 1.0) / t_new
            y_new = x_new + mu * (x_new - x)
            how = Why("momentum (t−1)/t' = {:.4g}", mu)
        why = Why("{}; {}", note, how)
        return y_new, StepInfo(alpha, reason=why), NesterovState(alpha, note, x_new, t_new, fx)


class Adam(StepPolicy):
    """Adam: momentum on the gradient, scaled per coordinate by its running RMS.

        m ← β₁m + (1−β₁)∇f,  v ← β₂v + (1−β₂)∇f²,  θ ← θ − α·m̂/(√v̂ + ε)

    with the bias corrections m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) (Kingma & Ba, ICLR 2015).
    β₁ = 0.9, β₂ = 0.999, ε = 1e-8 as in the paper; α = 0.01 rather than the paper's 0.001,
    because each step moves each coordinate by about α and the standardised coefficients are
    of order one: on 30 test problems 0.01 converged in a median of 550 iterations, 0.001 in
    3548, and 0.1 failed to settle on some. Run long past convergence (``--grad-tol 0``) it
    can leave the minimum again, as v forgets the large early gradients.
    """

    name = "adam"
    formula = "θ ← θ − α·m̂/(√v̂ + ε),  m, v running means of ∇f, ∇f²"
    options: ClassVar[dict[str, str]] = {"alpha": "--alpha", "beta1": "--adam-beta1",
                                         "beta2": "--adam-beta2", "eps": "--eps"}
    needs_tuning = True
    stochastic = True

    def __init__(self, alpha: float = 0.01, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.alpha = positive("alpha", alpha)
        self.beta1 = fraction("beta1", beta1, closed_low=True)
        self.beta2 = fraction("beta2", beta2)
        self.eps = positive("eps", eps)

    def init(self, problem: LeastSquares, theta: Vector) -> Any:
        return AdamState(0, np.zeros_like(theta), np.zeros_like(theta))

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> Update:
        t, m, v = state
        t += 1
        m = self.beta1 * m + (1 - self.beta1) * grad
        v = self.beta2 * v + (1 - self.beta2) * grad * grad
        m_hat = m / (1 - self.beta1**t)
        v_hat = v / (1 - self.beta2**t)
        step = self.alpha * m_hat / (np.sqrt(v_hat) + self.eps)
        why = Why("α·m̂/(√v̂+ε) with α = {:g}, t = {}", self.alpha, t)
        return theta - step, StepInfo(self.alpha, reason=why), AdamState(t, m, v)


class AdaGrad(StepPolicy):
    """AdaGrad: each coordinate's step shrinks with its accumulated squared gradients.

        G ← G + ∇f²,   θ ← θ − α·∇f/(√G + ε)

    (Duchi, Hazan & Singer, JMLR 12, 2011). ε = 1e-10 as in PyTorch. α = 0.1 rather than
    PyTorch's 0.01: on standardised data √G settles near the first gradients' size, so the
    effective step is about α; with 0.01, 11 of 30 test problems had not reached the default
    gradient tolerance after 30 000 iterations, with 0.1 all did (median 347).
    """

    name = "adagrad"
    formula = "θ ← θ − α·∇f/(√G + ε),  G = Σ ∇f²"
    options: ClassVar[dict[str, str]] = {"alpha": "--alpha", "eps": "--eps"}
    needs_tuning = True
    stochastic = True

    def __init__(self, alpha: float = 0.1, eps: float = 1e-10) -> None:
        self.alpha = positive("alpha", alpha)
        self.eps = positive("eps", eps)

    def init(self, problem: LeastSquares, theta: Vector) -> Any:
        return np.zeros_like(theta)

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> Update:
        total = state + grad * grad
        step = self.alpha * grad / (np.sqrt(total) + self.eps)
        why = Why("α·∇f/(√G+ε) with α = {:g}", self.alpha)
        return theta - step, StepInfo(self.alpha, reason=why), total


class RMSProp(StepPolicy):
    """RMSProp: the gradient divided by a running root-mean-square of recent gradients.

        v ← ρv + (1−ρ)∇f²  (v₀ = 0),   θ ← θ − α·∇f/(√v + ε)

    (Tieleman & Hinton, COURSERA lecture 6.5, 2012). α = 0.001 and ε = 1e-8 are the usual
    values (Hinton's lecture, Keras), but ρ = 0.9999 rather than 0.9 or 0.99: with full
    gradients and a short memory √v tracks |∇f|, so every step has a length of about α and the
    iterates circle the minimum at that distance (measured: 25 of 30 test problems stuck at a
    relative error near 1e-2 with PyTorch's α = 0.01, ρ = 0.99). With a long memory √v is a
    slowly varying per-coordinate scale and the descent converges (30 of 30, median 344
    iterations). Like Adam it can leave the minimum again if run long past convergence.
    """

    name = "rmsprop"
    formula = "θ ← θ − α·∇f/(√v + ε),  v ← ρv + (1−ρ)∇f²"
    options: ClassVar[dict[str, str]] = {"alpha": "--alpha", "decay_rate": "--rms-decay",
                                         "eps": "--eps"}
    needs_tuning = True
    stochastic = True

    def __init__(self, alpha: float = 0.001, decay_rate: float = 0.9999,
                 eps: float = 1e-8) -> None:
        self.alpha = positive("alpha", alpha)
        self.decay_rate = fraction("decay_rate", decay_rate, closed_low=True)
        self.eps = positive("eps", eps)

    def init(self, problem: LeastSquares, theta: Vector) -> Any:
        return np.zeros_like(theta)

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> Update:
        v = self.decay_rate * state + (1 - self.decay_rate) * grad * grad
        step = self.alpha * grad / (np.sqrt(v) + self.eps)
        why = Why("α·∇f/(√v+ε) with α = {:g}", self.alpha)
        return theta - step, StepInfo(self.alpha, reason=why), v


class DecayingStep(StepPolicy):
    """Inverse-scaling step α_t = α₀ / t^p (scikit-learn's ``learning_rate="invscaling"``).

        θ ← θ − α_t·∇f                 (default)
        θ ← θ − (α_t/‖∇f‖)·∇f          (``--decay-norm``: steps of length α_t)

    α₀ = 0.01 and p = 0.25 are scikit-learn's ``eta0`` and ``power_t`` (SGDRegressor). With
    ``--decay-norm`` this is the tutorial's fixed-length step made convergent: the lengths
    shrink to 0 while their sum Σα_t diverges (p ≤ 1), so the iterates reach the minimum from
    any distance and then circle it ever closer, at a distance of order α_t (sublinearly).
    """

    name = "decay"
    formula = "α_t = α₀/t^p;  θ ← θ − α_t∇f  (or −(α_t/‖∇f‖)∇f with --decay-norm)"
    options: ClassVar[dict[str, str]] = {"alpha": "--alpha", "power": "--decay-power",
                                         "normalize": "--decay-norm"}
    needs_tuning = True
    stochastic = True

    def __init__(self, alpha: float = 0.01, power: float = 0.25, normalize: bool = False) -> None:
        self.alpha = positive("alpha", alpha)
        if not (math.isfinite(power) and 0 < power <= 1):
            raise OptionError(f"power= must lie in (0, 1], got {power:g}")
        self.power = float(power)
        self.normalize = bool(normalize)

    def init(self, problem: LeastSquares, theta: Vector) -> Any:
        return 0

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> Update:
        t = state + 1
        alpha_t = self.alpha / t**self.power
        if self.normalize:
            gnorm = vector_norm(grad)
            size = alpha_t / gnorm if gnorm > 0 else 0.0
            why = Why("α_t/‖∇f‖ = {:g}/{}^{:g}/{:.6g}", self.alpha, t, self.power, gnorm)
        else:
            size = alpha_t
            why = Why("α_t = {:g}/{}^{:g} = {:.6g}", self.alpha, t, self.power, alpha_t)
        return theta - size * grad, StepInfo(size, reason=why), t
