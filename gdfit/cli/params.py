"""The library's parameter names as the command line's options, in messages.

The library names a parameter the way a call writes it: ``alpha=`` alone, or with its value
(``max_iter=1000``, ``step='cg'``). The command line shows its users the option that sets
it: ``--alpha``, ``--max-iter 1000``, ``--step cg``. :data:`RENAMED` and the step policies'
own tables (``StepPolicy.options``) are the one mapping; :func:`to_options` rewrites a
message with it, and leaves quoted text (column names, ``'fixed:alpha=0.1'``) alone.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import cache
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from gdfit.batch import BatchRow
    from gdfit.result import FitResult

#: Library parameters that are command-line options: ``--`` and the name with dashes.
PARAMETERS = ("batch_size", "every", "grad_tol", "intercept", "loss_tol", "max_iter",
              "on_bad_rows", "param_tol", "patience", "patience_tol", "poly", "precise",
              "rel_grad_tol", "rel_loss_tol", "scale", "seed", "sep", "stall_iter", "step",
              "steps",
              "time_limit")
#: Library parameters whose option has another name.
RENAMED = {"level": "--ci", "features": "--x", "target": "--y"}


@cache
def option_names() -> dict[str, str]:
    """Every library parameter a message may name, and its option.

    The step policies' parameters come from their classes (``c`` of backtracking is
    ``--armijo-c``); a parameter that two policies would map to different options is a bug.
    """
    from gdfit.steps import STEP_POLICIES

    table = {name: "--" + name.replace("_", "-") for name in PARAMETERS}
    table.update(RENAMED)
    for cls in STEP_POLICIES.values():
        for param, option in cls.options.items():
            if table.setdefault(param, option) != option:
                raise RuntimeError(f"step parameter {param!r} is both {table[param]} and "
                                   f"{option} ({cls.name})")
    return table


@cache
def _pattern() -> re.Pattern[str]:
    names = "|".join(sorted(map(re.escape, option_names()), key=len, reverse=True))
    # A quoted stretch is skipped whole; a parameter is a known name, not part of a longer
    # word or of a spec such as fixed:alpha=0.1, followed by "=" and an optional value.
    return re.compile(rf"'[^']*'|(?<![\w:./-])({names})=('[^']*'|[^\s,;:)\]'][^\s,;)\]]*)?")


def to_options(message: str) -> str:
    """``message`` with parameters written as options: ``alpha=`` → ``--alpha``,
    ``max_iter=1000`` → ``--max-iter 1000``, ``step='cg'`` → ``--step cg``,
    ``precise=True`` → ``--precise``."""
    table = option_names()

    def rewrite(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if name is None:
            return match.group(0)  # quoted text
        option = table[name]
        if value is None or value == "True":
            return option
        return f"{option} {value.strip(chr(39))}"

    return _pattern().sub(rewrite, message)


Result = TypeVar("Result", bound="FitResult")


def cli_result(result: Result) -> Result:
    """The result with its message in the command line's terms."""
    return replace(result, message=to_options(result.message))


def cli_row(row: BatchRow) -> BatchRow:
    """A batch row (one file's or group's fit) with its message or error in the command
    line's terms."""
    return replace(row, result=None if row.result is None else cli_result(row.result),
                   error=None if row.error is None else to_options(row.error))
