"""The gradient-descent loop: a step policy moves θ until a stopping rule fires."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gdfit.objective import LeastSquares, Vector, vector_norm
from gdfit.steps import StepInfo, StepPolicy
from gdfit.stopping import (
    Progress,
    StopReason,
    StopRule,
    first_reason,
    progress_fields,
    split_stall,
)

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


def interrupted_message(ran: int, kept: int) -> str:
    """What a run that Ctrl-C ended after ``ran`` iterations returns: iteration ``kept``."""
    if kept == ran:
        return (f"interrupted at iteration {ran}; the parameters are the last iterate, not a "
                "converged fit")
    return (f"interrupted at iteration {ran}; the parameters are those of iteration {kept}, "
            "the lowest loss of the run, not a converged fit")


def descend(problem: LeastSquares, theta0: Vector, policy: StepPolicy,
            rules: tuple[StopRule, ...], *,
            callback: Callable[[Iterate], None] | None = None,
            next_report: Callable[[int], int] | None = None,
            keep_history: bool = False, record: Callable[[Iterate], None] | None = None,
            catch_interrupt: bool = False) -> Descent:
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
        A :class:`~gdfit.stopping.Stall` rule among them is tested last, on the lowest loss
        the loop keeps.
    callback : callable, optional
        Called with the first :class:`Iterate` (iteration 0), the last, and those in between
        that ``next_report`` schedules.
    next_report : callable, optional
        ``next_report(k)``: the iteration after ``k`` at which to call ``callback`` next
        (default ``k + 1``: every iteration). Asked at 0 and at each iteration it named.
    keep_history : bool
        Keep every iterate in ``Descent.history``.
    record : callable, optional
        Called with every iterate, iteration 0 first, as the run makes it (instead of keeping
        them in ``Descent.history``): a bounded record decides what to keep
        (:class:`gdfit.history.History`).
    catch_interrupt : bool
        Turn Ctrl-C into a normal return with reason ``interrupted`` and the best iterate so
        far: the one of lowest loss (the last, when every step lowered the loss).

    Returns
    -------
    Descent
        The last finite iterate (the best, if interrupted), why the run stopped and what it
        cost; ``iterations`` counts the iterations run.
    """
    start = time.perf_counter()
    rules, stall, stall_at = split_stall(rules)
    theta = np.array(theta0, dtype=np.float64)
    # What the Ctrl-C handler needs exists before the protected region begins, so that Ctrl-C
    # anywhere from the first evaluation to the last report ends the run the same way.
    k = 0
    last = StepInfo(math.nan)  # what the policy did in the latest iteration
    loss = gnorm = math.nan
    grad = np.full_like(theta, math.nan)
    fevals = gevals = 0
    best: tuple[Vector, float, Vector, float, int, StepInfo] | None = None
    fired: tuple[StopReason, str] | None = None

    def iterate() -> Iterate:
        return Iterate(k, loss, gnorm, last.step_size, theta, grad, last.evaluations,
                       str(last.reason))

    history: list[Iterate] = []
    # Every iterate goes to ``record`` (which decides what to keep) or, asked for, to history.
    keep = record if record is not None else (history.append if keep_history else None)
    reported = -1

    def report(it: Iterate) -> None:
        nonlocal reported
        if callback is not None and reported != it.iteration:
            reported = it.iteration
            callback(it)

    try:
        loss, grad, gnorm = problem.loss_grad_norm(theta)
        fevals = gevals = 1
        # The iterate of lowest loss so far, returned if Ctrl-C ends the run.
        best_loss, best = loss, (theta, loss, grad, gnorm, k, last)
        best_gnorm, moved = gnorm, 0  # the lowest ‖∇f‖, and the last iteration that lowered either
        state = policy.init(problem, theta)
        if keep is not None:
            keep(iterate())
        loss0 = loss
        ceiling = DIVERGENCE_FACTOR * max(loss, np.finfo(np.float64).tiny)
        report(iterate())
        # The next iteration to report: an int compared once per iteration (never, without
        # callback).
        advance = next_report or (lambda k: k + 1)
        due = -1 if callback is None else advance(0)
        gnorm0 = gnorm
        fired = first_reason(rules, Progress(0, loss, math.nan, gnorm, 0.0,
                                             vector_norm(theta), gnorm0, 0.0))
        # Compute only what the rules read: the exact loss change costs a Hessian-vector
        # product.
        wanted = progress_fields(rules)
        want_change = "loss_change" in wanted
        want_norms = bool({"step_norm", "theta_norm"} & wanted)
        want_clock = "elapsed" in wanted
        want_delta = want_change or want_norms
        nan = math.nan
        update = policy.update
        loss_grad_norm = problem.loss_grad_norm
        loss_change = problem.loss_change
        clock = time.perf_counter
        isfinite = math.isfinite
        checks = tuple((rule, rule.check) for rule in rules)
        # The loop must not be the first statement of this try: CPython 3.11-3.13 can raise a
        # Ctrl-C that arrives on the loop's backward jump at the instruction before the loop's
        # head, outside the try, and it then escapes the except (python/cpython#108214).
        # Rules that are a bound on k or ‖∇f‖ (the iteration budget, --grad-tol) are tested as
        # two comparisons; the rules themselves are asked only once one of the bounds is reached.
        bounds = [rule.bounds() for rule in rules]
        simple = all(bound is not None for bound in bounds)
        k_max = min((b[0] for b in bounds if b is not None), default=math.inf)
        g_min = max((b[1] for b in bounds if b is not None), default=-math.inf)
        while fired is None:
            new_theta, info, state = update(problem, theta, loss, grad, state)
            fevals += info.evaluations
            if info.failed:
                fired = (StopReason.line_search_failed,
                         f"the line search failed at iteration {k + 1}: {info.reason}")
                break
            new_loss, new_grad, new_gnorm = loss_grad_norm(new_theta)
            fevals += 1
            gevals += 1
            if not (isfinite(new_loss) and isfinite(new_gnorm)) or new_loss > ceiling:
                what = ("became non-finite" if not isfinite(new_loss + new_gnorm)
                        else f"grew to {new_loss / max(loss0, 1e-300):.2g} times its start")
                fired = (StopReason.diverged, f"diverged at iteration {k + 1}: the loss {what}")
                break
            if want_delta:
                delta = new_theta - theta
                change = loss_change(grad, delta) if want_change else nan
                step_norm = vector_norm(delta) if want_norms else nan
            else:
                change = step_norm = nan
            # One assignment, so that Ctrl-C never leaves θ and its iteration number apart.
            theta, loss, grad, gnorm, k, last = (
                new_theta, new_loss, new_grad, new_gnorm, k + 1, info)
            if loss < best_loss:
                best_loss, best, moved = loss, (theta, loss, grad, gnorm, k, last), k
            if gnorm < best_gnorm:  # progress too, where the loss is flat to rounding
                best_gnorm, moved = gnorm, k
            if keep is not None:
                keep(iterate())
            if k == due:
                report(iterate())
                due = advance(k)
            if simple:
                if k >= k_max or gnorm <= g_min:
                    fired = first_reason(rules, Progress(k, loss, change, gnorm, step_norm,
                                                         nan, gnorm0, nan))
            else:
                progress = Progress(k, loss, change, gnorm, step_norm,
                                    vector_norm(theta) if want_norms else nan, gnorm0,
                                    clock() - start if want_clock else nan)
                for rule, check in checks:  # first_reason, inlined: this runs every iteration
                    why = check(progress)
                    if why is not None:
                        fired = (why, rule.explain(progress))
                        break
            if k - moved >= stall_at and fired is None and stall is not None:
                fired = (StopReason.stalled, stall.message(k, moved, best[4]))
        ran = k
        if fired is not None and fired[0] is StopReason.stalled:  # the best, as after Ctrl-C
            theta, loss, grad, gnorm, k, last = best
        report(iterate())
    except KeyboardInterrupt:
        if not catch_interrupt:
            raise
        ran = k
        if best is None:  # Ctrl-C before the first evaluation was done: do it now
            loss, grad, gnorm = problem.loss_grad_norm(theta)
            fevals = gevals = 1
            best = (theta, loss, grad, gnorm, k, last)
        if keep is not None and not (history and history[-1].iteration == k):
            keep(iterate())  # the last iterate, if Ctrl-C came before it was kept (a recorder
            # drops a repeat)
        fired = (StopReason.interrupted, interrupted_message(ran, best[4]))
        theta, loss, grad, gnorm, k, last = best
        report(iterate())
    assert fired is not None
    reason, message = fired
    return Descent(theta=theta, loss=loss, grad_norm=gnorm, iterations=ran,
                   reason=reason, message=message, function_evals=fevals, gradient_evals=gevals,
                   elapsed=time.perf_counter() - start, history=tuple(history))

