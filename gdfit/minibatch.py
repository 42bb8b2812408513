"""Mini-batch and stochastic gradient descent: the gradient of each step from a sample of rows.

The objective is the same mean squared error as :class:`~gdfit.objective.LeastSquares`, with
θ = (w, b), but each step sees only a batch B of rows::

    f_B(θ) = (1/|B|) Σ_{i∈B} (uᵢ − zᵢᵀw − b)²,    ∇f_B = −(2/|B|)·[Z_Bᵀr, Σr],  r = u_B − Z_Bw − b

An epoch is one pass over the rows in an order reshuffled with ``numpy.random.default_rng(seed)``
at its start; the last batch of an epoch is smaller when B does not divide n. The descent runs
in the same (standardised) coordinates as the full-batch one and starts at θ = 0.

The stopping rules, the history and the progress see the *full-data* loss and gradient, which
the sufficient statistics give at O(d²) per iteration whatever n is; only the step is taken on
the noisy batch gradient, as scikit-learn's ``SGDRegressor`` does. Policies that need exact
function values or curvature (line searches, trust regions, conjugate gradients, BB) are refused:
see :attr:`gdfit.steps.StepPolicy.stochastic`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from gdfit.api import (
    DEFAULT_GRAD_TOL,
    DEFAULT_LOSS_TOL,
    DEFAULT_MAX_ITER,
    build_result,
    prepare,
    run_descent,
)
from gdfit.api import fit as full_batch_fit
from gdfit.arrays import design
from gdfit.choices import DEFAULT_STOCHASTIC_STEP
from gdfit.errors import OptionError
from gdfit.history import Recorder
from gdfit.magnitude import Units
from gdfit.objective import LeastSquares, Vector, vector_norm
from gdfit.reference import fit_quality, reference_from_rows, statistics_quality
from gdfit.result import FitResult, IterRecord
from gdfit.scaling import Scale
from gdfit.solver import DIVERGENCE_FACTOR, Descent, Iterate, interrupted_message
from gdfit.steps import DEFAULT_STEP, STEP_POLICIES, StepInfo, StepPolicy
from gdfit.stopping import Progress, StopReason, StopRule, first_reason, split_stall
from gdfit.unconverged import warns_unconverged


class MiniBatches:
    """The least-squares objective over one batch of rows at a time.

    Parameters
    ----------
    Z : ndarray, shape (n, d)
        The rows in the coordinates the descent runs in.
    u : ndarray, shape (n,)
        The target in the same coordinates.
    intercept : bool
        Whether θ carries b as its last component.
    batch_size : int
        Rows per batch (1 is plain stochastic gradient descent).
    seed : int
        Seed of the shuffle (``numpy.random.default_rng``).

    Call :meth:`next_batch` to move on; :meth:`loss_and_grad`, :meth:`hvp` and
    :meth:`loss_change` then describe the current batch. The batch and the residuals live in
    buffers allocated once.
    """

    def __init__(self, Z: Vector, u: Vector, *, intercept: bool, batch_size: int,
                 seed: int) -> None:
        n, d = Z.shape
        if batch_size < 1:
            raise OptionError(f"batch_size= must be ≥ 1, got {batch_size}")
        self.Z = np.ascontiguousarray(Z, dtype=np.float64)
        self.u = np.ascontiguousarray(u, dtype=np.float64)
        self.intercept = intercept
        self.batch_size = min(batch_size, n)
        self.n = n
        self.n_features = d
        self.dim = d + int(intercept)
        self.batches_per_epoch = -(-n // self.batch_size)
        self.rng = np.random.default_rng(seed)
        self.epoch = 0
        self.batches = 0
        self._order = np.arange(n)
        self._pos = n  # forces a shuffle on the first call
        self._zb = np.empty((self.batch_size, d))
        self._ub = np.empty(self.batch_size)
        self._r = np.empty(self.batch_size)
        self._m = 0

    def next_batch(self) -> None:
        """Take the next batch, reshuffling the rows when an epoch begins."""
        if self._pos >= self.n:
            self._order = self.rng.permutation(self.n)
            self._pos = 0
            self.epoch += 1
        idx = self._order[self._pos:self._pos + self.batch_size]
        m = idx.shape[0]
        np.take(self.Z, idx, axis=0, out=self._zb[:m])
        np.take(self.u, idx, out=self._ub[:m])
        self._pos += m
        self._m = m
        self.batches += 1

    def split(self, theta: Vector) -> tuple[Vector, float]:
        """(w, b) from θ; b is 0.0 without an intercept."""
        d = self.n_features
        return theta[:d], float(theta[d]) if self.intercept else 0.0

    def loss_and_grad(self, theta: Vector) -> tuple[float, Vector]:
        """f_B(θ) and ∇f_B(θ) on the current batch."""
        m = self._m
        zb, r = self._zb[:m], self._r[:m]
        w, b = self.split(theta)
        np.dot(zb, w, out=r)
        r += b
        r -= self._ub[:m]          # r = ŷ − u: the negative residual
        scale = 2.0 / m
        d = self.n_features
        g = np.empty(self.dim)  # fresh: a policy may keep the gradient it was given
        np.dot(r, zb, out=g[:d])
        g[:d] *= scale
        if self.intercept:
            g[d] = scale * float(r.sum())
        return float(r @ r) / m, g

    def hvp(self, v: Vector) -> Vector:
        """H_B·v with H_B = (2/|B|)·[Z_B 1]ᵀ[Z_B 1], the current batch's Hessian."""
        m = self._m
        zb = self._zb[:m]
        vw, vb = self.split(v)
        t = zb @ vw + vb
        hw = (zb.T @ t) * (2.0 / m)
        return np.append(hw, 2.0 * float(t.sum()) / m) if self.intercept else hw

    def loss_change(self, grad: Vector, step: Vector) -> float:
        """f_B(θ + s) − f_B(θ) = gᵀs + ½sᵀH_Bs on the current batch."""
        return float(grad @ step) + 0.5 * float(step @ self.hvp(step))


