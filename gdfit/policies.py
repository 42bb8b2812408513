"""Step policies that use the objective's curvature: 1/L, Wolfe, Barzilai–Borwein, trust region, CG.

Each is a :class:`~gdfit.steps.StepPolicy` registered in :data:`gdfit.steps.STEP_POLICIES`. The
objective is the quadratic mean squared error, so ``problem.hvp`` (H·v) and
``problem.loss_change`` (f(θ+s) − f(θ) = gᵀs + ½sᵀHs, free of the cancellation of subtracting
two losses) are exact; the policies use them wherever a general method would evaluate f.
The strong-Wolfe line search itself is :func:`gdfit.linesearch.scalar_search_wolfe`.
"""

from __future__ import annotations

import math
from typing import ClassVar, NamedTuple

import numpy as np

from gdfit.choices import BBVariant, TrustRegionMethod
from gdfit.errors import OptionError
from gdfit.linesearch import power_iteration, scalar_search_wolfe
from gdfit.objective import LeastSquares, Vector, vector_norm
from gdfit.step_base import StepInfo, StepPolicy, Update, Why, choice, fraction, positive


class LipschitzState(NamedTuple):
    """L = λ_max(H) and the power iterations that estimated it."""

    lam: float
    iterations: int


class BBState(NamedTuple):
    """The iteration, the last step s (None: none yet or it failed) and the recent losses."""

    k: int
    step: Vector | None
    recent: tuple[float, ...]


class TrustState(NamedTuple):
    """The radius Δ and the Hessian (formed once for the dogleg, else None)."""

    radius: float
    hessian: Vector | None


class CGState(NamedTuple):
    """The restart period, steps since the last reset, the direction p (None: restart) and
    the previous ‖∇f‖²."""

    period: int
    since: int
    direction: Vector | None
    gg_prev: float


class LipschitzStep(StepPolicy):
    """Constant step α = 1/L with L = λ_max(H), the gradient's Lipschitz constant.

    L is found once, in :meth:`init`, by power iteration on ``problem.hvp`` (H is the Hessian
    of the MSE, constant on this quadratic). With α = 1/L every step decreases f by at least
    ‖∇f‖²/(2L) (the descent lemma; Nesterov, *Introductory Lectures on Convex Optimization*,
    2004, §2.1.5), and the error contracts by 1 − 1/κ per iteration. No tuning.
    """

    name = "lipschitz"
    formula = "α = 1/L,  L = λ_max(H) by power iteration"

    def init(self, problem: LeastSquares, theta: Vector) -> LipschitzState:
        return LipschitzState(*power_iteration(problem.hvp, problem.dim))

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: LipschitzState) -> Update:
        lam, its = state
        if lam <= 0:
            return theta, StepInfo(0.0, reason="H = 0: no curvature, nothing to do"), state
        alpha = 1.0 / lam
        why = Why("α = 1/L = 1/{:.6g} (L = λ_max(H) by {} power iterations)", lam, its)
        return theta - alpha * grad, StepInfo(alpha, reason=why), state


