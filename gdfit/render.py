"""Presenting results: Rich renderables for people, JSON and CSV text for programs.

Nothing here computes; it only formats what :class:`~gdfit.result.FitResult` carries. The
progress table is :class:`gdfit.render_progress.ProgressPrinter` (importable from here too).
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from gdfit.ascii import ascii_only
from gdfit.layout import Column, FittedTable
from gdfit.layout_lines import Fields, Heading
from gdfit.render_progress import ProgressPrinter
from gdfit.result import FitResult, reference_info

__all__ = ["STATUS_STYLE", "ProgressPrinter", "num", "result_csv", "result_dict", "result_json",
           "result_table"]

STATUS_STYLE = {"converged": "bold green", "max_iter": "bold yellow", "diverged": "bold red",
                "line_search_failed": "bold yellow", "interrupted": "bold yellow",
                "time_limit": "bold yellow", "stalled": "bold yellow"}


def num(value: float | None, digits: int = 10) -> str:
    """A number for people: ``digits`` significant digits, "—" for missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}g}"


def duration(seconds: float) -> str:
    """A wall-clock time to three digits, in ms below a second: ``12.3 ms``, ``1.23 s``.

    Never in exponent form (``f"{1000:.3g}"`` is ``1e+03``): from 999.5 ms on it is seconds,
    and from 999.5 s on whole seconds.
    """
    if seconds * 1e3 < 999.5:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s" if seconds < 999.5 else f"{seconds:.0f} s"


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
        "lstsq": {"w": [float(v) for v in result.lstsq_w], "b": result.lstsq_b,
                  **reference_info(result)},
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


def mse_text(loss: float, rmse: float) -> str:
    """The MSE to 8 digits; when it over- or underflows a double (values near 1e±200) but its
    root does not, RMSE² computed in decimal, marked as beyond double precision."""
    if (math.isinf(loss) or loss == 0) and math.isfinite(rmse) and rmse > 0:
        from decimal import Context, Decimal

        square = Context(prec=8).multiply(Decimal(rmse), Decimal(rmse))
        return f"{square:.7e} (beyond double precision)"
    return num(loss, 8)


#: Significant digits the reference column shows when all of them are exact.
REFERENCE_DIGITS = 12


def reference_digits(result: FitResult) -> int:
    """Significant digits of the reference that are exact, as many as the table shows at most
    (0: not one; the table then still shows one, under a header that says so)."""
    if result.lstsq_digits is None:
        return REFERENCE_DIGITS
    return max(0, min(REFERENCE_DIGITS, result.lstsq_digits))


def reference_note(result: FitResult) -> str:
    """"; the reference is exact to ~k digits (condition number κ)" when it is not exact to
    the digits a table shows, or the problem is ill-conditioned; else ""."""
    from gdfit.reference import CONDITION_WARN

    cond = result.lstsq_condition
    digits = result.lstsq_digits
    if cond is None or digits is None:
        return ""
    if digits >= REFERENCE_DIGITS and cond <= CONDITION_WARN:
        return ""
    return (f"; lstsq exact to ~{digits} digit{'s' if digits != 1 else ''} "
            f"(condition number {cond:.2g}, {result.lstsq_method})")


def result_table(result: FitResult, source: str = "") -> RenderableType:
    """The result: the parameters beside lstsq's, then how the run went; at any width (the
    parameter names and the numbers are never cut, see :mod:`gdfit.layout`)."""
    title = Heading(f"{result.target} ~ {' + '.join(result.features)}"
                    + ("" if result.intercept else "  (no intercept)"),
                    Text(source, style="dim"))
    names = [f"w[{name}]" for name in result.features]
    k = reference_digits(result)
    rows: list[list[str | Text]] = [
        [Text(name), num(float(value), 12), num(float(exact), max(k, 1))]
        for name, value, exact in zip(names, result.w, result.lstsq_w, strict=True)]
    if result.b is not None:
        rows.append([Text("b"), num(result.b, 12), num(result.lstsq_b, max(k, 1))])
    header = ("exact least squares" if k == REFERENCE_DIGITS
              else f"least squares (~{k} digit{'s' if k != 1 else ''})")
    params = FittedTable([Column("parameter", justify="left", key=True),
                          Column("gradient descent"),
                          Column(header, style="dim")], rows, title=title)
    style = STATUS_STYLE.get(result.status, "bold")
    summary = Fields([
        ("status", Text(result.status, style=style) + Text(f"  {result.message}")),
        ("iterations", f"{result.iterations}  ({result.function_evals} function, "
                       f"{result.gradient_evals} gradient evaluations, "
                       f"{duration(result.elapsed)})"
                       + ("" if result.epochs is None else f", {result.epochs} epochs")),
        ("MSE", f"{mse_text(result.loss, result.rmse)}   RMSE {num(result.rmse, 8)}   "
                f"R² {num(result.r2, 8)}   n {result.n_obs}"),
        ("vs lstsq", f"distance {num(result.lstsq_distance, 3)}  "
                     f"(relative {num(result.lstsq_rel_distance, 3)})"
                     + reference_note(result)),
        ("method", f"step {result.step}, scale {result.scale}"),
    ])
    return Group(params, summary)
