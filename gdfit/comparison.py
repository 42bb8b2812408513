"""``gdfit.compare()``: which way of choosing the step reaches the minimum first, on your data.

Every policy runs on the same data, from the same start, with the same stopping rules, through
:func:`gdfit.fit` (or :func:`gdfit.minibatch.fit_minibatch` with a batch size). The rows come back
ranked: the converged runs by iterations (then gradient and function evaluations), then the
runs that did not converge by how far above the least-squares minimum they stopped, diverged
runs last. Ties keep the order the policies were given in.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from numpy.typing import ArrayLike

from gdfit.arrays import design
from gdfit.errors import OptionError
from gdfit.history import Recorder
from gdfit.magnitude import Units
from gdfit.minibatch import check_stochastic, fit_minibatch
from gdfit.objective import LeastSquares
from gdfit.plot import excess_loss
from gdfit.result import FitResult
from gdfit.steps import STEP_POLICIES, StepPolicy, make_step
from gdfit.stopping import StopReason
from gdfit.unconverged import silent_fits


def tuning_free_policies(stochastic: bool = False) -> list[str]:
    """Registered policies with no parameter to tune (``gdfit compare``'s default set).

    With ``stochastic`` only those that also work on mini-batch gradients.
    """
    return [name for name, cls in STEP_POLICIES.items()
            if not cls.needs_tuning and (cls.stochastic or not stochastic)]


def _convert(value: str, default: Any) -> Any:
    """The text ``value`` as the type of the parameter's default (number when unknown)."""
    if isinstance(default, bool):
        if value.lower() in ("true", "yes", "1", "on"):
            return True
        if value.lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError(value)
    if isinstance(default, int):
        return int(value)
    if isinstance(default, float) or default is None or default is inspect.Parameter.empty:
        try:
            return int(value) if value.lstrip("+-").isdigit() else float(value)
        except ValueError:
            if default is None or default is inspect.Parameter.empty:
                return value
            raise
    return value


def parse_policy(spec: str) -> StepPolicy:
    """A policy from ``name`` or ``name:param=value:param=value``.

    ``param`` is the constructor parameter or its option without dashes (``fixed:alpha=0.1``,
    ``backtracking:armijo-c=0.3:shrink=0.8``).
    """
    name, *pairs = [part.strip() for part in spec.strip().split(":")]
    if name not in STEP_POLICIES:
        raise OptionError(f"steps=: unknown step policy '{name}'; choose from: "
                          f"{', '.join(STEP_POLICIES)}")
    cls = STEP_POLICIES[name]
    by_option = {opt.lstrip("-"): param for param, opt in cls.options.items()}
    signature = inspect.signature(cls.__init__).parameters
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        param = by_option.get(key, key)
        if not sep or not value.strip() or param not in cls.options:
            known = ", ".join(f"{opt.lstrip('-')}" for opt in cls.options.values()) or "none"
            raise OptionError(f"steps=: '{pair}' in '{spec}' is not param=value for a "
                              f"parameter of {name} (its parameters: {known})")
        if param in params:
            raise OptionError(f"steps=: '{spec}' sets {cls.options[param].lstrip('-')} twice; "
                              "give it once")
        default = signature[param].default if param in signature else None
        annotation = str(signature[param].annotation) if param in signature else ""
        try:
            params[param] = _convert(value.strip(), default)
            if isinstance(params[param], str) and "str" not in annotation:
                raise ValueError(value)  # a number parameter with no number default (None)
        except ValueError:
            kind = type(default).__name__ if default is not None else "float"
            raise OptionError(f"steps=: '{key}={value}' in '{spec}': not a valid "
                              f"{kind}") from None
    return make_step(name, **params)


def parse_steps(text: str | None, *, stochastic: bool = False) -> list[StepPolicy]:
    """The policies named in a ``--steps`` value: a comma-separated list of :func:`parse_policy`
    specs, or ``all``; None gives :func:`tuning_free_policies`."""
    if text is None:
        names = tuning_free_policies(stochastic)
        if not names:
            usable = [n for n, c in STEP_POLICIES.items() if c.stochastic]
            raise OptionError("no registered policy both needs no tuning and works on "
                              "mini-batches; name some with steps=, e.g. steps="
                              + ",".join(f"{n}:alpha=0.01" if STEP_POLICIES[n].options else n
                                         for n in usable[:2]))
        return [make_step(n) for n in names]
    specs = [s.strip() for s in text.split(",")]
    if not all(specs):
        raise OptionError(f"steps=: empty policy name in '{text}'")
    if specs == ["all"]:
        specs = [n for n, c in STEP_POLICIES.items() if c.stochastic or not stochastic]
    return [parse_policy(s) for s in specs]


@dataclass(frozen=True, eq=False)
class CompareRow:
    """One policy's run in a comparison.

    Attributes
    ----------
    rank : int
        1 for the best.
    label : str
        The policy's name, or its full description when the same policy runs twice.
    result : FitResult
        The whole result (with its history when asked for).
    excess_loss : float
        f(θ) − f(θ*): how far above the least-squares minimum the run stopped (MSE units).
    """

    rank: int
    label: str
    result: FitResult
    excess_loss: float

    @property
    def converged(self) -> bool:
        """Whether a convergence tolerance ended the run."""
        return self.result.converged

    def as_dict(self) -> dict[str, Any]:
        """The row as plain data (NaN and infinities become None)."""
        r = self.result
        data: dict[str, Any] = {
            "rank": self.rank, "policy": self.label, "step": r.step,
            "iterations": r.iterations, "epochs": r.epochs,
            "gradient_evals": r.gradient_evals, "function_evals": r.function_evals,
            "elapsed_s": r.elapsed, "loss": r.loss, "excess_loss": self.excess_loss,
            "lstsq_distance": r.lstsq_distance, "lstsq_rel_distance": r.lstsq_rel_distance,
            "grad_norm": r.grad_norm, "stop_reason": r.stop_reason.value,
            "converged": r.converged, "message": r.message,
            "w": [float(v) for v in r.w], "b": r.b,
        }
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                for k, v in data.items()}


