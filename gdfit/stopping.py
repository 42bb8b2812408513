"""Stopping rules: predicates over the latest iteration, combined with OR.

Each rule looks at an :class:`Progress` record and returns a :class:`StopReason` when it fires
or None. A tolerance of 0 switches its rule off. Tolerances are measured in the space the descent
runs in: with ``--scale standard`` the loss there is the MSE divided by var(y) and the gradient is
taken with respect to the standardised coefficients, so they are dimensionless.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum

from gdfit.errors import OptionError


class StopReason(str, Enum):
    """Why a run ended."""

    grad_tol = "grad_tol"
    loss_tol = "loss_tol"
    max_iter = "max_iter"
    diverged = "diverged"
    line_search_failed = "line_search_failed"
    interrupted = "interrupted"

    @property
    def converged(self) -> bool:
        """True for the reasons that mean a convergence tolerance was met."""
        return self in (StopReason.grad_tol, StopReason.loss_tol)


@dataclass(frozen=True)
class Progress:
    """The state the stopping rules look at after iteration ``iteration``.

    ``loss_change`` is f_k − f_{k−1} (NaN at iteration 0), ``step_norm`` is ‖θ_k − θ_{k−1}‖,
    ``grad_norm0`` the gradient norm at the start and ``elapsed`` the seconds since it.
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
    """A predicate that can end the run."""

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


def _tolerance(option: str, value: float) -> float:
    if not (math.isfinite(value) and value >= 0):
        raise OptionError(f"{option} must be a number ≥ 0 (0 switches it off), got {value:g}")
    return float(value)


@dataclass(frozen=True)
class MaxIter(StopRule):
    """Stop after ``limit`` iterations."""

    limit: int

    def __post_init__(self) -> None:
        if self.limit < 0:
            raise OptionError(f"--max-iter must be ≥ 0, got {self.limit}")

    def check(self, progress: Progress) -> StopReason | None:
        return StopReason.max_iter if progress.iteration >= self.limit else None

    def explain(self, progress: Progress) -> str:
        return f"reached the iteration budget (--max-iter {self.limit})"

    @property
    def is_tolerance(self) -> bool:
        return False


@dataclass(frozen=True)
class GradTol(StopRule):
    """Stop when ‖∇f(θ)‖₂ ≤ tol."""

    tol: float

    def __post_init__(self) -> None:
        _tolerance("--grad-tol", self.tol)

    def check(self, progress: Progress) -> StopReason | None:
        return StopReason.grad_tol if progress.grad_norm <= self.tol else None

    def explain(self, progress: Progress) -> str:
        return f"gradient norm {progress.grad_norm:.3g} ≤ --grad-tol {self.tol:g}"


@dataclass(frozen=True)
class LossTol(StopRule):
    """Stop when the last iteration changed the objective by at most tol: |f_k − f_{k−1}| ≤ tol."""

    tol: float

    def __post_init__(self) -> None:
        _tolerance("--loss-tol", self.tol)

    def check(self, progress: Progress) -> StopReason | None:
        if progress.iteration == 0:
            return None
        return StopReason.loss_tol if abs(progress.loss_change) <= self.tol else None

    def explain(self, progress: Progress) -> str:
        return f"loss changed by {abs(progress.loss_change):.3g} ≤ --loss-tol {self.tol:g}"


def build_rules(max_iter: int, grad_tol: float, loss_tol: float) -> tuple[StopRule, ...]:
    """The rules for the three standard options; a tolerance of 0 leaves its rule out."""
    rules: list[StopRule] = []
    if GradTol(grad_tol).tol > 0:
        rules.append(GradTol(grad_tol))
    if LossTol(loss_tol).tol > 0:
        rules.append(LossTol(loss_tol))
    # The budget comes last so that a tolerance met on the final iteration is reported as such.
    rules.append(MaxIter(max_iter))
    return tuple(rules)


def first_reason(rules: tuple[StopRule, ...], progress: Progress) -> tuple[StopReason, str] | None:
    """The first rule in ``rules`` that fires, as (reason, explanation)."""
    for rule in rules:
        reason = rule.check(progress)
        if reason is not None:
            return reason, rule.explain(progress)
    return None
