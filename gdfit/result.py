"""The result vocabulary: what one iteration and one whole fit report, in data units."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gdfit.errors import ExitCode
from gdfit.objective import Vector
from gdfit.stopping import StopReason


@dataclass(frozen=True)
class IterRecord:
    """One iteration as a user sees it.

    ``loss`` is the mean squared error in the data's units; ``grad_norm`` and ``step_size`` are
    measured in the space the descent runs in (standardised under ``--scale standard``).
    """

    iteration: int
    loss: float
    grad_norm: float
    step_size: float
    w: Vector
    b: float | None
    evaluations: int = 0
    reason: str = ""


def linear_prediction(X: Vector, w: Vector, b: float | None) -> Vector:
    """ŷ = X·w + b for an n × d float64 X, summed column by column, so that a row's value never
    depends on which other rows are predicted with it (chunked and whole-file runs agree)."""
    out = np.full(X.shape[0], b if b is not None else 0.0)
    for j, wj in enumerate(w):
        out += X[:, j] * wj
    return out


#: Width of :meth:`FitResult.summary`'s table, in characters.
SUMMARY_WIDTH = 100
#: Coefficients :meth:`FitResult.__repr__` shows before "… k more".
REPR_COEFFICIENTS = 6


@dataclass(frozen=True, eq=False)
class FitResult:
    """Everything a fit found out, in the style of scipy's ``OptimizeResult``.

    Attributes
    ----------
    w, b : ndarray, float or None
        Coefficients in the order of ``features`` and the intercept (None without one).
    loss, rmse, r2 : float
        Mean squared error of the fitted line on the data, its square root, and R² (centred
        with an intercept, uncentred without one; NaN when y has no spread).
    iterations, function_evals, gradient_evals : int
        Work done; the line searches' trial points count as function evaluations.
    stop_reason, message : StopReason, str
        Which rule ended the run and why, in words.
    tolerances_active : bool
        Whether any convergence tolerance was switched on (otherwise only the budget can stop).
    lstsq_w, lstsq_b : ndarray, float or None
        The least-squares solution (see :mod:`gdfit.reference`), exact to ``lstsq_digits``
        significant digits; ``lstsq_condition`` and ``lstsq_method`` say why.
    """

    w: Vector
    b: float | None
    features: tuple[str, ...]
    target: str
    loss: float
    rmse: float
    r2: float
    n_obs: int
    iterations: int
    stop_reason: StopReason
    message: str
    grad_norm: float
    function_evals: int
    gradient_evals: int
    elapsed: float
    step: str
    scale: str
    tolerances_active: bool
    lstsq_w: Vector
    lstsq_b: float | None
    history: tuple[IterRecord, ...] = field(default=())
    #: Passes over the data of a mini-batch run (the last possibly partial); None for full batch.
    epochs: int | None = None
    #: Where every iteration's loss and gradient came from, set by the function that
    #: descended: "gram" (sufficient statistics, from a streaming pass or from rows in memory:
    #: ``gdfit.fit``, ``fit_statistics``, ``--stats``, ``--poly``, ``--precise``), "rows" (the
    #: rows at every step: ``fit_rows``, mini-batches), "dask" (statistics reduced on a
    #: cluster); "" when not recorded (a result built by hand).
    engine: str = ""
    #: How the least-squares reference was computed ("qr+refinement" from the rows, "normal
    #: equations" from the statistics; "" when not recorded).
    lstsq_method: str = ""
    #: Condition number of the standardised Gram matrix (κ of the standardised design,
    #: squared); None when not recorded.
    lstsq_condition: float | None = None
    #: Significant digits of the reference that are exact (at most 15); None when not recorded.
    lstsq_digits: int | None = None

    @property
    def intercept(self) -> bool:
        """Whether the model has an intercept."""
        return self.b is not None

    @property
    def converged(self) -> bool:
        """True when a convergence tolerance ended the run."""
        return self.stop_reason.converged

    @property
    def success(self) -> bool:
        """True when the run ended as asked: converged, or used up a budget it was given alone."""
        budgets = (StopReason.max_iter, StopReason.time_limit)
        return self.converged or (self.stop_reason in budgets and not self.tolerances_active)

    @property
    def status(self) -> str:
        """One word: ``converged``, ``max_iter``, ``diverged``, ``line_search_failed`` or
        ``interrupted``."""
        return "converged" if self.converged else self.stop_reason.value

    @property
    def theta(self) -> Vector:
        """All parameters as one vector (w, then b)."""
        return self.w if self.b is None else np.append(self.w, self.b)

    @property
    def lstsq_theta(self) -> Vector:
        """The least-squares parameters as one vector (w, then b)."""
        return self.lstsq_w if self.lstsq_b is None else np.append(self.lstsq_w, self.lstsq_b)

    @property
    def lstsq_distance(self) -> float:
        """‖θ − θ*‖₂ to the exact least-squares solution θ*, in data units."""
        # hypot: no overflow in the squares when the parameters are near 1e200.
        return math.hypot(*(self.theta - self.lstsq_theta).tolist())

    @property
    def lstsq_rel_distance(self) -> float:
        """‖θ − θ*‖₂ / ‖θ*‖₂ (the absolute distance when θ* = 0)."""
        scale = math.hypot(*self.lstsq_theta.tolist())
        return self.lstsq_distance / scale if scale > 0 else self.lstsq_distance

    def predict(self, X: ArrayLike | Any) -> Vector:
        """ŷ = X·w + b for new rows.

        ``X`` is an array with the fit's columns in order (1-D: one column, when the fit has
        one), or a data frame whose columns are matched by name (other columns are ignored, a
        missing one is a :class:`~gdfit.errors.DataError`). A row with a missing value (NaN)
        gets a NaN prediction, as ``gdfit predict`` leaves it empty.
        """
        from gdfit.arrays import prediction_matrix

        return linear_prediction(prediction_matrix(X, self.features), self.w, self.b)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON-ready data: the fields of ``gdfit fit --format json``
        (without the ones about the input file), NaN and ±inf as None."""
        from gdfit.render import result_dict

        return result_dict(self)

    def summary(self, width: int = SUMMARY_WIDTH) -> str:
        """The table ``gdfit fit`` prints: the parameters beside the exact least-squares ones,
        then how the run went; plain text, ``width`` characters wide at most."""
        from rich.console import Console

        from gdfit.render import result_table

        buffer = io.StringIO()
        Console(file=buffer, width=width, color_system=None, force_terminal=False,
                highlight=False).print(result_table(self))
        return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())

    def _repr_html_(self) -> str:
        """The summary table in colour, for Jupyter."""
        from rich.console import Console

        from gdfit.render import result_table

        console = Console(file=io.StringIO(), record=True, width=SUMMARY_WIDTH,
                          force_jupyter=False, force_terminal=True, color_system="truecolor")
        console.print(result_table(self))
        return console.export_html(inline_styles=True, code_format=(
            '<pre style="font-family: Menlo, \'DejaVu Sans Mono\', Consolas, monospace; '
            'line-height: 1.2">{code}</pre>'))

    def __repr__(self) -> str:
        """Status, iterations, the coefficients by name and b (never the history)."""
        shown = [f"{name!r}: {float(value):.7g}" for name, value in
                 zip(self.features[:REPR_COEFFICIENTS], self.w, strict=False)]
        more = len(self.features) - REPR_COEFFICIENTS
        if more > 0:
            shown.append(f"… {more} more")
        b = "None" if self.b is None else f"{self.b:.7g}"
        return (f"FitResult(status={self.status!r}, iterations={self.iterations}, "
                f"w={{{', '.join(shown)}}}, b={b})")

    @property
    def exit_code(self) -> ExitCode:
        """The exit status the command line gives this result."""
        if self.stop_reason is StopReason.interrupted:
            return ExitCode.INTERRUPTED
        if self.stop_reason is StopReason.diverged:
            return ExitCode.DIVERGED
        return ExitCode.OK if self.success else ExitCode.NOT_CONVERGED


def reference_info(result: FitResult) -> dict[str, Any]:
    """What the JSON output says about the least-squares reference: how it was computed,
    the condition number of the standardised Gram matrix, the digits that are exact."""
    if not result.lstsq_method:
        return {}
    cond = result.lstsq_condition
    return {"method": result.lstsq_method,
            "condition_number": cond if cond is not None and math.isfinite(cond) else None,
            "digits": result.lstsq_digits}
