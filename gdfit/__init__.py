"""gdfit: linear regression by gradient descent, as a library and a command-line tool.

>>> import gdfit
>>> result = gdfit.fit([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0], step="exact")
>>> result.status
'converged'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

# Every public name loads on first use, so that ``import gdfit`` (and ``gdfit --version`` /
# ``gdfit --help``) do not pay for numpy, pandas, pyarrow or scipy.
_LAZY = {
    "fit": "gdfit.api",
    "fit_statistics": "gdfit.api",
    "ConvergenceWarning": "gdfit.errors",
    "DataError": "gdfit.errors",
    "ExitCode": "gdfit.errors",
    "GdfitError": "gdfit.errors",
    "OptionError": "gdfit.errors",
    "LeastSquares": "gdfit.objective",
    "FitResult": "gdfit.result",
    "IterRecord": "gdfit.result",
    "AffineScaling": "gdfit.scaling",
    "Scale": "gdfit.scaling",
    "STEP_POLICIES": "gdfit.steps",
    "Backtracking": "gdfit.steps",
    "ExactLineSearch": "gdfit.steps",
    "FixedStep": "gdfit.steps",
    "NormalizedStep": "gdfit.steps",
    "StepInfo": "gdfit.steps",
    "StepPolicy": "gdfit.steps",
    "make_step": "gdfit.steps",
    "GradTol": "gdfit.stopping",
    "LossTol": "gdfit.stopping",
    "MaxIter": "gdfit.stopping",
    "StopReason": "gdfit.stopping",
    "StopRule": "gdfit.stopping",
    "compare": "gdfit.comparison",
    "fit_model": "gdfit.precise",
    "fit_minibatch": "gdfit.minibatch",
    "save_model": "gdfit.model",
    "load_model": "gdfit.model",
    "compute_statistics": "gdfit.stats",
    "stream_statistics": "gdfit.stream",
    "build_extra_rules": "gdfit.stopping",
}

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    from gdfit.api import fit, fit_statistics
    from gdfit.comparison import compare
    from gdfit.errors import ConvergenceWarning, DataError, ExitCode, GdfitError, OptionError
    from gdfit.minibatch import fit_minibatch
    from gdfit.model import load_model, save_model
    from gdfit.objective import LeastSquares
    from gdfit.precise import fit_model
    from gdfit.result import FitResult, IterRecord
    from gdfit.scaling import AffineScaling, Scale
    from gdfit.stats import compute_statistics
    from gdfit.steps import (
        STEP_POLICIES,
        Backtracking,
        ExactLineSearch,
        FixedStep,
        NormalizedStep,
        StepInfo,
        StepPolicy,
        make_step,
    )
    from gdfit.stopping import (
        GradTol,
        LossTol,
        MaxIter,
        StopReason,
        StopRule,
        build_extra_rules,
    )
    from gdfit.stream import stream_statistics


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module 'gdfit' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names and the lazy public ones (tab completion), without loading them."""
    return sorted(set(globals()) | set(_LAZY))


# The same names as _LAZY (tests/test_library.py checks): a literal, for linters and IDEs.
__all__ = [
    "STEP_POLICIES",
    "AffineScaling",
    "Backtracking",
    "ConvergenceWarning",
    "DataError",
    "ExactLineSearch",
    "ExitCode",
    "FitResult",
    "FixedStep",
    "GdfitError",
    "GradTol",
    "IterRecord",
    "LeastSquares",
    "LossTol",
    "MaxIter",
    "NormalizedStep",
    "OptionError",
    "Scale",
    "StepInfo",
    "StepPolicy",
    "StopReason",
    "StopRule",
    "__version__",
    "build_extra_rules",
    "compare",
    "compute_statistics",
    "fit",
    "fit_minibatch",
    "fit_model",
    "fit_statistics",
    "load_model",
    "make_step",
    "save_model",
    "stream_statistics",
]