def check_stochastic(policy: StepPolicy) -> None:
    """Refuse a policy that is not meaningful on mini-batch gradients, naming those that are."""
    if not policy.stochastic:
        usable = [n for n, c in STEP_POLICIES.items() if c.stochastic]
        which = f"step='{policy.name}'" + (" (the default)" if policy.name == DEFAULT_STEP
                                           else "")
        raise OptionError(
            f"{which} needs exact gradients and function values (a line search or "
            f"a curvature estimate is fooled by mini-batch noise), so it cannot be used with "
            f"batch_size=; give step= one of: {', '.join(usable)}")


def descend_minibatch(full: LeastSquares, batches: MiniBatches, theta0: Vector,
                      policy: StepPolicy, rules: tuple[StopRule, ...], *,
                      callback: Callable[[Iterate], None] | None = None,
                      next_report: Callable[[int], int] | None = None,
                      keep_history: bool = False,
                      record: Callable[[Iterate], None] | None = None,
                      catch_interrupt: bool = False) -> Descent:
    """Stochastic gradient descent: step on batch gradients, judge on the full objective.

    Parameters mean what they mean in :func:`gdfit.solver.descend`; ``full`` is the whole
    data's objective in the same coordinates as ``batches``. Gradient evaluations count batch
    gradients; function evaluations count the full-data losses the stopping rules look at.
    The stall rule's "lowest loss" is the full-data loss too: the batch losses are noisy.
    """
    start = time.perf_counter()
    rules, stall, stall_at = split_stall(rules)
    theta = np.array(theta0, dtype=np.float64)
    # What the Ctrl-C handler needs exists before the protected region (see
    # gdfit.solver.descend): Ctrl-C anywhere from the first evaluation on ends the run alike.
    k = 0
    last = StepInfo(math.nan)  # what the policy did in the latest iteration
    loss = gnorm = math.nan
    grad = np.full_like(theta, math.nan)
    fevals, gevals = 0, 0
    best: tuple[Vector, float, Vector, float, int, StepInfo] | None = None
    fired: tuple[StopReason, str] | None = None
    # The policies only call loss_and_grad, hvp, loss_change, split and dim: a batch provides them.
    problem = cast(LeastSquares, batches)

    def iterate() -> Iterate:  # built only when reported or kept: str() formats the reason
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
        loss, grad, gnorm = full.loss_grad_norm(theta)
        gnorm0 = gnorm
        fevals = 1
        # The iterate of lowest full-data loss so far, returned if Ctrl-C ends the run.
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
        # Not the loop first: see gdfit.solver.descend (a Ctrl-C on the loop's backward jump).
        fired = first_reason(rules, Progress(0, loss, math.nan, gnorm, 0.0,
                                             vector_norm(theta), gnorm0, 0.0))
        while fired is None:
            batches.next_batch()
            batch_loss, batch_grad = batches.loss_and_grad(theta)
            gevals += 1
            new_theta, info, state = policy.update(problem, theta, batch_loss, batch_grad, state)
            new_loss, new_grad, new_gnorm = full.loss_grad_norm(new_theta)
            fevals += 1
            if not (math.isfinite(new_loss) and math.isfinite(new_gnorm)) or new_loss > ceiling:
                what = ("became non-finite" if not math.isfinite(new_loss + new_gnorm)
                        else f"grew to {new_loss / max(loss0, 1e-300):.2g} times its start")
                fired = (StopReason.diverged, f"diverged at iteration {k + 1}: the loss {what}")
                break
            delta = new_theta - theta
            change = full.loss_change(grad, delta)
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
            fired = first_reason(rules, Progress(
                k, loss, change, gnorm, vector_norm(delta), vector_norm(theta), gnorm0,
                time.perf_counter() - start))
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
            loss, grad, gnorm = full.loss_grad_norm(theta)
            fevals = 1
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


