"""Exceptions, warnings and process exit codes shared by the library and the command line."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit status of the ``gdfit`` command (listed in the README)."""

    OK = 0
    DATA_ERROR = 1
    USAGE_ERROR = 2
    NOT_CONVERGED = 3
    DIVERGED = 4
    INTERNAL_ERROR = 70
    INTERRUPTED = 130


class GdfitError(Exception):
    """Base class of every error gdfit reports to a user."""

    exit_code: ExitCode = ExitCode.DATA_ERROR


class DataError(GdfitError):
    """The input data cannot be read or fitted."""

    exit_code = ExitCode.DATA_ERROR


class ConstantColumnError(DataError):
    """A constant x column beside an intercept: its coefficient cannot be told apart from it.

    The column's index, name and value are kept, so that a fit on columns divided by powers of
    two (:mod:`gdfit.magnitude`) can say the value in the data's units.
    """

    def __init__(self, feature: str, column: int, value: float) -> None:
        self.feature, self.column, self.value = feature, column, value
        super().__init__(f"column '{feature}' is constant (every value is {value:.10g}), so its "
                         "coefficient cannot be told apart from the intercept; drop it")

    def __reduce__(self) -> tuple[type, tuple[str, int, float]]:
        return type(self), (self.feature, self.column, self.value)


class OutputError(DataError):
    """An output file cannot be written (the message names it; it is not about the input)."""


class OptionError(GdfitError, ValueError):
    """An option or parameter is invalid or conflicts with another."""

    exit_code = ExitCode.USAGE_ERROR


class ConvergenceWarning(UserWarning):
    """A fit ended without converging (budget used up, diverged, line search failed).

    The library warns once per call, at the caller's line, as scikit-learn's
    ``ConvergenceWarning`` does; the result says the same in ``status`` and ``message``.
    The command line reports the status itself and does not show these warnings.
    """