def _rank_key(row: CompareRow) -> tuple[int, float, int, int]:
    # Deterministic: wall time, which varies from run to run, breaks no ties.
    r = row.result
    if r.converged:
        return (0, r.iterations, r.gradient_evals, r.function_evals)
    if r.stop_reason is StopReason.diverged:
        return (2, r.iterations, 0, 0)
    excess = row.excess_loss if math.isfinite(row.excess_loss) else math.inf
    return (1, excess, r.iterations, r.function_evals)


def rank_rows(rows: Sequence[CompareRow]) -> list[CompareRow]:
    """``rows`` in rank order (ties keep their order), with ``rank`` renumbered 1, 2, …"""
    ordered = sorted(rows, key=_rank_key)
    return [CompareRow(i, row.label, row.result, row.excess_loss)
            for i, row in enumerate(ordered, start=1)]


def _labels(policies: Sequence[StepPolicy]) -> list[str]:
    """Names, or full descriptions where a name would be ambiguous."""
    names = [p.name for p in policies]
    labels = [p.describe() if names.count(p.name) > 1 else p.name for p in policies]
    return [f"{lab} #{labels[:i].count(lab) + 1}" if labels.count(lab) > 1 else lab
            for i, lab in enumerate(labels)]


def compare(
    X: ArrayLike,
    y: ArrayLike,
    steps: Sequence[str | StepPolicy] | None = None,
    *,
    batch_size: int | None = None,
    seed: int = 0,
    stop_on_interrupt: bool = True,
    history: bool | Callable[[str], Recorder] = False,
    **fit_options: Any,
) -> list[CompareRow]:
    """Run every policy in ``steps`` on the same data and stopping rules and rank them.

    Parameters
    ----------
    X, y : array_like, Series or data frame
        The data, as for :func:`gdfit.fit` (a frame's column names are kept).
    steps : sequence of str or StepPolicy, optional
        Policy names, ``name:param=value`` specs (see :func:`parse_policy`) or instances;
        default: every registered policy that needs no tuning (:func:`tuning_free_policies`).
    batch_size, seed : int
        Mini-batch descent for every policy (see :func:`gdfit.minibatch.fit_minibatch`).
    stop_on_interrupt : bool
        With ``catch_interrupt=True``: after a run that Ctrl-C interrupted, run no more.
    history : bool or callable
        ``True`` keeps every iteration of every run in its result's history; a callable is
        called with each run's label and returns the recorder of that run (for instance a
        bounded :class:`gdfit.history.History` that streams a trace file).
    **fit_options
        Passed to :func:`gdfit.fit` for every policy: ``intercept``, ``scale``, ``max_iter``,
        ``grad_tol``, ``loss_tol``, ``features``, …

    Returns
    -------
    list of CompareRow
        Ranked best first.

    Examples
    --------
    >>> import gdfit
    >>> rows = gdfit.compare([[1.0], [2.0], [3.0], [4.0]], [2.1, 3.9, 6.2, 7.8],
    ...                      ["exact", "fixed:alpha=0.1", "backtracking"], scale="none")
    >>> [(r.rank, r.label, r.converged) for r in rows]
    [(1, 'exact', True), (2, 'backtracking', True), (3, 'fixed', True)]
    """
    if "step" in fit_options or "alpha" in fit_options:
        raise OptionError("give compare() its policies in steps=, not step= or alpha=")
    Xa, ya, names, target = design(X, y, features=fit_options.pop("features", None),
                                   target=fit_options.pop("target", None))
    stochastic = batch_size is not None and batch_size < ya.shape[0]
    if steps is None:
        policies = parse_steps(None, stochastic=stochastic)
    else:
        policies = [parse_policy(s) if isinstance(s, str) else s for s in steps]
    if not policies:
        raise OptionError("no step policy to compare")
    if stochastic:
        for policy in policies:
            check_stochastic(policy)
    rows = []
    problem: LeastSquares | None = None
    units = Units.of_rows(Xa, ya)
    for label, policy in zip(_labels(policies), policies, strict=True):
        with silent_fits():  # the rows say which runs converged
            result = fit_minibatch(Xa, ya, batch_size=batch_size, seed=seed, step=policy,
                                   features=names, target=target,
                                   history=history if isinstance(history, bool)
                                   else history(label), **fit_options)
        if problem is None:
            problem = LeastSquares.from_arrays(*(units.rows(Xa, ya) if units else (Xa, ya)),
                                               intercept=result.intercept)
        if units is None:
            excess = float(excess_loss(problem, result.theta, result.lstsq_theta)[0])
        else:  # on the columns scaled by powers of two (see gdfit.magnitude), then ×p_y²
            excess = units.loss(float(excess_loss(problem, units.to_scaled(result).theta,
                                                  units.to_scaled_theta(result))[0]))
        rows.append(CompareRow(0, label, result, excess))
        if stop_on_interrupt and result.stop_reason is StopReason.interrupted:
            break
    return rank_rows(rows)