@warns_unconverged
def fit_minibatch(
    X: ArrayLike,
    y: ArrayLike,
    *,
    batch_size: int | None,
    seed: int = 0,
    features: Sequence[str] | None = None,
    target: str | None = None,
    intercept: bool = True,
    step: str | StepPolicy | None = None,
    alpha: float | None = None,
    max_iter: int = DEFAULT_MAX_ITER,
    grad_tol: float = DEFAULT_GRAD_TOL,
    loss_tol: float = DEFAULT_LOSS_TOL,
    scale: Scale | str = Scale.standard,
    callback: Callable[[IterRecord], Any] | None = None,
    every: int | None = None,
    history: bool | Recorder = False,
    catch_interrupt: bool = False,
    extra_rules: Sequence[StopRule] = (),
) -> FitResult:
    """Fit ``y ≈ X·w + b`` by mini-batch gradient descent with batches of ``batch_size`` rows.

    The other parameters mean what they mean in :func:`gdfit.fit`. ``batch_size`` None or ≥ n
    is the full batch and
    simply calls :func:`gdfit.fit` (``epochs`` is then None). ``step`` None is
    :data:`~gdfit.choices.DEFAULT_STOCHASTIC_STEP` (``"adam"``) on mini-batches and the
    full-batch default (``"cg"``) otherwise. The tolerances are tested on the
    full-data gradient and loss, so the default ``grad_tol`` is rarely met by a constant step:
    give a loss tolerance or a budget. ``FitResult.epochs`` counts the passes over the data,
    the last possibly partial.

    Examples
    --------
    >>> import numpy as np, gdfit.minibatch as mb
    >>> X = np.arange(20.0)[:, None]; y = 3 * X[:, 0] + 1
    >>> r = mb.fit_minibatch(X, y, batch_size=4, step="fixed", alpha=0.1, max_iter=500,
    ...                      grad_tol=0)
    >>> round(float(r.w[0]), 6), round(r.b, 6), r.iterations, r.epochs
    (3.0, 1.0, 500, 100)
    """
    if batch_size is not None and batch_size < 1:
        raise OptionError(f"batch_size= must be ≥ 1, got {batch_size}")
    Xa, ya, names, target = design(X, y, features=features, target=target)
    full_batch = batch_size is None or batch_size >= Xa.shape[0]
    if step is None:
        step = DEFAULT_STEP if full_batch else DEFAULT_STOCHASTIC_STEP
    if batch_size is None or full_batch:
        return full_batch_fit(Xa, ya, features=names, target=target, intercept=intercept,
                              step=step, alpha=alpha, max_iter=max_iter, grad_tol=grad_tol,
                              loss_tol=loss_tol, scale=scale, callback=callback, every=every,
                              history=history, catch_interrupt=catch_interrupt,
                              extra_rules=extra_rules)
    units = Units.of_rows(Xa, ya)
    if units is not None:  # values that cannot be squared (see gdfit.magnitude)
        return units.refit(fit_minibatch, Xa, ya, callback=callback, history=history,
                           batch_size=batch_size, seed=seed, features=names, target=target,
                           intercept=intercept, step=step, alpha=alpha, max_iter=max_iter,
                           grad_tol=grad_tol, loss_tol=loss_tol, scale=scale, every=every,
                           catch_interrupt=catch_interrupt, extra_rules=extra_rules)
    raw = LeastSquares.from_arrays(Xa, ya, intercept=intercept)
    setup = prepare(raw, names, step=step, alpha=alpha, max_iter=max_iter, grad_tol=grad_tol,
                    loss_tol=loss_tol, scale=scale, every=every, extra_rules=extra_rules,
                    rows=Xa)
    check_stochastic(setup.policy)
    scaling = setup.scaling
    batches = MiniBatches((Xa - scaling.x_shift) / scaling.x_scale,
                          (ya - scaling.y_shift) / scaling.y_scale, intercept=intercept,
                          batch_size=batch_size, seed=seed)
    run, records = run_descent(setup, partial(descend_minibatch, scaling.transform(raw), batches),
                               callback=callback, every=every, history=history,
                               catch_interrupt=catch_interrupt)
    w, b = scaling.to_data(run.theta)
    mse, r2 = fit_quality(Xa, ya, w, b)
    if not math.isfinite(mse):
        mse = run.loss * scaling.loss_factor
        r2 = statistics_quality(raw, mse)
    return build_result(setup, run, records, target=target, loss=mse, r2=r2,
                        lstsq=reference_from_rows(Xa, ya, intercept),
                        gradient="full-data gradient norm",
                        step=f"{setup.policy.describe()} on batches of {batches.batch_size}",
                        epochs=-(-run.iterations // batches.batches_per_epoch),
                        engine="rows")  # the steps' gradients come from batches of rows
