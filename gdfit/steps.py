"""Step policies: how far to move along the negative gradient at each iteration.

The plain policies (fixed, norm, backtracking, exact) and the registry of the whole family,
:data:`STEP_POLICIES` and :func:`make_step`. The base class and what a step reports
(:class:`StepPolicy`, :class:`StepInfo`, :class:`Why`) are in :mod:`gdfit.step_base` and are
re-exported here; the other policies are in :mod:`gdfit.policies` and
:mod:`gdfit.policies_adaptive`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, NamedTuple

import numpy as np

from gdfit.choices import DEFAULT_STEP, StepName  # noqa: F401  (re-exported)
from gdfit.errors import OptionError
from gdfit.objective import LeastSquares, Vector, vector_norm
from gdfit.policies import (
    BarzilaiBorwein,
    ConjugateGradient,
    LipschitzStep,
    TrustRegion,
    WolfeLineSearch,
)
from gdfit.policies_adaptive import (
    AdaGrad,
    Adam,
    DecayingStep,
    HeavyBall,
    Nesterov,
    RMSProp,
)
from gdfit.step_base import (  # noqa: F401  (re-exported)
    StepInfo,
    StepPolicy,
    Update,
    Why,
    choice,
    fraction,
    positive,
)


class FixedState(NamedTuple):
    """:class:`FixedStep`'s state: α as a 0-d array (NumPy multiplies by one faster than by a
    Python float) and the StepInfo, which is the same at every iteration: made once per run."""

    alpha: np.ndarray
    info: StepInfo


class FixedStep(StepPolicy):
    """Constant step: θ ← θ − α·∇f(θ).

    Converges on this quadratic objective exactly when 0 < α < 2/λ_max(H); larger α diverges.
    """

    name = "fixed"
    formula = "θ ← θ − α·∇f"
    options: ClassVar[dict[str, str]] = {"alpha": "--alpha"}
    needs_tuning = True
    stochastic = True

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = positive("alpha", alpha)

    def init(self, problem: LeastSquares, theta: Vector) -> FixedState:
        return FixedState(np.array(self.alpha), StepInfo(self.alpha, 0, False, "constant α"))

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> tuple[Vector, StepInfo, Any]:
        if state is None:
            state = self.init(problem, theta)
        alpha, info = state
        return theta - grad * alpha, info, state


class NormalizedStep(StepPolicy):
    """Fixed-length step, shortened when it overshoots: θ ← θ − (α_k/‖∇f‖)·∇f.

    Every step moves exactly α_k. The length starts at α₀ = ``alpha`` and is kept while a step
    of that length lowers the loss; when it would not (an overshoot: the loss would rise or stay
    level, which is also what a two-cycle across the minimum does),

        α_k ← shrink^j · α_k,   j ≥ 1 the fewest with   f(θ − (α_k/‖∇f‖)·∇f) < f(θ),

    and the shorter length is kept for the following steps. Along ĝ = ∇f/‖∇f‖ the change is
    φ(t) = −t‖∇f‖ + ½t²·ĝᵀHĝ, negative exactly for t < 2‖∇f‖/ĝᵀHĝ, so j is found at once from
    one H·v product; the exact change (``problem.loss_change``) then settles rounding at the
    boundary. On mini-batches both are those of the batch the step is taken on. The loss
    decreases at every step and the lengths shrink as the iterates close in, so the run converges
    instead of circling the minimum.

    ``shrink = 1`` never shortens the step: the tutorial's constant-length step, whose iterates
    end up circling the minimum at a distance of order α and usually never meet the gradient
    tolerance.
    """

    name = "norm"
    formula = ("θ ← θ − (α/‖∇f‖)·∇f   (every step has length α; α ← shrink·α when a step would "
               "not lower f)")
    options: ClassVar[dict[str, str]] = {"alpha": "--alpha", "shrink": "--norm-shrink"}
    needs_tuning = True
    stochastic = True
    max_trials: ClassVar[int] = 60

    def __init__(self, alpha: float = 0.01, shrink: float = 0.5) -> None:
        self.alpha = positive("alpha", alpha)
        if not (math.isfinite(shrink) and 0 < shrink <= 1):
            raise OptionError(f"shrink= must lie in (0, 1] (1 keeps every step's length), "
                              f"got {shrink:g}")
        self.shrink = float(shrink)

    def init(self, problem: LeastSquares, theta: Vector) -> Any:
        return self.alpha  # the current length α_k

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> tuple[Vector, StepInfo, Any]:
        length = self.alpha if state is None else state
        gnorm = vector_norm(grad)
        if gnorm == 0:
            return theta, StepInfo(0.0, 0, False, "zero gradient: nothing to do"), length
        if self.shrink == 1.0:
            size = length / gnorm
            why = Why("α/‖∇f‖ = {:g}/{:.6g}", length, gnorm)
            return theta - size * grad, StepInfo(size, 0, False, why), length
        # Along −∇f/‖∇f‖ the change is φ(t) = −t‖∇f‖ + ½t²c, c = ĝᵀHĝ: negative exactly for
        # t < 2‖∇f‖/c. The number of shrinks that takes is found at once; the exact test then
        # settles the rounding at the boundary.
        direction = grad / gnorm
        curvature = float(direction @ problem.hvp(direction))
        shrinks = 0
        if curvature > 0 and length >= 2 * gnorm / curvature:
            shrinks = max(1, math.ceil(math.log(2 * gnorm / curvature / length)
                                       / math.log(self.shrink)))
            length *= self.shrink**shrinks
        checks = 1
        while problem.loss_change(grad, -length * direction) >= 0:
            if checks == self.max_trials:
                failed = f"no length ≥ {length:.3g} lowered the loss in {checks} trials"
                return theta, StepInfo(0.0, checks, failed=True, reason=failed), length
            length *= self.shrink
            shrinks += 1
            checks += 1
        size = length / gnorm
        if shrinks:
            why = Why("α/‖∇f‖ = {:.6g}/{:.6g}, α shortened {}× by {:g} (the longer step would "
                      "not lower f)", length, gnorm, shrinks, self.shrink)
        else:
            why = Why("α/‖∇f‖ = {:.6g}/{:.6g}", length, gnorm)
        return theta - size * grad, StepInfo(size, checks, False, why), length


class Backtracking(StepPolicy):
    """Armijo backtracking line search (Nocedal & Wright, Algorithm 3.1).

    Starting from α = α₀, shrink α ← ρ·α until the sufficient-decrease condition

        f(θ − α∇f) ≤ f(θ) − c·α·‖∇f‖²

    holds, then step θ ← θ − α∇f. The change f(θ − α∇f) − f(θ) is computed exactly from the
    quadratic's gradient and Hessian so that the test stays meaningful near the minimum.
    """

    name = "backtracking"
    formula = "largest α = α₀ρᵏ with f(θ − α∇f) ≤ f(θ) − c·α·‖∇f‖²"
    options: ClassVar[dict[str, str]] = {"alpha": "--alpha", "c": "--armijo-c", "rho": "--shrink"}
    max_trials: ClassVar[int] = 60

    def __init__(self, alpha: float = 1.0, c: float = 1e-4, rho: float = 0.5) -> None:
        self.alpha = positive("alpha", alpha)
        if not 0 < c < 1:
            raise OptionError(f"c= must lie strictly between 0 and 1, got {c:g}")
        if not 0 < rho < 1:
            raise OptionError(f"rho= must lie strictly between 0 and 1, got {rho:g}")
        self.c = float(c)
        self.rho = float(rho)

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> tuple[Vector, StepInfo, Any]:
        gg = float(grad @ grad)
        alpha = self.alpha
        for trial in range(1, self.max_trials + 1):
            change = problem.loss_change(grad, -alpha * grad)
            if change <= -self.c * alpha * gg:
                held = Why("Armijo holds at trial {}: Δf = {:.3e} ≤ −c·α·‖∇f‖² = {:.3e}", trial,
                           change, -self.c * alpha * gg)
                return theta - alpha * grad, StepInfo(alpha, trial, reason=held), state
            alpha *= self.rho
        why = f"no α ≥ {alpha / self.rho:.3g} met the Armijo condition in {self.max_trials} trials"
        return theta, StepInfo(0.0, self.max_trials, failed=True, reason=why), state


class ExactLineSearch(StepPolicy):
    """Steepest descent with the exact line search of a quadratic (Cauchy step).

    f(θ − α∇f) is minimised over α in closed form:

        α* = ‖∇f‖² / (∇fᵀ H ∇f)

    No parameter to tune; the loss decreases at every step and converges linearly at rate
    ((κ − 1)/(κ + 1))² in f, κ the condition number of H.
    """

    name = "exact"
    formula = "α = ‖∇f‖² / (∇fᵀH∇f)   (minimises f along −∇f)"

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> tuple[Vector, StepInfo, Any]:
        gg = float(np.dot(grad, grad))
        curvature = float(np.dot(grad, problem.hvp(grad)))
        if gg == 0.0 or curvature <= 0.0:
            return theta, StepInfo(0.0, reason="zero gradient or curvature: nothing to do"), state
        alpha = gg / curvature
        why = Why("α = ‖∇f‖²/∇fᵀH∇f = {:.6g}/{:.6g}", gg, curvature)
        return theta - alpha * grad, StepInfo(alpha, 0, False, why), state


_FAMILY: tuple[type[StepPolicy], ...] = (
    ExactLineSearch, Backtracking, FixedStep, NormalizedStep, LipschitzStep, WolfeLineSearch,
    BarzilaiBorwein, TrustRegion, ConjugateGradient, HeavyBall, Nesterov, Adam, AdaGrad, RMSProp,
    DecayingStep)
STEP_POLICIES: dict[str, type[StepPolicy]] = {cls.name: cls for cls in _FAMILY}


#: Every step parameter and the option that sets it, across all policies.
ALL_STEP_OPTIONS: dict[str, str] = {
    k: v for cls in STEP_POLICIES.values() for k, v in cls.options.items()
}


def make_step(name: str, **params: Any) -> StepPolicy:
    """Build the policy called ``name`` from its parameters.

    Parameters that are None take the policy's default. A parameter the policy does not use is
    an :class:`OptionError` naming the option, so that a mistyped command is not silently
    accepted.
    """
    try:
        cls = STEP_POLICIES[name]
    except KeyError:
        raise OptionError(f"unknown step policy '{name}'; choose one of: "
                          f"{', '.join(STEP_POLICIES)}") from None
    given = {k: v for k, v in params.items() if v is not None}
    for key in given:
        if key not in cls.options:
            users = [n for n, c in STEP_POLICIES.items() if key in c.options]
            raise OptionError(f"{key}= has no effect with step='{name}'"
                              + (f"; it applies to step={', '.join(users)}" if users else ""))
    return cls(**given)
