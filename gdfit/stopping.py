"""Stopping rules: predicates over the latest iteration, combined with OR.

Each rule looks at an :class:`Progress` record and returns a :class:`StopReason` when it fires
or None. A tolerance of 0 switches its rule off. Tolerances are measured in the space the descent
runs in: with ``--scale standard`` the loss there is the MSE divided by var(y) and the gradient is
taken with respect to the standardised coefficients, so they are dimensionless.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, NamedTuple

from gdfit.errors import OptionError


class StopReason(str, Enum):
    """Why a run ended."""

    grad_tol = "grad_tol"
    loss_tol = "loss_tol"
    max_iter = "max_iter"
    diverged = "diverged"
    line_search_failed = "line_search_failed"
    interrupted = "interrupted"
    rel_grad_tol = "rel_grad_tol"
    rel_loss_tol = "rel_loss_tol"
    param_tol = "param_tol"
    patience = "patience"
    time_limit = "time_limit"
    stalled = "stalled"

    @property
    def converged(self) -> bool:
        """True for the reasons that mean a convergence tolerance was met."""
        return self in (StopReason.grad_tol, StopReason.loss_tol, StopReason.rel_grad_tol,
                        StopReason.rel_loss_tol, StopReason.param_tol, StopReason.patience)


class Progress(NamedTuple):
    """The state the stopping rules look at after iteration ``iteration``.

    ``loss_change`` is f_k − f_{k−1} (NaN at iteration 0), ``step_norm`` is ‖θ_k − θ_{k−1}‖,
    ``grad_norm0`` the gradient norm at the start and ``elapsed`` the seconds since it. A
    named tuple, not a dataclass: one is made per iteration, and a tuple is made in a fifth of
    the time.
    """

    iteration: int
    loss: float
    loss_change: float
    grad_norm: float
    step_norm: float = math.nan
    theta_norm: float = math.nan
    grad_norm0: float = math.nan
    elapsed: float = 0.0


class StopRule(ABC):
    """A predicate that can end the run.

    ``needs`` names the :class:`Progress` fields beyond iteration, loss and gradient norms that
    the rule reads (``loss_change``, ``step_norm``, ``theta_norm``, ``elapsed``), so the loop
    computes only those; None (the default for rules written elsewhere) means all of them.
    """

    needs: ClassVar[frozenset[str] | None] = None

    @abstractmethod
    def check(self, progress: Progress) -> StopReason | None:
        """Return the reason to stop now, or None to go on."""

    @abstractmethod
    def explain(self, progress: Progress) -> str:
        """One line saying why the rule fired."""

    @property
    def is_tolerance(self) -> bool:
        """True for a convergence tolerance (as opposed to a budget)."""
        return True

    def bounds(self) -> tuple[float, float] | None:
        """(K, g) when the rule fires exactly when iteration ≥ K or ‖∇f‖ ≤ g; else None.

        The descent loop tests such rules as two comparisons instead of a call per rule and
        iteration (see :func:`gdfit.solver.descend`). Rules that read anything else keep None.
        """
        return None


def _tolerance(option: str, value: float) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise OptionError(f"{option}= must be a number ≥ 0 (0 switches it off), got {value:g}")
    return float(value)


@dataclass(frozen=True)
class MaxIter(StopRule):
    """Stop after ``limit`` iterations."""

    needs: ClassVar[frozenset[str] | None] = frozenset()

    limit: int

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise OptionError(f"max_iter= must be ≥ 0, got {self.limit}")

    def check(self, progress: Progress) -> StopReason | None:
        return StopReason.max_iter if progress.iteration >= self.limit else None

    def bounds(self) -> tuple[float, float] | None:
        return float(self.limit), -math.inf

    def explain(self, progress: Progress) -> str:
        return f"reached the iteration budget (max_iter={self.limit})"

    @property
    def is_tolerance(self) -> bool:
        return False


@dataclass(frozen=True)
class GradTol(StopRule):
    """Stop when ‖∇f(θ)‖₂ ≤ tol."""

    needs: ClassVar[frozenset[str] | None] = frozenset()

    tol: float

    def __post_init__(self) -> None:
        _tolerance("grad_tol", self.tol)

    def check(self, progress: Progress) -> StopReason | None:
        return StopReason.grad_tol if progress.grad_norm <= self.tol else None

    def bounds(self) -> tuple[float, float] | None:
        return math.inf, self.tol

    def explain(self, progress: Progress) -> str:
        return f"gradient norm {progress.grad_norm:.3g} ≤ grad_tol={self.tol:g}"


@dataclass(frozen=True)
class LossTol(StopRule):
    """Stop when the last iteration changed the objective by at most tol: |f_k − f_{k−1}| ≤ tol."""

    needs: ClassVar[frozenset[str] | None] = frozenset({"loss_change"})

    tol: float

    def __post_init__(self) -> None:
        _tolerance("loss_tol", self.tol)

    def check(self, progress: Progress) -> StopReason | None:
        if progress.iteration == 0:
            return None
        return StopReason.loss_tol if abs(progress.loss_change) <= self.tol else None

    def explain(self, progress: Progress) -> str:
        return f"loss changed by {abs(progress.loss_change):.3g} ≤ loss_tol={self.tol:g}"


@dataclass(frozen=True)
class RelGradTol(StopRule):
    """Stop when ‖∇f(θ_k)‖ ≤ tol·‖∇f(θ₀)‖: the gradient has shrunk by the factor tol.

    Relative to the starting gradient, so it does not depend on the units of y or x.
    """

    needs: ClassVar[frozenset[str] | None] = frozenset()

    tol: float

    def __post_init__(self) -> None:
        _tolerance("rel_grad_tol", self.tol)

    def check(self, progress: Progress) -> StopReason | None:
        return (StopReason.rel_grad_tol
                if progress.grad_norm <= self.tol * progress.grad_norm0 else None)

    def explain(self, progress: Progress) -> str:
        return (f"gradient norm {progress.grad_norm:.3g} ≤ rel_grad_tol={self.tol:g} × the "
                f"starting gradient norm {progress.grad_norm0:.3g} (relative to the start)")


@dataclass(frozen=True)
class RelLossTol(StopRule):
    """Stop when |f_k − f_{k−1}| ≤ tol·max(|f_k|, 1).

    Relative to the loss while it exceeds 1 and absolute below, in the loss the descent sees
    (under ``--scale standard`` the MSE divided by var(y), i.e. 1 − R² with an intercept).
    """

    needs: ClassVar[frozenset[str] | None] = frozenset({"loss_change"})

    tol: float

    def __post_init__(self) -> None:
        _tolerance("rel_loss_tol", self.tol)

    def check(self, progress: Progress) -> StopReason | None:
        if progress.iteration == 0:
            return None
        bound = self.tol * max(abs(progress.loss), 1.0)
        return StopReason.rel_loss_tol if abs(progress.loss_change) <= bound else None

    def explain(self, progress: Progress) -> str:
        return (f"loss changed by {abs(progress.loss_change):.3g} ≤ rel_loss_tol={self.tol:g}"
                f" × max(|f|, 1) = {max(abs(progress.loss), 1.0):.3g} (relative to the loss in "
                "the descent's coordinates)")


@dataclass(frozen=True)
class ParamTol(StopRule):
    """Stop when the last step was short: ‖θ_k − θ_{k−1}‖ ≤ tol·(tol + ‖θ_k‖).

    Relative to the size of θ (absolute, ≈ tol², when θ ≈ 0), measured in the coordinates the
    descent runs in (standardised coefficients under ``--scale standard``).
    """

    needs: ClassVar[frozenset[str] | None] = frozenset({"step_norm", "theta_norm"})

    tol: float

    def __post_init__(self) -> None:
        _tolerance("param_tol", self.tol)

    def check(self, progress: Progress) -> StopReason | None:
        if progress.iteration == 0:
            return None
        bound = self.tol * (self.tol + progress.theta_norm)
        return StopReason.param_tol if progress.step_norm <= bound else None

    def explain(self, progress: Progress) -> str:
        return (f"step length ‖Δθ‖ = {progress.step_norm:.3g} ≤ param_tol={self.tol:g} × "
                f"(param_tol= + ‖θ‖ = {progress.theta_norm:.3g}) (relative to θ in the "
                "descent's coordinates)")


class Patience(StopRule):
    """Stop after ``patience`` iterations in a row that did not improve the best loss by > tol.

    As scikit-learn's ``n_iter_no_change``/``tol``: an iteration counts as an improvement when
    f_k < best − tol (absolute, in the loss the descent sees); best is the lowest loss so far.
    The rule keeps that state, so it belongs to one run at a time; it starts afresh whenever it
    is shown iteration 0, which is where every run begins.
    """

    needs: ClassVar[frozenset[str] | None] = frozenset()

    def __init__(self, patience: int, tol: float = 0.0) -> None:
        if patience < 1:
            raise OptionError(f"patience= must be ≥ 1 (0 switches it off), got {patience}")
        self.patience = int(patience)
        self.tol = _tolerance("patience_tol", tol)
        self.best = math.inf
        self.stale = 0

    def __repr__(self) -> str:
        return f"Patience(patience={self.patience}, tol={self.tol:g})"

    def check(self, progress: Progress) -> StopReason | None:
        if progress.iteration == 0:
            self.best, self.stale = progress.loss, 0
            return None
        if progress.loss < self.best - self.tol:
            self.stale = 0
        else:
            self.stale += 1
        self.best = min(self.best, progress.loss)
        return StopReason.patience if self.stale >= self.patience else None

    def explain(self, progress: Progress) -> str:
        return (f"the best loss {self.best:.6g} did not improve by more than patience_tol="
                f"{self.tol:g} for {self.patience} iterations (patience=; absolute, in the "
                "loss of the descent's coordinates)")


@dataclass(frozen=True)
class TimeLimit(StopRule):
    """Stop once the run has taken ``seconds`` of wall-clock time (a budget, checked after
    each iteration, so the run ends at most one iteration later)."""

    needs: ClassVar[frozenset[str] | None] = frozenset({"elapsed"})

    seconds: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.seconds) and self.seconds > 0):
            raise OptionError(f"time_limit= must be a positive number of seconds, "
                              f"got {self.seconds:g}")

    def check(self, progress: Progress) -> StopReason | None:
        return StopReason.time_limit if progress.elapsed >= self.seconds else None

    def explain(self, progress: Progress) -> str:
        return (f"ran for {progress.elapsed:.3g} s ≥ time_limit={self.seconds:g} s "
                "(wall-clock time)")

    @property
    def is_tolerance(self) -> bool:
        return False


#: Iterations without a new lowest loss after which a run stops as ``stalled`` (--stall-iter).
DEFAULT_STALL_ITER = 5000


class Stall(StopRule):
    """Stop, not converged, after ``limit`` iterations in a row without progress.

    An iteration makes progress when its loss is strictly below every earlier one, or its
    gradient norm is (the loss of a run that still converges can be flat to rounding while
    ‖∇f‖ keeps falling); in a mini-batch run both are the full-data ones. A descent that is
    still converging makes progress almost every iteration; one whose step is too long for the
    data (a fixed-length step circling the minimum, a learning rate that keeps it bouncing,
    mini-batch noise at its floor) goes ``limit`` iterations without and stops with reason
    ``stalled`` instead of using up its whole budget, with the parameters of its lowest loss.
    ``limit`` 0 switches the rule off. Unlike :class:`Patience` it asks for no size of
    improvement and is not a convergence test: the run is reported as not converged (exit 3).

    The descent loops track the best loss and gradient norm themselves and apply the rule from
    them (:func:`split_stall`); :meth:`check` keeps the same state for any other loop,
    starting afresh at iteration 0 as :class:`Patience` does.
    """

    needs: ClassVar[frozenset[str] | None] = frozenset()

    def __init__(self, limit: int = DEFAULT_STALL_ITER) -> None:
        if not (limit >= 0 and int(limit) == limit):
            raise OptionError(f"stall_iter= must be a whole number ≥ 0 (0 switches it off), "
                              f"got {limit}")
        self.limit = int(limit)
        self.best = self.best_grad = math.inf
        self.best_iteration = self.moved = 0

    def __repr__(self) -> str:
        return f"Stall(limit={self.limit})"

    def __eq__(self, other: object) -> bool:
        return self.limit == other.limit if isinstance(other, Stall) else NotImplemented

    def __hash__(self) -> int:
        return hash(("Stall", self.limit))

    def check(self, progress: Progress) -> StopReason | None:
        if progress.iteration == 0:
            self.best = self.best_grad = math.inf
        if progress.loss < self.best:
            self.best, self.best_iteration = progress.loss, progress.iteration
            self.moved = progress.iteration
        if progress.grad_norm < self.best_grad:
            self.best_grad, self.moved = progress.grad_norm, progress.iteration
        stale = progress.iteration - self.moved
        return StopReason.stalled if self.limit and stale >= self.limit else None

    def message(self, iteration: int, moved: int, best_iteration: int) -> str:
        """Why the rule fired at ``iteration``: the last progress was at ``moved``, the lowest
        loss at ``best_iteration``."""
        return (f"no new lowest loss or gradient norm in {iteration - moved} iterations "
                f"(stall_iter={self.limit}); the parameters are those of iteration "
                f"{best_iteration}, the lowest loss of the run")

    def explain(self, progress: Progress) -> str:
        return self.message(progress.iteration, self.moved, self.best_iteration)

    @property
    def is_tolerance(self) -> bool:
        return False


def split_stall(rules: Sequence[StopRule]) -> tuple[tuple[StopRule, ...], Stall | None, float]:
    """``rules`` without their :class:`Stall` rules, the first of those that is on, and the
    number of iterations without a new best at which it fires (inf without one): the descent
    loops test that as one comparison with the best loss they keep anyway."""
    rest = tuple(rule for rule in rules if not isinstance(rule, Stall))
    stall = next((r for r in rules if isinstance(r, Stall) and r.limit > 0), None)
    return rest, stall, math.inf if stall is None else float(stall.limit)


#: The --patience-tol used when only --patience is given (absolute, in the descent's loss).
DEFAULT_PATIENCE_TOL = 1e-4


def build_extra_rules(*, rel_grad_tol: float = 0.0, rel_loss_tol: float = 0.0,
                      param_tol: float = 0.0, patience: int = 0,
                      patience_tol: float | None = None,
                      time_limit: float = 0.0,
                      stall_iter: int | None = None) -> tuple[StopRule, ...]:
    """The rules of the options beyond the standard three; 0 (the default) leaves a rule out.

    ``stall_iter`` None leaves the :class:`Stall` rule to :func:`build_rules`, which adds
    it with :data:`DEFAULT_STALL_ITER`; a number (0: off) makes it here, and then wins.

    ``patience_tol`` None means :data:`DEFAULT_PATIENCE_TOL`; giving it without ``patience``
    is an OptionError, as is a negative value anywhere. The :class:`Patience` rule keeps
    state; it restarts at iteration 0, so the rules may serve several runs one after another.
    """
    rules: list[StopRule] = []
    for cls, tol in ((RelGradTol, rel_grad_tol), (RelLossTol, rel_loss_tol),
                     (ParamTol, param_tol)):
        if cls(tol).tol > 0:
            rules.append(cls(tol))
    if patience < 0:
        raise OptionError(f"patience= must be ≥ 0 (0 switches it off), got {patience}")
    if patience > 0:
        rules.append(Patience(patience, DEFAULT_PATIENCE_TOL if patience_tol is None
                              else patience_tol))
    elif patience_tol is not None:
        _tolerance("patience_tol", patience_tol)
        raise OptionError("patience_tol= has no effect without patience=N")
    if not (math.isfinite(time_limit) and time_limit >= 0):
        raise OptionError(f"time_limit= must be a number of seconds ≥ 0 (0 switches it off), "
                          f"got {time_limit:g}")
    if time_limit > 0:
        rules.append(TimeLimit(time_limit))
    if stall_iter is not None:
        rules.append(Stall(stall_iter))
    return tuple(rules)


def build_rules(max_iter: int, grad_tol: float, loss_tol: float, *, rel_grad_tol: float = 0.0,
                rel_loss_tol: float = 0.0, param_tol: float = 0.0, patience: int = 0,
                patience_tol: float | None = None, time_limit: float = 0.0,
                stall_iter: int | None = None,
                extra_rules: Sequence[StopRule] = ()) -> tuple[StopRule, ...]:
    """The rules for the stopping options; a tolerance of 0 leaves its rule out.

    The keyword options are those of :func:`build_extra_rules`, all off by default but the
    :class:`Stall` rule, which is on with :data:`DEFAULT_STALL_ITER` unless ``stall_iter`` or a
    Stall rule in ``extra_rules`` says otherwise (0: off; an off rule is left out) or no
    convergence tolerance is on (a run that asked only for its budget gets all of it);
    ``extra_rules`` are rules made already (by :func:`build_extra_rules`, say). Budgets (the
    iteration and time limits, and the stall rule) come after every tolerance, so that a
    tolerance met on the final iteration is reported as such.
    """
    rules: list[StopRule] = []
    if GradTol(grad_tol).tol > 0:
        rules.append(GradTol(grad_tol))
    if LossTol(loss_tol).tol > 0:
        rules.append(LossTol(loss_tol))
    rules.extend(build_extra_rules(rel_grad_tol=rel_grad_tol, rel_loss_tol=rel_loss_tol,
                                   param_tol=param_tol, patience=patience,
                                   patience_tol=patience_tol, time_limit=time_limit,
                                   stall_iter=stall_iter))
    rules.extend(extra_rules)
    # A run with every tolerance off asked for its whole budget: no default stall rule then.
    if (not any(isinstance(rule, Stall) for rule in rules)
            and any(rule.is_tolerance for rule in rules)):
        rules.append(Stall(DEFAULT_STALL_ITER))
    rules = [rule for rule in rules if not (isinstance(rule, Stall) and rule.limit == 0)]
    rules.append(MaxIter(max_iter))
    return tuple(sorted(rules, key=lambda rule: not rule.is_tolerance))  # stable: keeps order


#: Every optional Progress field: what a rule that does not declare ``needs`` gets.
ALL_PROGRESS_FIELDS = frozenset({"loss_change", "step_norm", "theta_norm", "elapsed"})


def progress_fields(rules: Sequence[StopRule]) -> frozenset[str]:
    """The optional Progress fields that ``rules`` read."""
    return frozenset().union(*(ALL_PROGRESS_FIELDS if r.needs is None else r.needs
                               for r in rules))


def first_reason(rules: tuple[StopRule, ...], progress: Progress) -> tuple[StopReason, str] | None:
    """The first rule in ``rules`` that fires, as (reason, explanation)."""
    for rule in rules:
        reason = rule.check(progress)
        if reason is not None:
            return reason, rule.explain(progress)
    return None
