"""gdfit: linear regression by gradient descent, as a library and a command-line tool.

>>> import gdfit
>>> result = gdfit.fit([[1.0], [2.0], [3.0]], [2.0, 4.0, 6.0], step="exact")
>>> result.status
'converged'
"""

from gdfit.api import fit, fit_statistics
from gdfit.errors import DataError, ExitCode, GdfitError, OptionError
from gdfit.objective import LeastSquares
from gdfit.result import FitResult, IterRecord
from gdfit.scaling import AffineScaling, Scale
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
from gdfit.stopping import GradTol, LossTol, MaxIter, StopReason, StopRule

__version__ = "0.1.0"

# Heavier pieces (the streaming reader needs pyarrow, statistics need scipy) load on first use.
_LAZY = {
    "compare": "gdfit.compare",
    "fit_model": "gdfit.precise",
    "fit_minibatch": "gdfit.minibatch",
    "save_model": "gdfit.model",
    "load_model": "gdfit.model",
    "compute_statistics": "gdfit.stats",
    "stream_statistics": "gdfit.stream",
    "build_extra_rules": "gdfit.stopping",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gdfit' has no attribute {name!r}")

__all__ = [
    "STEP_POLICIES",
    "AffineScaling",
    "Backtracking",
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
    "fit",
    "fit_statistics",
    "make_step",
]
