"""Presenting results: Rich renderables for people, JSON and CSV text for programs.

Nothing here computes; it only formats what :class:`~gdfit.result.FitResult` carries.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.text import Text

from gdfit.ascii import ascii_only
from gdfit.layout import Column, Fields, FittedTable, Heading
from gdfit.result import FitResult, IterRecord

STATUS_STYLE = {"converged": "bold green", "max_iter": "bold yellow", "diverged": "bold red",
                "line_search_failed": "bold yellow", "interrupted": "bold yellow",
                "time_limit": "bold yellow"}


def num(value: float | None, digits: int = 10) -> str:
    """A number for people: ``digits`` significant digits, "—" for missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}g}"


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def result_dict(result: FitResult, **context: Any) -> dict[str, Any]:
    """The result as plain JSON-ready data; NaN and ±inf become None (JSON null)."""
    data: dict[str, Any] = {
        **context,
        "target": result.target,
        "features": list(result.features),
        "w": [float(v) for v in result.w],
        "b": result.b,
        "intercept": result.intercept,
        "loss": result.loss,
        "rmse": result.rmse,
        "r2": result.r2,
        "n_obs": result.n_obs,
        "converged": result.converged,
        "status": result.status,
        "stop_reason": result.stop_reason.value,
        "message": result.message,
        "iterations": result.iterations,
        "epochs": result.epochs,
        "engine": result.engine or None,
        "function_evals": result.function_evals,
        "gradient_evals": result.gradient_evals,
        "grad_norm": result.grad_norm,
        "elapsed_s": result.elapsed,
        "step": result.step,
        "scale": result.scale,
        "lstsq": {"w": [float(v) for v in result.lstsq_w], "b": result.lstsq_b},
        "lstsq_distance": result.lstsq_distance,
        "lstsq_rel_distance": result.lstsq_rel_distance,
        "exit_code": int(result.exit_code),
    }

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return _finite_or_none(value)

    cleaned: dict[str, Any] = clean(data)
    return cleaned


def result_json(result: FitResult, *, ensure_ascii: bool | None = None, **context: Any) -> str:
    """The result as one JSON object (floats with all their digits).

    ``ensure_ascii``: write non-ASCII text as ``\\u`` escapes; by default when standard
    output cannot encode it (:func:`gdfit.ascii.ascii_only`).
    """
    if ensure_ascii is None:
        ensure_ascii = ascii_only()
    return json.dumps(result_dict(result, **context), ensure_ascii=ensure_ascii,
                      allow_nan=False, indent=2) + "\n"


CSV_SUMMARY_FIELDS = ("loss", "rmse", "r2", "n_obs", "iterations", "converged", "status",
                      "stop_reason", "grad_norm", "elapsed_s", "lstsq_rel_distance")


def result_csv(result: FitResult, **context: Any) -> str:
    """The result as a CSV header and one row: w_<feature> columns, b, then the summary."""
    data = result_dict(result, **context)
    row: dict[str, Any] = {k: data[k] for k in context}
    row["target"] = result.target
    row.update({f"w_{name}": value for name, value in zip(result.features, data["w"],
                                                            strict=True)})
    row["b"] = data["b"]
    row.update({k: data[k] for k in CSV_SUMMARY_FIELDS})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(row), lineterminator="\n")
    writer.writeheader()
    writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()


def result_table(result: FitResult, source: str = "") -> RenderableType:
    """The result: the parameters beside lstsq's, then how the run went; at any width (the
    parameter names and the numbers are never cut, see :mod:`gdfit.layout`)."""
    title = Heading(f"{result.target} ~ {' + '.join(result.features)}"
                    + ("" if result.intercept else "  (no intercept)"),
                    Text(source, style="dim"))
    names = [f"w[{name}]" for name in result.features]
    rows: list[list[str | Text]] = [
        [Text(name), num(float(value), 12), num(float(exact), 12)]
        for name, value, exact in zip(names, result.w, result.lstsq_w, strict=True)]
    if result.b is not None:
        rows.append([Text("b"), num(result.b, 12), num(result.lstsq_b, 12)])
    params = FittedTable([Column("parameter", justify="left", key=True),
                          Column("gradient descent"),
                          Column("exact least squares", style="dim")], rows, title=title)
    style = STATUS_STYLE.get(result.status, "bold")
    summary = Fields([
        ("status", Text(result.status, style=style) + Text(f"  {result.message}")),
        ("iterations", f"{result.iterations}  ({result.function_evals} function, "
                       f"{result.gradient_evals} gradient evaluations, "
                       f"{result.elapsed * 1e3:.3g} ms)"
                       + ("" if result.epochs is None else f", {result.epochs} epochs")),
        ("MSE", f"{num(result.loss, 8)}   RMSE {num(result.rmse, 8)}   "
                f"R² {num(result.r2, 8)}   n {result.n_obs}"),
        ("vs lstsq", f"distance {num(result.lstsq_distance, 3)}  "
                     f"(relative {num(result.lstsq_rel_distance, 3)})"),
        ("method", f"step {result.step}, scale {result.scale}"),
    ])
    return Group(params, summary)


class ProgressPrinter:
    """Prints a row of the progress table for each :class:`IterRecord` it is called with."""

    def __init__(self, console: Console, features: Sequence[str], intercept: bool) -> None:
        self.console = console
        self.shown = list(features[:3])
        self.more = len(features) > 3
        self.intercept = intercept
        self._header_done = False

    def _row(self, cells: Sequence[str]) -> str:
        widths = [9, 15, 10, 10] + [14] * (len(cells) - 4)
        return " ".join(c.rjust(wd) for c, wd in zip(cells, widths, strict=True))

    def __call__(self, record: IterRecord) -> None:
        if not self._header_done:
            names = [f"w[{n}]"[:14] for n in self.shown] + (["…"] if self.more else [])
            head = ["iter", "loss (MSE)", "‖∇f‖", "step"] + names + (["b"] if self.intercept
                                                                     else [])
            self.console.print(self._row(head), style="bold", highlight=False, markup=False,
                               soft_wrap=True)
            self._header_done = True
        cells = [str(record.iteration), num(record.loss, 9), f"{record.grad_norm:.3e}",
                 num(record.step_size, 4)]
        cells += [num(float(v), 8) for v in record.w[: len(self.shown)]]
        cells += ["…"] if self.more else []
        cells += [num(record.b, 8)] if self.intercept else []
        self.console.print(self._row(cells), highlight=False, markup=False, soft_wrap=True)
