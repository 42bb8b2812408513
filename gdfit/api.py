"""``gdfit.fit``: linear regression by gradient descent, from arrays to a :class:`FitResult`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gdfit.arrays import _check_unique, design
from gdfit.basis import check_rank_moments, check_rank_rows
from gdfit.choices import DEFAULT_GRAD_TOL, DEFAULT_LOSS_TOL, DEFAULT_MAX_ITER, Engine
from gdfit.errors import DataError, OptionError
from gdfit.history import Recorder, as_recorder
from gdfit.magnitude import Units
from gdfit.objective import LeastSquares, Vector
from gdfit.reference import (
    Reference,
    fit_quality,
    reference_from_rows,
    reference_from_statistics,
    statistics_quality,
)
from gdfit.result import FitResult, IterRecord
from gdfit.scaling import AffineScaling, Scale, check_identifiable
from gdfit.solver import Descent, Iterate, descend
from gdfit.steps import DEFAULT_STEP, StepPolicy, make_step
from gdfit.stopping import StopReason, StopRule, build_rules
from gdfit.unconverged import warns_unconverged


def next_log_spaced(iteration: int) -> int:
    """The first of 1, 2, 5, 10, 20, 50, 100, … after ``iteration``: a progress log (from
    iteration 0) that stays short."""
    scale = 1
    while True:
        for mantissa in (1, 2, 5):
            if mantissa * scale > iteration:
                return mantissa * scale
        scale *= 10


@dataclass(frozen=True, eq=False)
class Setup:
    """Everything a fitting function decides before it descends (see :func:`prepare`)."""

    raw: LeastSquares
    scaling: AffineScaling
    policy: StepPolicy
    rules: tuple[StopRule, ...]
    names: tuple[str, ...]
    scale: Scale
    grad_tol: float


def check_design(problem: LeastSquares, names: Sequence[str], rows: Vector | None = None) -> None:
    """Refuse a problem whose coefficients cannot be estimated, naming the columns.

    Too few rows or a constant (without intercept: all-zero) column first
    (:func:`~gdfit.scaling.check_identifiable`), then linear dependence from the standardised
    second moments (:func:`~gdfit.basis.check_rank_moments`, O(d³)). When that flags a
    dependency and the rows are at hand, the singular values of the standardised rows
    (:func:`~gdfit.basis.check_rank`, the test a :class:`~gdfit.basis.ColumnBasis` makes) have
    the last word: squaring the design loses half the digits, the rows do not.
    """
    names = tuple(names)
    check_identifiable(problem, names)
    try:
        check_rank_moments(problem, names)
    except DataError:
        if rows is None:
            raise
        check_rank_rows(rows, names, intercept=problem.intercept)


def prepare(raw: LeastSquares, features: Sequence[str] | None, *, step: str | StepPolicy,
            alpha: float | None, max_iter: int, grad_tol: float, loss_tol: float,
            scale: Scale | str, every: int | None,
            extra_rules: Sequence[StopRule], rows: Vector | None = None) -> Setup:
    """Validate the options and build the policy, the rules and the scaling for ``raw``.

    Every entry point that fits comes here, so that every one makes the checks of
    :func:`check_design` (``rows``: the raw X, when the caller holds it).
    """
    names = tuple(features) if features is not None else tuple(
        f"x{j}" for j in range(raw.n_features))
    if len(names) != raw.n_features:
        raise DataError(f"{len(names)} feature names for {raw.n_features} columns")
    _check_unique(names, "features=")  # a repeated name would lose a coefficient by name
    if every is not None and every < 1:
        raise OptionError(f"every= must be ≥ 1, got {every}")
    if isinstance(step, str):
        policy = make_step(step, alpha=alpha)
    elif alpha is not None:
        raise OptionError("pass alpha= to the step policy's constructor, not to fit()")
    else:
        policy = step
    rules = build_rules(max_iter, grad_tol, loss_tol, extra_rules=extra_rules)
    check_design(raw, names, rows)
    return Setup(raw, AffineScaling.for_problem(raw, scale), policy, rules, names, Scale(scale),
                 grad_tol)


def run_descent(setup: Setup, start: Callable[..., Descent], *,
                callback: Callable[[IterRecord], Any] | None, every: int | None,
                history: bool | Recorder,
                catch_interrupt: bool) -> tuple[Descent, tuple[IterRecord, ...]]:
    """Descend from θ = 0 in the scaled coordinates and return the run and its history in data
    units; ``start(θ0, policy, rules, **options)`` runs the loop (:func:`~gdfit.solver.descend`
    bound to an objective, or the mini-batch loop). Each iterate goes to the history's recorder
    as it is made (see :mod:`gdfit.history`)."""
    scaling = setup.scaling

    def to_record(it: Iterate) -> IterRecord:
        w, b = scaling.to_data(it.theta)
        return IterRecord(it.iteration, it.loss * scaling.loss_factor, it.grad_norm,
                          it.step_size, w, b, it.evaluations, it.reason)

    on_iterate = None if callback is None else (lambda it: callback(to_record(it)))
    after = next_log_spaced if every is None else (lambda k: k + every)
    recorder = as_recorder(history)
    record = None if recorder is None else (lambda it: recorder.append(to_record(it)))
    run = start(np.zeros(setup.raw.dim), setup.policy, setup.rules, callback=on_iterate,
                next_report=after, record=record, catch_interrupt=catch_interrupt)
    return run, () if recorder is None else recorder.records()


def build_result(setup: Setup, run: Descent, history: tuple[IterRecord, ...], *, target: str,
                 loss: float, r2: float, lstsq: tuple[Vector, float | None] | Reference,
                 gradient: str = "gradient norm", **fields: Any) -> FitResult:
    """The :class:`FitResult` of ``run``, its message completed with advice after a divergence
    or the unmet tolerance after the budget; ``fields`` set further FitResult fields."""
    w, b = setup.scaling.to_data(run.theta)
    ref_w, ref_b = lstsq.solution if isinstance(lstsq, Reference) else lstsq
    message = run.message
    if run.reason is StopReason.diverged:
        message += "; " + divergence_advice(setup.policy, setup.scale)
    elif run.reason is StopReason.stalled:
        message += ": " + stall_advice(setup.policy, mini_batch=fields.get("epochs") is not None)
    elif run.reason is StopReason.max_iter and setup.grad_tol > 0:
        message += (f" before grad_tol= was met ({gradient} {run.grad_norm:.3g} > "
                    f"{setup.grad_tol:g})")
        if setup.policy.name == "decay":
            message += "; " + decay_advice(mini_batch=fields.get("epochs") is not None)
    values: dict[str, Any] = dict(
        w=w, b=b, features=setup.names, target=target, loss=loss,
        rmse=float(np.sqrt(loss)), r2=r2, n_obs=setup.raw.n, iterations=run.iterations,
        stop_reason=run.reason, message=message, grad_norm=run.grad_norm,
        function_evals=run.function_evals, gradient_evals=run.gradient_evals,
        elapsed=run.elapsed, step=setup.policy.describe(), scale=setup.scale.value,
        tolerances_active=any(r.is_tolerance for r in setup.rules), lstsq_w=ref_w,
        lstsq_b=ref_b, history=history)
    if isinstance(lstsq, Reference):
        values.update(lstsq_method=lstsq.method, lstsq_condition=lstsq.condition,
                      lstsq_digits=lstsq.digits)
    values.update(fields)
    return FitResult(**values)


@warns_unconverged
def fit(
    X: ArrayLike,
    y: ArrayLike,
    *,
    features: Sequence[str] | None = None,
    target: str | None = None,
    intercept: bool = True,
    step: str | StepPolicy = DEFAULT_STEP,
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
    """Fit ``y ≈ X·w + b`` by minimising the mean squared error with gradient descent.

    Parameters
    ----------
    X : array_like, Series or data frame, shape (n, d)
        Predictors (a 1-D array is one column): a numpy array, nested lists, a record array,
        a pandas (or polars) Series or DataFrame.
    y : array_like, Series or one-column frame, shape (n,) or (n, 1)
        Target.
    features, target : str, optional
        Names used in the result; they win over a frame's column names and a Series' name
        (default: those, else ``x0, x1, …`` and ``y``).
    intercept : bool
        Fit b (default) or force the line through the origin.
    step : str or StepPolicy
        A policy name (``"exact"``, ``"backtracking"``, ``"fixed"``, ``"norm"``) or an instance.
    alpha : float, optional
        α for a named policy that uses one (the fixed step, the fixed length, the first trial).
    max_iter, grad_tol, loss_tol :
        Stopping rules; a tolerance of 0 switches it off. Tolerances are measured in the space
        the descent runs in (see ``scale``).
    scale : {"standard", "none"}
        Descend on standardised columns (default) or on the raw ones. Results are always
        reported in the data's units.
    callback : callable, optional
        Called with an :class:`IterRecord` every ``every`` iterations (default: 0, 1, 2, 5, 10,
        20, 50, …) and at the last iteration.
    history : bool or Recorder
        ``True`` keeps every iteration in ``FitResult.history``; a recorder such as
        :class:`gdfit.history.History` is handed each iteration as it is made and decides what
        the history keeps (bounded and decimated, streamed to a file).
    catch_interrupt : bool
        On Ctrl-C, return the best iterate so far (lowest loss), marked ``interrupted``,
        instead of raising.
    extra_rules : sequence of StopRule
        More stopping rules (``gdfit.stopping.build_extra_rules(...)`` makes those of the
        command line's --rel-grad-tol, --rel-loss-tol, --param-tol, --patience, --time-limit,
        --stall-iter), checked with the standard ones (one run at a time: a patience rule keeps
        state). The stall rule is on by default (:data:`gdfit.stopping.DEFAULT_STALL_ITER`
        iterations without a new lowest loss or gradient norm end the run as ``stalled``);
        ``build_extra_rules(stall_iter=0)`` switches it off.

    Returns
    -------
    FitResult
        With the loss, R² and the ``numpy.linalg.lstsq`` reference computed from the rows.

    Raises
    ------
    DataError
        A column that is not numeric or holds NaN/±inf (named, with its first bad row), y not
        one column, X and y of different lengths, no rows; too few rows, a constant column, or
        columns that are linearly dependent.
    OptionError
        An invalid parameter (the message names it, e.g. ``alpha=``).

    Examples
    --------
    >>> import gdfit
    >>> r = gdfit.fit([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0])
    >>> round(float(r.w[0]), 9), round(r.b, 9), r.converged
    (2.0, 0.0, True)
    """
    Xa, ya, names, target = design(X, y, features=features, target=target)
    units = Units.of_rows(Xa, ya)
    if units is not None:  # values that cannot be squared: fit on columns scaled by 2^k
        return units.refit(fit, Xa, ya, callback=callback, history=history, features=names,
                           target=target, intercept=intercept, step=step, alpha=alpha,
                           max_iter=max_iter, grad_tol=grad_tol, loss_tol=loss_tol, scale=scale,
                           every=every, catch_interrupt=catch_interrupt, extra_rules=extra_rules)
    raw = LeastSquares.from_arrays(Xa, ya, intercept=intercept)
    setup = prepare(raw, names, step=step, alpha=alpha, max_iter=max_iter, grad_tol=grad_tol,
                    loss_tol=loss_tol, scale=scale, every=every, extra_rules=extra_rules,
                    rows=Xa)
    result = descend_statistics(setup, target=target, callback=callback, every=every,
                                history=history, catch_interrupt=catch_interrupt)
    # The rows are at hand: measure the fit on them rather than through the moments.
    mse, r2 = fit_quality(Xa, ya, result.w, result.b)
    ref = reference_from_rows(Xa, ya, intercept)
    return replace(result, loss=mse, rmse=float(np.sqrt(mse)), r2=r2, lstsq_w=ref.w,
                   lstsq_b=ref.b, lstsq_method=ref.method, lstsq_condition=ref.condition,
                   lstsq_digits=ref.digits)


@warns_unconverged
def fit_statistics(
    problem: LeastSquares,
    *,
    features: Sequence[str] | None = None,
    target: str | None = None,
    step: str | StepPolicy = DEFAULT_STEP,
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
    engine: Engine | str = Engine.gram,
) -> FitResult:
    """Fit from sufficient statistics alone; the parameters mean what they mean in :func:`fit`.

    Whether the model has an intercept is ``problem.intercept``. The loss and R² come from the
    statistics, and the reference solution from the standardised normal equations.
    ``engine`` is where the statistics were computed, recorded as ``FitResult.engine``:
    ``"gram"`` (here or by :mod:`gdfit.stream`) or ``"dask"`` (by :mod:`gdfit.dask_engine`).
    """
    source = engine.value if isinstance(engine, Engine) else str(engine)
    if source not in (Engine.gram.value, Engine.dask.value):
        raise OptionError(f"engine= of a fit from statistics is 'gram' or 'dask', not "
                          f"{source!r}")
    setup = prepare(problem, features, step=step, alpha=alpha, max_iter=max_iter,
                    grad_tol=grad_tol, loss_tol=loss_tol, scale=scale, every=every,
                    extra_rules=extra_rules)
    return descend_statistics(setup, target=target or "y", callback=callback, every=every,
                              history=history, catch_interrupt=catch_interrupt,
                              engine=source)


def descend_statistics(setup: Setup, *, target: str,
                       callback: Callable[[IterRecord], Any] | None, every: int | None,
                       history: bool | Recorder, catch_interrupt: bool,
                       engine: str = "gram") -> FitResult:
    """Descend on ``setup.raw``'s statistics in the scaled coordinates; the loss and R² come
    from the statistics, the reference solution from the standardised normal equations.
    ``FitResult.engine`` is ``engine``: every loss and gradient came from the statistics."""
    problem = setup.raw
    scaled = setup.scaling.transform(problem)
    run, records = run_descent(setup, partial(descend, scaled), callback=callback, every=every,
                               history=history, catch_interrupt=catch_interrupt)
    mse = run.loss * setup.scaling.loss_factor
    return build_result(setup, run, records, target=target, loss=mse,
                        r2=statistics_quality(problem, mse),
                        lstsq=reference_from_statistics(problem), engine=engine)


#: Rows × columns up to which a fit from the statistics takes its reference from the rows
#: when they are at hand (a small input of the gram engine): 8 MiB of float64, of which the
#: refinement holds a double-double copy.
ROWS_REFERENCE_FLOATS = 1 << 20


def with_rows_reference(result: FitResult, X: Vector, y: Vector) -> FitResult:
    """``result`` with its least-squares reference recomputed from the rows it was fitted to
    (QR + refinement, exact when κ allows) instead of the statistics, when they are small
    enough (:data:`ROWS_REFERENCE_FLOATS`)."""
    if X.size + y.size > ROWS_REFERENCE_FLOATS:
        return result
    ref = reference_from_rows(X, y, result.intercept)
    return replace(result, lstsq_w=ref.w, lstsq_b=ref.b, lstsq_method=ref.method,
                   lstsq_condition=ref.condition, lstsq_digits=ref.digits)


def decay_advice(*, mini_batch: bool) -> str:
    """What to try after ``step='decay'`` used up its budget: α_t = α₀/t^p shrinks whether or
    not the data call for it (measured: 40 % from least squares after 100 000 iterations on
    columns correlated at 0.99, benchmarks/defaults.py)."""
    if mini_batch:
        return ("the decay step α₀/t^p had shrunk too far to get there; try a larger alpha= or a "
                "smaller power=, or step=adam")
    return ("the decay step α₀/t^p keeps shrinking, which only mini-batch noise calls for; on "
            "the full batch try step=cg (no tuning) or step=lipschitz")


def stall_advice(policy: StepPolicy, *, mini_batch: bool = False) -> str:
    """What to try after a run stalled (no new lowest loss for ``stall_iter=`` iterations)."""
    if mini_batch:
        return ("the mini-batch noise hides any further progress; try a larger batch_size=, "
                "a smaller alpha=, or accept the fit with a tolerance such as rel_loss_tol= or "
                "patience=; stall_iter=0 switches this check off")
    tips = ["step=cg (no tuning)"]
    if getattr(policy, "alpha", None) is not None and policy.needs_tuning:
        tips.append(f"a smaller alpha= (it was {policy.alpha:g})")  # type: ignore[attr-defined]
    tips.append("a looser grad_tol=")
    return ("the step is too long for this data to settle, or the loss is as low as rounding "
            f"allows; try {', '.join(tips[:-1])} or {tips[-1]}; stall_iter=0 switches this "
            "check off")


def divergence_advice(policy: StepPolicy, scale: Scale) -> str:
    """What to try after a run diverged."""
    tips = []
    alpha = getattr(policy, "alpha", None)
    if alpha is not None and policy.name in ("fixed", "norm"):
        tips.append(f"a smaller alpha= (it was {alpha:g})")
    tips.append("step='exact' or step='backtracking', which choose the step themselves")
    if scale is Scale.none:
        tips.append("scale='standard'")
    return "try " + ", or ".join(tips)