class WolfeLineSearch(StepPolicy):
    """Steepest descent with a line search meeting the strong Wolfe conditions.

    Along p = −∇f, with φ(α) = f(θ + αp) − f(θ), the accepted α satisfies

        φ(α) ≤ c₁·α·φ'(0)            (sufficient decrease, Armijo)
        |φ'(α)| ≤ c₂·|φ'(0)|          (strong curvature condition)

    found by bracketing and zoom (Nocedal & Wright, *Numerical Optimization*, 2nd ed.,
    Algorithms 3.5 and 3.6). The first trial is ``alpha`` at the first iteration and then
    min(1, 1.01·2·Δf_prev/φ'(0)) (N&W eq. 3.60). φ is computed with ``problem.loss_change``
    and φ'(α) = ∇f(θ + αp)ᵀp with ∇f(θ + αp) = ∇f(θ) + αHp, so both stay exact near the
    minimum. A search that finds no acceptable α ends the run with ``line_search_failed``.
    """

    name = "wolfe"
    formula = "α with f(θ−α∇f) ≤ f − c₁α‖∇f‖² and |∇f(θ−α∇f)ᵀ∇f| ≤ c₂‖∇f‖²"
    options: ClassVar[dict[str, str]] = {"alpha": "--alpha", "c1": "--wolfe-c1",
                                         "c2": "--wolfe-c2"}

    def __init__(self, alpha: float = 1.0, c1: float = 1e-4, c2: float = 0.9) -> None:
        self.alpha = positive("alpha", alpha)
        self.c1 = fraction("c1", c1)
        self.c2 = fraction("c2", c2)
        if not self.c1 < self.c2:
            raise OptionError(f"c1= ({c1:g}) must be smaller than c2= ({c2:g})")

    def init(self, problem: LeastSquares, theta: Vector) -> float | None:
        return None  # the previous iteration's decrease, for the first trial (eq. 3.60)

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: float | None) -> Update:
        gg = float(grad @ grad)
        if gg == 0.0:
            return theta, StepInfo(0.0, reason="zero gradient: nothing to do"), state
        direction = -grad
        hp = problem.hvp(direction)
        derphi0 = -gg
        first = self.alpha if state is None else min(1.0, 1.01 * 2.0 * state / derphi0)
        if not (math.isfinite(first) and first > 0):
            first = self.alpha
        search = scalar_search_wolfe(
            lambda a: problem.loss_change(grad, a * direction),
            lambda a: float((grad + a * hp) @ direction),
            0.0, derphi0, alpha1=first, c1=self.c1, c2=self.c2)
        if not search.ok:
            return theta, StepInfo(0.0, search.evaluations, failed=True,
                                   reason=search.reason), state
        why = Why("strong Wolfe holds after {} trials: Δf = {:.3e}, |φ'(α)|/|φ'(0)| = {:.3g} ≤ "
                  "c₂ = {:g}", search.evaluations, search.phi, abs(search.derphi) / gg, self.c2)
        return (theta + search.alpha * direction,
                StepInfo(search.alpha, search.evaluations, reason=why), search.phi)


