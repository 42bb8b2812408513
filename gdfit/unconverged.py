"""When the library's fitting functions warn: :class:`~gdfit.errors.ConvergenceWarning`.

A public function that fits (``fit``, ``fit_statistics``, ``fit_minibatch``, ``fit_model``,
``fit_rows``) is decorated with :func:`warns_unconverged`: when its result did not end as
asked, it warns once, at the caller's line, as scikit-learn does. The fits one of them makes
for itself (``fit_model`` calling ``fit``, the refinement rounds of ``--precise``) stay silent,
and :func:`silent_fits` silences a block whose caller reports on the fits itself (``compare``).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from gdfit.errors import ConvergenceWarning
from gdfit.result import FitResult
from gdfit.stopping import StopReason

P = ParamSpec("P")
R = TypeVar("R")

#: How many gdfit fitting calls are under way in this context: only the outermost warns.
_FIT_DEPTH: ContextVar[int] = ContextVar("gdfit_fit_depth", default=0)


def warn_unconverged(result: FitResult, stacklevel: int = 2) -> None:
    """Warn with :class:`~gdfit.errors.ConvergenceWarning` unless ``result`` ended as asked.

    A fit that converged, or used up a budget it was given alone, does not warn; nor does
    one the user interrupted.
    """
    if result.success or result.stop_reason is StopReason.interrupted:
        return
    warnings.warn(f"{result.status}: {result.message}", ConvergenceWarning,
                  stacklevel=stacklevel + 1)


def warns_unconverged(func: Callable[P, R]) -> Callable[P, R]:
    """Make a public fitting function warn about an unconverged result (see
    :func:`warn_unconverged`), once, at its caller's line: fits that it makes for itself (a
    ``fit_model`` calling ``fit``) stay silent."""
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with silent_fits():
            value = func(*args, **kwargs)
        if _FIT_DEPTH.get() == 0:
            result = getattr(value, "result", value)  # a ModelFit carries its FitResult
            if isinstance(result, FitResult):
                warn_unconverged(result, stacklevel=2)
        return value

    return wrapper


@contextmanager
def silent_fits() -> Iterator[None]:
    """Fits made inside this block do not warn (the caller reports on them)."""
    token = _FIT_DEPTH.set(_FIT_DEPTH.get() + 1)
    try:
        yield
    finally:
        _FIT_DEPTH.reset(token)
