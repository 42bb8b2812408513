"""The base of the step policies: :class:`StepPolicy`, what a step reports, shared checks.

Every policy is a small object with explicit state, in the style of optax: ``init(problem,
theta)`` returns the policy's state and ``update(problem, theta, loss, grad, state)`` returns
the next point, a :class:`StepInfo` and the new state. Policies validate their parameters when
constructed and raise :class:`~gdfit.errors.OptionError` with a message naming the parameter
(``alpha=``; the command line shows its option, ``--alpha``).

The policies themselves live in :mod:`gdfit.steps` (the plain ones and the registry),
:mod:`gdfit.policies` (curvature) and :mod:`gdfit.policies_adaptive` (momentum, adaptive and
decaying steps); each imports this module and none imports another, so there is no import
cycle between them.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from enum import Enum
from typing import Any, ClassVar, NamedTuple

from gdfit.errors import OptionError
from gdfit.objective import LeastSquares, Vector


class Why:
    """A step's reason, formatted only when it is read: ``Why("α = {:g}", alpha)``.

    Most iterations are never shown, and formatting numbers costs more than the rest of an
    iteration on the statistics.
    """

    __slots__ = ("template", "values")

    def __init__(self, template: str, *values: object) -> None:
        self.template = template
        self.values = values

    def __str__(self) -> str:
        return self.template.format(*self.values)

    def __repr__(self) -> str:
        return repr(str(self))

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other) if isinstance(other, (str, Why)) else NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))


class StepInfo(NamedTuple):
    """What a policy did in one iteration (a named tuple: one is made per iteration).

    Attributes
    ----------
    step_size : float
        The multiplier α applied to the search direction.
    evaluations : int
        Objective evaluations spent choosing α (trial points of a line search).
    failed : bool
        True when a line search found no acceptable step.
    reason : str or Why
        Why this α, in words (shown by the explain output); ``str(reason)`` reads it.
    """

    step_size: float
    evaluations: int = 0
    failed: bool = False
    reason: str | Why = ""


class StepPolicy(ABC):
    """A rule choosing each step of gradient descent."""

    name: ClassVar[str]
    formula: ClassVar[str]
    #: Constructor parameter → command-line option that sets it.
    options: ClassVar[dict[str, str]] = {}
    #: True when a parameter must be tuned to the data (α of a fixed step); ``gdfit compare``
    #: runs only the policies without one unless told otherwise.
    needs_tuning: ClassVar[bool] = False
    #: True when the policy makes sense on noisy mini-batch gradients (``--batch-size``): no
    #: line search, curvature estimate or loss comparison that a sampled gradient would fool.
    stochastic: ClassVar[bool] = False
    #: How a default that is not a plain number is chosen (``{"alpha": "1/L"}``), for
    #: ``gdfit steps``.
    default_notes: ClassVar[dict[str, str]] = {}

    def init(self, problem: LeastSquares, theta: Vector) -> Any:
        """Return the policy's initial state (None for stateless policies)."""
        return None

    @abstractmethod
    def update(self, problem: LeastSquares, theta: Vector, loss: float, grad: Vector,
               state: Any) -> tuple[Vector, StepInfo, Any]:
        """Return the next point, what was done, and the new state."""

    def describe(self) -> str:
        """The policy and its parameters, e.g. ``fixed(alpha=0.01)``."""
        def show(value: Any) -> str:
            if value is None:
                return "auto"
            return f"{value:g}" if isinstance(value, float) else str(value)
        params = ", ".join(f"{k}={show(v)}" for k, v in vars(self).items())
        return f"{self.name}({params})" if params else self.name


#: What :meth:`StepPolicy.update` returns: the next point, what was done, the new state.
Update = tuple[Vector, StepInfo, Any]


def positive(option: str, value: float) -> float:
    """``value`` as a float, or an OptionError naming parameter ``option`` unless it is finite
    and > 0."""
    if not (math.isfinite(value) and value > 0):
        raise OptionError(f"{option}= must be a positive number, got {value:g}")
    return float(value)


def fraction(option: str, value: float, *, closed_low: bool = False) -> float:
    """``value`` in (0, 1) (or [0, 1) with ``closed_low``), else an OptionError naming it."""
    low_ok = value >= 0 if closed_low else value > 0
    if not (math.isfinite(value) and low_ok and value < 1):
        bracket = "[0, 1)" if closed_low else "(0, 1)"
        raise OptionError(f"{option}= must lie in {bracket}, got {value:g}")
    return float(value)


def choice(option: str, value: str | Enum, allowed: type[Enum]) -> str:
    """The plain string of ``value`` if it names a member of ``allowed``, else an OptionError."""
    text = str(value.value if isinstance(value, Enum) else value)
    names = [str(member.value) for member in allowed]
    if text not in names:
        raise OptionError(f"{option}= must be one of {', '.join(names)}; got '{text}'")
    return text
