"""The gradient-descent loop: a step policy moves θ until a stopping rule fires."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gdfit.objective import LeastSquares, Vector
from gdfit.steps import StepPolicy
from gdfit.stopping import Progress, StopReason, StopRule, first_reason

#: A loss this many times the starting loss (or a non-finite one) means the run diverged.
DIVERGENCE_FACTOR = 1e12


@dataclass(frozen=True)
class Iterate:
    """One iteration in the space the descent runs in."""

    iteration: int
    loss: float
    grad_norm: float
    step_size: float
    theta: Vector
    grad: Vector
    evaluations: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Descent:
    """Outcome of :func:`descend`."""

    theta: Vector
    loss: float
    grad_norm: float
    iterations: int
    reason: StopReason
    message: str
    function_evals: int
    gradient_evals: int
    elapsed: float
    history: tuple[Iterate, ...] = field(default=())


def descend(problem: LeastSquares, theta0: Vector, policy: StepPolicy,
            rules: tuple[StopRule, ...], *,
            callback: Callable[[Iterate], None] | None = None,
            callback_when: Callable[[int], bool] | None = None,
            keep_history: bool = False, catch_interrupt: bool = False) -> Descent:
    """Run gradient descent on ``problem`` from ``theta0``.

    Parameters
    ----------
    problem : LeastSquares
        The objective f with its gradient and Hessian-vector product.
    theta0 : ndarray
        Starting point.
    policy : StepPolicy
        Chooses each step.
    rules : tuple of StopRule
        Checked in order after every iteration (and at the start); the first to fire ends the run.
    callback : callable, optional
        Called with each :class:`Iterate` for which ``callback_when(iteration)`` is true, and
        always with the first and the last.
    keep_history : bool
        Keep every iterate in ``Descent.history``.
    catch_interrupt : bool
        Turn Ctrl-C into a normal return with reason ``interrupted`` and the last iterate.

    Returns
    -------
    Descent
        The last finite iterate, why the run stopped and what it cost.
    """
    start = time.perf_counter()
    theta = np.array(theta0, dtype=np.float64)
    loss, grad = problem.loss_and_grad(theta)
    fevals = gevals = 1
    gnorm = float(np.sqrt(grad @ grad))
    state = policy.init(problem, theta)
    current = Iterate(0, loss, gnorm, math.nan, theta, grad)
    history: list[Iterate] = [current] if keep_history else []
    loss0 = loss
    ceiling = DIVERGENCE_FACTOR * max(loss, np.finfo(np.float64).tiny)
    reported = -1

    def report(it: Iterate) -> None:
        nonlocal reported
        if callback is not None and reported != it.iteration:
            reported = it.iteration
            callback(it)

    report(current)
    gnorm0 = gnorm
    fired = first_reason(rules, Progress(0, loss, math.nan, gnorm, 0.0,
                                         float(np.sqrt(theta @ theta)), gnorm0, 0.0))
    try:
        while fired is None:
            new_theta, info, state = policy.update(problem, theta, loss, grad, state)
            fevals += info.evaluations
            if info.failed:
                fired = (StopReason.line_search_failed,
                         f"the line search failed at iteration {current.iteration + 1}: "
                         f"{info.reason}")
                break
            new_loss, new_grad = problem.loss_and_grad(new_theta)
            fevals += 1
            gevals += 1
            new_gnorm = float(np.sqrt(new_grad @ new_grad))
            k = current.iteration + 1
            if not (math.isfinite(new_loss) and math.isfinite(new_gnorm)) or new_loss > ceiling:
                what = ("became non-finite" if not math.isfinite(new_loss + new_gnorm)
                        else f"grew to {new_loss / max(loss0, 1e-300):.2g} times its start")
                fired = (StopReason.diverged, f"diverged at iteration {k}: the loss {what}")
                break
            delta = new_theta - theta
            change = problem.loss_change(grad, delta)
            theta, loss, grad, gnorm = new_theta, new_loss, new_grad, new_gnorm
            current = Iterate(k, loss, gnorm, info.step_size, theta, grad, info.evaluations,
                              info.reason)
            if keep_history:
                history.append(current)
            if callback is not None and (callback_when is None or callback_when(k)):
                report(current)
            fired = first_reason(rules, Progress(
                k, loss, change, gnorm, float(np.sqrt(delta @ delta)),
                float(np.sqrt(theta @ theta)), gnorm0, time.perf_counter() - start))
    except KeyboardInterrupt:
        if not catch_interrupt:
            raise
        fired = (StopReason.interrupted,
                 f"interrupted at iteration {current.iteration}; the parameters are the last "
                 "iterate, not a converged fit")
    report(current)
    reason, message = fired
    return Descent(theta=theta, loss=loss, grad_norm=gnorm, iterations=current.iteration,
                   reason=reason, message=message, function_evals=fevals, gradient_evals=gevals,
                   elapsed=time.perf_counter() - start, history=tuple(history))