class BarzilaiBorwein(StepPolicy):
    """Barzilai–Borwein two-point step sizes, safeguarded.

    With s = θ_k − θ_{k−1} and y = ∇f_k − ∇f_{k−1}:

        BB1 (long):  α = sᵀs / sᵀy        BB2 (short):  α = sᵀy / yᵀy

    or the two alternated (BB1 on odd iterations). The first step (no s yet) is the exact
    line-search step ‖∇f‖²/∇fᵀH∇f unless ``alpha`` is given. Safeguards: whenever sᵀy ≤ 0 the
    step falls back to that exact step, α is clamped to [α_min, α_max] (Birgin, Martínez
    & Raydan, SIAM J. Optim. 10, 2000), and α is halved until the nonmonotone condition of
    Grippo, Lampariello & Lucidi holds (the "global BB" of Raydan, SIAM J. Optim. 7, 1997):

        f(θ − α∇f) ≤ max(f_k, …, f_{k−M+1}) − γ·α·‖∇f‖²,   M = 10, γ = 1e-4,

    so the loss may rise for a few iterations but never above its recent maximum: it cannot
    blow up, even where plain BB spikes by many orders of magnitude (κ ≈ 1e10). On this
    quadratic y = H·s
    exactly; it is computed that way, which avoids subtracting two nearly equal gradients
    near the minimum. Not monotone: the loss may rise for a few iterations. R-linear on
    strictly convex quadratics (Raydan, IMA J. Numer. Anal. 13, 1993). Reference: Barzilai &
    Borwein, IMA J. Numer. Anal. 8 (1988) 141–148.
    """

    name = "bb"
    formula = "α = sᵀs/sᵀy (BB1) or sᵀy/yᵀy (BB2),  s = Δθ, y = Δ∇f"
    options: ClassVar[dict[str, str]] = {"variant": "--bb-variant", "alpha": "--alpha",
                                         "alpha_min": "--bb-min", "alpha_max": "--bb-max"}
    default_notes: ClassVar[dict[str, str]] = {"alpha": "exact step"}

    def __init__(self, variant: str | BBVariant = "bb1", alpha: float | None = None,
                 alpha_min: float = 1e-30, alpha_max: float = 1e30) -> None:
        self.variant = choice("variant", variant, BBVariant)
        self.alpha = None if alpha is None else positive("alpha", alpha)
        self.alpha_min = positive("alpha_min", alpha_min)
        self.alpha_max = positive("alpha_max", alpha_max)
        if not self.alpha_min < self.alpha_max:
            raise OptionError(f"alpha_min= ({alpha_min:g}) must be smaller than alpha_max= "
                              f"({alpha_max:g})")

    #: Memory M and sufficient-decrease constant γ of the nonmonotone safeguard.
    memory: ClassVar[int] = 10
    gamma: ClassVar[float] = 1e-4
    max_halvings: ClassVar[int] = 60

    def init(self, problem: LeastSquares, theta: Vector) -> BBState:
        return BBState(0, None, ())

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: BBState) -> Update:
        k, s, recent = state
        recent = (*recent, loss)[-self.memory:]
        alpha = math.nan
        why: str | Why = ""
        if s is not None:
            y = problem.hvp(s)
            sy = float(s @ y)
            if sy > 0:
                long = self.variant == "bb1" or (self.variant == "alternate" and k % 2 == 1)
                alpha = float(s @ s) / sy if long else sy / float(y @ y)
                why = Why("{} = {:.6g}", "BB1 sᵀs/sᵀy" if long else "BB2 sᵀy/yᵀy", alpha)
            else:
                why = Why("sᵀy = {:.3g} ≤ 0, fell back to the exact step", sy)
        elif self.alpha is not None:
            alpha, why = self.alpha, f"first step α = --alpha {self.alpha:g}"
        if not math.isfinite(alpha):
            gg = float(grad @ grad)
            curvature = float(grad @ problem.hvp(grad))
            if gg == 0.0 or curvature <= 0.0:
                return theta, StepInfo(0.0, reason="zero gradient or curvature"), BBState(
                    k + 1, None, recent)
            alpha = gg / curvature
            why = (f"{why}: " if why else "first step: exact ") + f"‖∇f‖²/∇fᵀH∇f = {alpha:.6g}"
        clamped = min(max(alpha, self.alpha_min), self.alpha_max)
        if clamped != alpha:
            why = f"{why}, clamped to {clamped:g}"
        # Nonmonotone (GLL) safeguard, with the change in f computed exactly from the quadratic.
        gg = float(grad @ grad)
        ceiling = max(recent) - loss  # allowed rise above the current loss, before −γα‖∇f‖²
        for trial in range(1, self.max_halvings + 1):  # noqa: B007 (used after the loop)
            if problem.loss_change(grad, -clamped * grad) <= ceiling - self.gamma * clamped * gg:
                break
            clamped *= 0.5
        else:
            why = f"no α ≥ {clamped * 2:.3g} met the nonmonotone decrease condition"
            return (theta, StepInfo(0.0, trial, failed=True, reason=why),
                    BBState(k + 1, None, recent))
        if trial > 1:
            why = f"{why}, halved {trial - 1}× to {clamped:.6g} (nonmonotone safeguard)"
        step = -clamped * grad
        return theta + step, StepInfo(clamped, trial, reason=why), BBState(k + 1, step, recent)


