"""Fitting a model (plain columns or ``--poly``) with statistics, and the ``--precise`` preset.

:func:`fit_model` is what ``gdfit fit`` calls. Without ``--precise`` plain columns go straight
to :func:`gdfit.api.fit`; a polynomial is fitted by :func:`gdfit.api.fit` on its orthogonal
basis (:class:`~gdfit.poly.PolyBasis`) and converted back exactly.

``--precise`` reaches NIST's certified values by gradient descent with iterative refinement:

1. descend in an orthonormal basis F (orthogonal polynomials, or the standardised columns
   orthogonalised by a QR factorisation): FᵀF ≈ n·I, so steepest descent with the exact line
   search converges in one or two steps, to a gradient 10¹³ times smaller than at the start;
2. convert the basis coefficients to raw ones exactly (rational arithmetic) and accumulate
   them exactly;
3. recompute the residuals r = y − V·β from the raw rows in extended precision (long
   double), and the correction problem's moments Fᵀr, Σr, … from them; descend on that
   problem (a least-squares fit of r, from sufficient statistics) and add the correction;
4. repeat until a correction no longer changes β in float64 (at most :data:`MAX_ROUNDS`).

At the fixed point Fᵀr = 0 holds to extended precision: these are the normal equations of
the raw problem, so the estimates are the least-squares solution of the float64 data to
nearly full double precision (Higham, *Accuracy and Stability of Numerical Algorithms*,
ch. 12 and 20, on refinement with residuals in extra precision).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np

from gdfit.api import (
    DEFAULT_GRAD_TOL,
    DEFAULT_LOSS_TOL,
    DEFAULT_MAX_ITER,
    fit,
    fit_statistics,
)
from gdfit.arrays import design
from gdfit.basis import (
    DD,
    Basis,
    ColumnBasis,
    dd_mul_dd,
    dd_sum,
    dd_to_longdouble,
    exact,
)
from gdfit.errors import OptionError
from gdfit.history import Recorder, as_recorder, converting
from gdfit.magnitude import Units
from gdfit.objective import LeastSquares
from gdfit.poly import PolyBasis, power_names
from gdfit.reference import Reference, reference_from_rows
from gdfit.result import FitResult, IterRecord
from gdfit.scaling import AffineScaling, Scale
from gdfit.stats import FitStatistics, check_level, compute_statistics
from gdfit.steps import DEFAULT_STEP, StepPolicy, make_step
from gdfit.stopping import StopRule
from gdfit.unconverged import warns_unconverged

#: Each descent of the preset: steepest descent with the exact line search, which in an
#: orthonormal basis converges in one or two iterations.
PRECISE_STEP = "exact"

#: Each descent stops when its gradient is this fraction of its starting gradient.
PRECISE_REL_GRAD_TOL = 1e-13
#: Refinement rounds after the first descent, at most.
MAX_ROUNDS = 6


@dataclass(frozen=True)
class ModelFit:
    """A fit in data units, its statistics, and how it was computed."""

    result: FitResult
    stats: FitStatistics
    basis: Basis
    rounds: int = 0
    corrections: tuple[float, ...] = ()

    def describe(self) -> dict[str, Any]:
        """What the JSON output says about the model terms and the preset."""
        info: dict[str, Any] = {}
        if isinstance(self.basis, PolyBasis):
            info["poly"] = {"column": self.basis.column, "degree": self.basis.degree,
                            "basis": "orthogonal polynomials (Arnoldi), converted exactly"}
        if self.rounds:
            info["precise"] = {"refinement_rounds": self.rounds - 1,
                               "corrections": list(self.corrections)}
        return info


def _records(basis: Basis) -> Callable[[IterRecord], IterRecord]:
    """Convert an iteration record from basis to raw coefficients (float64 map, for display)."""
    T = basis.matrix

    def convert(rec: IterRecord) -> IterRecord:
        theta = T @ (np.append(rec.w, rec.b) if rec.b is not None else rec.w)
        w, b = (theta[:-1], float(theta[-1])) if basis.intercept else (theta, None)
        return replace(rec, w=w, b=b)

    return convert


def _finish(result: FitResult, basis: Basis, y: np.ndarray, w: np.ndarray, b: float | None,
            lstsq: tuple[np.ndarray, float | None] | Reference, *, level: float,
            **extra: Any) -> tuple[FitResult, FitStatistics]:
    """Statistics for raw (w, b) and the result restated in raw coefficients."""
    if isinstance(basis, PolyBasis):
        basis.check_raw(list(map(float, w)), b, y, result.rmse)
    stats = compute_statistics(basis, y, w, b, level=level, converged=result.success,
                               status=result.status, message=result.message)
    mse = stats.rss / stats.n
    ref_w, ref_b = lstsq.solution if isinstance(lstsq, Reference) else lstsq
    fixed = replace(result, w=w, b=b, features=basis.names, loss=mse,
                    rmse=float(np.sqrt(mse)), r2=stats.r2, lstsq_w=ref_w,
                    lstsq_b=ref_b, **_reference_fields(lstsq), **extra)
    return fixed, stats


def _reference_fields(lstsq: tuple[np.ndarray, float | None] | Reference) -> dict[str, Any]:
    """How exact the reference is: known for one from the rows (:class:`Reference`); not for
    one restated from a basis (the map to raw powers can cancel digits), which says nothing."""
    if isinstance(lstsq, Reference):
        return {"lstsq_method": lstsq.method, "lstsq_condition": lstsq.condition,
                "lstsq_digits": lstsq.digits}
    return {"lstsq_method": "", "lstsq_condition": None, "lstsq_digits": None}


def _correction_problem(Fdd: DD, r: DD, intercept: bool) -> LeastSquares:
    """Moments of the least-squares problem r ≈ F·δ (+ c) for residuals r in double-double.

    The sums Σr and Σ F_k·r, on which the fixed point of the refinement rests, are computed
    from double-double products and summed exactly (``math.fsum``); the Gram matrix, which only
    steers the descent, in long double. Without an intercept the moments are uncentred and the
    means set to 0, which gives :class:`LeastSquares` the same objective without a cancelling
    x̄·ȳ term.
    """
    F = dd_to_longdouble(Fdd)
    n = F.shape[0]
    s_r = dd_sum(r)
    s_fr = np.array([dd_sum(dd_mul_dd((Fdd[0][:, k], Fdd[1][:, k]), r))
                     for k in range(F.shape[1])])
    r_ld = dd_to_longdouble(r)
    if intercept:
        s_f = np.array([dd_sum((Fdd[0][:, k], Fdd[1][:, k])) for k in range(F.shape[1])])
        fm, rm = F.mean(axis=0), r_ld.mean()
        Fc, rc = F - fm, r_ld - rm
        xty = (s_fr - s_f * (s_r / n)) / n
        x_mean, y_mean = s_f / n, s_r / n
    else:
        Fc, rc = F, r_ld
        xty = s_fr / n
        x_mean, y_mean = np.zeros(F.shape[1]), 0.0
    return LeastSquares(n=n, x_mean=np.asarray(x_mean, dtype=np.float64), y_mean=float(y_mean),
                        gram=np.asarray(Fc.T @ Fc / n, dtype=np.float64),
                        xty=np.asarray(xty, dtype=np.float64), yty=float(rc @ rc / n),
                        intercept=intercept)


def _start_gradient(problem: LeastSquares) -> float:
    """‖∇f(0)‖ in the standardised space the descent runs in."""
    scaled = AffineScaling.standard(problem).transform(problem)
    return float(np.linalg.norm(scaled.grad(np.zeros(scaled.dim))))


Refined = tuple[FitResult, list[Fraction], Fraction | None, tuple[np.ndarray, float | None],
                int, tuple[float, ...]]


def _precise(basis: Basis, y: np.ndarray, *, target: str, max_iter: int,
             callback: Callable[[IterRecord], Any] | None, every: int | None,
             history: bool | Recorder, catch_interrupt: bool) -> Refined:
    """Gradient descent with iterative refinement (see the module docstring)."""
    start = time.perf_counter()
    F = basis.features_dd()
    d = len(basis.names)
    w_acc = [Fraction(0)] * d
    b_acc: Fraction | None = Fraction(0) if basis.intercept else None
    convert = _records(basis)
    recorder = as_recorder(history)  # the first round's iterations, in raw coefficients
    runs: list[FitResult] = []
    corrections: list[float] = []
    lstsq: tuple[np.ndarray, float | None] = (np.zeros(d), None)
    for round_ in range(MAX_ROUNDS + 1):
        r = basis.residuals_dd(y, w_acc, b_acc) if round_ else (y, np.zeros(len(y)))
        problem = _correction_problem(F, r, basis.intercept)
        g0 = _start_gradient(problem)
        if g0 == 0.0 and round_:
            break  # the residuals are orthogonal to the basis: nothing left to correct
        on_iter = None if (callback is None or round_) else (lambda rec: callback(convert(rec)))
        run = fit_statistics(problem, features=basis.feature_names, target=target,
                             step=PRECISE_STEP, max_iter=max_iter,
                             grad_tol=max(PRECISE_REL_GRAD_TOL * g0, 1e-300), loss_tol=0.0,
                             scale=Scale.standard, callback=on_iter, every=every,
                             history=converting(recorder, convert) if recorder is not None
                             and not round_ else False, catch_interrupt=catch_interrupt)
        runs.append(run)
        dw, db = basis.to_raw(exact(run.w), Fraction(run.b) if run.b is not None else None)
        if round_ == 0:
            lstsq = basis.theta_to_raw(run.lstsq_theta)
        w_acc = [a + v for a, v in zip(w_acc, dw, strict=True)]
        if b_acc is not None and db is not None:
            b_acc += db
        # The largest change relative to its own coefficient (coefficients still 0 aside).
        pairs = list(zip(dw, w_acc, strict=True)) + ([(db, b_acc)] if b_acc is not None
                                                     and db is not None else [])
        rel = max((abs(float(delta / value)) for delta, value in pairs if value), default=0.0)
        if round_:
            corrections.append(rel)
        if not run.success or rel <= np.finfo(np.float64).eps / 4:
            break
    first, last = runs[0], runs[-1]
    refinements = len(runs) - 1
    failed = next((run for run in runs if not run.success), None)
    reason = failed.stop_reason if failed else last.stop_reason
    if failed:
        message = failed.message
    else:
        message = (f"‖∇f‖ ≤ {PRECISE_REL_GRAD_TOL:g}·‖∇f₀‖ after {first.iterations} "
                   f"iteration{'s' if first.iterations != 1 else ''} in an orthonormal basis; "
                   f"then {refinements} refinement round"
                   f"{'s' if refinements != 1 else ''} with residuals in extended precision"
                   + (f" (last correction {corrections[-1]:.2g} relative)" if corrections else ""))
    combined = replace(
        first, iterations=sum(run.iterations for run in runs),
        function_evals=sum(run.function_evals for run in runs),
        gradient_evals=sum(run.gradient_evals for run in runs),
        elapsed=time.perf_counter() - start, stop_reason=reason, message=message,
        grad_norm=last.grad_norm, step=f"{first.step}, precise", history=first.history)
    return combined, w_acc, b_acc, lstsq, len(runs), tuple(corrections)


@warns_unconverged
def fit_model(
    X: Any,
    y: Any,
    *,
    features: Sequence[str] | None = None,
    target: str | None = None,
    intercept: bool = True,
    poly: int | None = None,
    precise: bool = False,
    level: float = 0.95,
    step: str | StepPolicy = DEFAULT_STEP,
    max_iter: int = DEFAULT_MAX_ITER,
    grad_tol: float = DEFAULT_GRAD_TOL,
    loss_tol: float = DEFAULT_LOSS_TOL,
    scale: Scale | str = Scale.standard,
    callback: Callable[[IterRecord], Any] | None = None,
    every: int | None = None,
    history: bool | Recorder = False,
    catch_interrupt: bool = False,
    extra_rules: Sequence[StopRule] = (),
) -> ModelFit:
    """Fit y on the columns of X (or on the powers of its one column) and summarise the fit.

    Parameters
    ----------
    X, y : the data (n × d and n), as for :func:`gdfit.api.fit` (arrays, Series, frames).
    features, target : names (default: the frame's and the Series', else ``x0, …`` and ``y``).
    intercept : bool
        Fit b, or force the model through the origin.
    poly : int, optional
        Fit a polynomial of this degree in the single column of X.
    precise : bool
        The ``--precise`` preset (orthonormal basis, tight relative tolerance, refinement with
        residuals in extended precision); it sets the step and tolerances itself.
    level : float
        Confidence level of the intervals in the statistics.
    step, max_iter, grad_tol, loss_tol, scale, callback, every, history, catch_interrupt,
    extra_rules :
        As for :func:`gdfit.api.fit` (``extra_rules`` only without ``precise``).

    Returns
    -------
    ModelFit
        The result in raw coefficients (powers of x under ``poly``) and its statistics.
    """
    check_level(level)
    Xa, ya, names, target = design(X, y, features=features, target=target)
    units = Units.of_rows(Xa, ya)
    if units is not None:  # values that cannot be squared (see gdfit.magnitude)
        Xs, ys = units.rows(Xa, ya)
        if poly is not None:  # the coefficient of x^k scales as p_y / p^k
            units = units.powers(poly)
        scaled_callback, scaled_history = units.observers(callback, history)
        with units.restating():
            inner = fit_model(Xs, ys, features=names, target=target, intercept=intercept,
                              poly=poly, precise=precise, level=level, step=step,
                              max_iter=max_iter, grad_tol=grad_tol, loss_tol=loss_tol,
                              scale=scale, callback=scaled_callback, every=every,
                              history=scaled_history, catch_interrupt=catch_interrupt,
                              extra_rules=extra_rules)
        return replace(inner, result=units.result(inner.result),
                       stats=units.statistics(inner.stats))
    if precise:
        _check_preset(step, grad_tol, loss_tol, scale)
        if extra_rules:
            raise OptionError("precise=True sets its own stopping rules; drop extra_rules=")
    basis: Basis
    if poly is not None:
        if Xa.shape[1] != 1:
            raise OptionError(f"poly= needs a single x column; got {Xa.shape[1]} "
                              f"({', '.join(names)}): choose one")
        basis = PolyBasis(Xa[:, 0], poly, intercept=intercept, name=names[0])
    else:
        basis = ColumnBasis(Xa, names, intercept=intercept, orthogonal=precise)
    if precise:
        run, w_ex, b_ex, lstsq, rounds, corr = _precise(
            basis, ya, target=target, max_iter=max_iter, callback=callback, every=every,
            history=history, catch_interrupt=catch_interrupt)
        w = np.array([float(v) for v in w_ex])
        b = None if b_ex is None else float(b_ex)
        # Plain columns: the reference from the rows (QR + refinement), which says how exact
        # it is; a polynomial keeps its basis's, restated on the raw powers.
        reference = lstsq if poly is not None else reference_from_rows(Xa, ya, intercept)
        result, stats = _finish(run, basis, ya, w, b, reference, level=level)
        return ModelFit(result, stats, basis, rounds, corr)
    if poly is None:
        result = fit(Xa, ya, features=names, target=target, intercept=intercept, step=step,
                     max_iter=max_iter, grad_tol=grad_tol, loss_tol=loss_tol, scale=scale,
                     callback=callback, every=every, history=history,
                     catch_interrupt=catch_interrupt, extra_rules=extra_rules)
        stats = compute_statistics(basis, ya, result.w, result.b, level=level,
                                   converged=result.success, status=result.status,
                                   message=result.message)
        return ModelFit(result, stats, basis)
    convert = _records(basis)
    on_iter = None if callback is None else (lambda rec: callback(convert(rec)))
    recorder = as_recorder(history)  # kept (and traced) in raw-power coefficients
    run = fit(basis.features, ya, features=basis.feature_names, target=target,
              intercept=intercept, step=step, max_iter=max_iter, grad_tol=grad_tol,
              loss_tol=loss_tol, scale=scale, callback=on_iter, every=every,
              history=False if recorder is None else converting(recorder, convert),
              catch_interrupt=catch_interrupt, extra_rules=extra_rules)
    w, b = basis.theta_to_raw(run.theta)
    lstsq = basis.theta_to_raw(run.lstsq_theta)
    result, stats = _finish(run, basis, ya, w, b, lstsq, level=level)
    return ModelFit(result, stats, basis)


def _check_preset(step: str | StepPolicy, grad_tol: float, loss_tol: float,
                  scale: Scale | str) -> None:
    """--precise chooses the step policy and tolerances; refuse a conflicting choice."""
    name = step if isinstance(step, str) else step.name
    default = make_step(DEFAULT_STEP).describe()
    clashes = [f"{param}=" for param, given in (("step", name != DEFAULT_STEP or (
        not isinstance(step, str) and step.describe() != default)),
        ("grad_tol", grad_tol != DEFAULT_GRAD_TOL), ("loss_tol", loss_tol != DEFAULT_LOSS_TOL),
        ("scale", Scale(scale) is not Scale.standard)) if given]
    if clashes:
        raise OptionError(f"precise=True sets the step policy and the tolerances itself; drop "
                          f"{', '.join(clashes)}")


def check_model_options(*, poly: int | None, precise: bool, stats: bool, batch: bool,
                        batch_size: int | None, explain: bool, save: str | None) -> None:
    """Refuse combinations of ``--poly``/``--precise``/``--stats`` that cannot work."""
    custom = [name for name, on in (("--poly", poly is not None), ("--precise", precise)) if on]
    if batch and (custom or stats):
        given = custom + (["--stats"] if stats else [])
        raise OptionError(f"{', '.join(given)} {'work' if len(given) > 1 else 'works'} on a "
                          "single fit, not with --each-file or --group-by")
    if custom and batch_size is not None:
        raise OptionError(f"{custom[0]} runs full-batch descent in its own basis; drop "
                          "--batch-size")
    if custom and explain:
        raise OptionError(f"--explain follows the descent on the raw columns; it does not "
                          f"apply to {custom[0]}")
    if poly is not None and save is not None:
        raise OptionError("--save stores models on plain columns; a --poly model cannot be "
                          "saved yet (fit the powers as columns to save one)")


def model_names(features: Sequence[str], poly: int | None) -> tuple[str, ...]:
    """The names of the fitted coefficients: the columns, or the powers under ``--poly``."""
    return tuple(features) if poly is None or not features else power_names(features[0], poly)


def model_info(fitted: ModelFit | None) -> dict[str, Any]:
    """What the JSON output says about ``--poly`` and ``--precise`` (nothing for plain fits)."""
    return {} if fitted is None else fitted.describe()