class TrustRegion(StepPolicy):
    """Trust-region method on the exact quadratic model (Nocedal & Wright, Algorithm 4.1).

    Each step p minimises m(p) = f + ∇fᵀp + ½pᵀHp approximately within ‖p‖ ≤ Δ:

    * ``cauchy`` (default): the Cauchy point p = −τ·(Δ/‖∇f‖)·∇f, τ = min(1, ‖∇f‖³/(Δ·∇fᵀH∇f))
      (N&W eq. 4.12) — steepest descent whose step is capped by the radius;
    * ``dogleg``: the path from the Cauchy point to the Newton step −H⁻¹∇f (N&W §4.1). It
      solves with H, so it is a second-order method and ends in one step once Δ ≥ ‖H⁻¹∇f‖.

    With ρ = (f(θ) − f(θ+p)) / (m(0) − m(p)) the radius update is Δ ← Δ/4 if ρ < 1/4,
    Δ ← min(2Δ, Δ_max) if ρ > 3/4 and ‖p‖ = Δ; the step is taken only if ρ > η. The model is
    exact here, so ρ = 1 up to rounding: the update decides how fast Δ grows from Δ₀.
    """

    name = "trust-region"
    formula = "p = argmin m(p) on ‖p‖ ≤ Δ (Cauchy point or dogleg); Δ from ρ = Δf/Δm"
    options: ClassVar[dict[str, str]] = {"method": "--tr-method", "radius": "--tr-radius",
                                         "max_radius": "--tr-max-radius", "eta": "--tr-eta"}

    def __init__(self, method: str | TrustRegionMethod = "cauchy", radius: float = 1.0,
                 max_radius: float = 1e10, eta: float = 0.15) -> None:
        self.method = choice("method", method, TrustRegionMethod)
        self.radius = positive("radius", radius)
        self.max_radius = positive("max_radius", max_radius)
        if self.radius > self.max_radius:
            raise OptionError(f"radius= ({radius:g}) must not exceed max_radius= "
                              f"({max_radius:g})")
        self.eta = fraction("eta", eta, closed_low=True)
        if self.eta >= 0.25:
            raise OptionError(f"eta= must lie in [0, 0.25), got {eta:g}")

    def init(self, problem: LeastSquares, theta: Vector) -> TrustState:
        return TrustState(self.radius, problem.hessian() if self.method == "dogleg" else None)

    def _newton(self, hessian: Vector, grad: Vector) -> Vector:
        try:
            return np.asarray(np.linalg.solve(hessian, -grad))
        except np.linalg.LinAlgError:  # singular H (collinear columns): the minimum-norm step
            return np.asarray(np.linalg.lstsq(hessian, -grad, rcond=None)[0])

    def step(self, problem: LeastSquares, grad: Vector, radius: float,
             hessian: Vector | None) -> tuple[Vector, str | Why]:
        """The model step within ``radius`` and how it was found."""
        gnorm = vector_norm(grad)
        ghg = float(grad @ problem.hvp(grad))
        tau = 1.0 if ghg <= 0 else min(1.0, gnorm**3 / (radius * ghg))
        cauchy = -(tau * radius / gnorm) * grad
        if hessian is None:
            return cauchy, Why("Cauchy point, τ = {:.3g}", tau)
        newton = self._newton(hessian, grad)
        if vector_norm(newton) <= radius:
            return newton, "Newton step −H⁻¹∇f inside the region"
        if ghg <= 0:
            return cauchy, "Cauchy point (no curvature along ∇f)"
        unconstrained = -(float(grad @ grad) / ghg) * grad
        if vector_norm(unconstrained) >= radius:
            return -(radius / gnorm) * grad, "dogleg, first leg (steepest descent to the edge)"
        # ‖pU + t(pB − pU)‖ = Δ, t in [0, 1]: the positive root of a quadratic.
        diff = newton - unconstrained
        a, b = float(diff @ diff), 2.0 * float(unconstrained @ diff)
        c = float(unconstrained @ unconstrained) - radius * radius
        t = (-b + math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)
        return unconstrained + t * diff, Why("dogleg, second leg (t = {:.3g})", t)

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: TrustState) -> Update:
        radius, hessian = state
        if not grad.any():
            return theta, StepInfo(0.0, reason="zero gradient: nothing to do"), state
        p, how = self.step(problem, grad, radius, hessian)
        predicted = -(float(grad @ p) + 0.5 * float(p @ problem.hvp(p)))
        actual = -problem.loss_change(grad, p)
        rho = actual / predicted if predicted > 0 else 0.0
        pnorm = vector_norm(p)
        new_radius = radius
        if rho < 0.25:
            new_radius = radius / 4
        elif rho > 0.75 and pnorm >= radius * (1 - 1e-12):
            new_radius = min(2 * radius, self.max_radius)
        template, values = "{}; ‖p‖ = {:.3g} ≤ Δ = {:.3g}, ρ = {:.3g}", (how, pnorm, radius, rho)
        gnorm = vector_norm(grad)
        if rho > self.eta:
            why = Why(template, *values)
            return theta + p, StepInfo(pnorm / gnorm, reason=why), TrustState(new_radius, hessian)
        if new_radius < 1e-300:
            why = Why(template + ": the radius collapsed", *values)
            return theta, StepInfo(0.0, failed=True, reason=why), state
        why = Why(template + ", step rejected", *values)
        return theta, StepInfo(0.0, reason=why), TrustState(new_radius, hessian)


class ConjugateGradient(StepPolicy):
    """Linear conjugate gradient on the quadratic — not plain gradient descent.

    Directions are made H-conjugate: p₀ = −∇f₀, then with the exact step along each

        α_k = ‖∇f_k‖² / p_kᵀHp_k,   θ ← θ + α_k·p_k,
        β = ‖∇f_{k+1}‖² / ‖∇f_k‖² (Fletcher–Reeves),   p ← −∇f_{k+1} + β·p

    (Nocedal & Wright, Algorithm 5.2; Hestenes & Stiefel 1952). It is the best method that
    uses only gradients (and H·v) on a quadratic: it minimises f over the Krylov space of the
    gradients, ends in at most p = dim(θ) steps in exact arithmetic, and converges at rate
    (√κ − 1)/(√κ + 1) rather than (κ − 1)/(κ + 1). The direction is reset to −∇f every
    ``restart_every`` iterations; the default 0 never resets, because on a quadratic linear CG
    needs no restarts and they throw its progress away (measured on housing.csv with
    ``--scale none`` to a relative gradient of 1e-10: 7 iterations without restarts, 178 when
    restarting every dim(θ) = 5). It also resets when rounding makes p uphill.
    """

    name = "cg"
    formula = ("p ← −∇f + βp, α = ‖∇f‖²/pᵀHp: conjugate gradient, not plain gradient descent "
               "(the best gradient-only method on a quadratic)")
    options: ClassVar[dict[str, str]] = {"restart_every": "--cg-restart"}
    default_notes: ClassVar[dict[str, str]] = {"restart_every": "0: never"}

    def __init__(self, restart_every: int = 0) -> None:
        if not (math.isfinite(restart_every) and restart_every >= 0
                and int(restart_every) == restart_every):
            raise OptionError(f"restart_every= must be a whole number ≥ 0, got {restart_every}")
        self.restart_every = int(restart_every)

    def init(self, problem: LeastSquares, theta: Vector) -> CGState:
        return CGState(self.restart_every, 0, None, 0.0)

    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: CGState) -> Update:
        period, since, direction, gg_prev = state
        gg = float(grad @ grad)
        if gg == 0.0:
            return theta, StepInfo(0.0, reason="zero gradient: nothing to do"), state
        how: str | Why = "p = −∇f (restart)"
        if direction is None or (period > 0 and since >= period):
            direction, since = -grad, 0
        else:
            beta = gg / gg_prev
            direction = -grad + beta * direction
            how = Why("p = −∇f + βp, β = {:.3g}", beta)
            if float(grad @ direction) >= 0:  # lost descent through rounding: start afresh
                direction, since = -grad, 0
                how = "p = −∇f (restart: not a descent direction)"
        curvature = float(direction @ problem.hvp(direction))
        if curvature <= 0:
            return (theta, StepInfo(0.0, reason="no curvature along p"),
                    CGState(period, 0, None, gg))
        alpha = -float(grad @ direction) / curvature
        why = Why("{}; α = −∇fᵀp/pᵀHp = {:.6g}", how, alpha)
        return (theta + alpha * direction, StepInfo(alpha, reason=why),
                CGState(period, since + 1, direction, gg))
