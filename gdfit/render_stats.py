"""Presenting :class:`~gdfit.stats.FitStatistics`: a Rich table laid out like R's
``summary(lm)``, and plain JSON-ready data. Nothing here computes."""

from __future__ import annotations

import math
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.text import Text

from gdfit.layout import Column, FittedTable
from gdfit.stats import FitStatistics

#: R's significance codes.
SIGNIF = ((0.001, "***"), (0.01, "**"), (0.05, "*"), (0.1, "."))
#: Below this a p-value prints as "< 2.2e-16" (R's convention: machine ε).
P_FLOOR = 2.2e-16


def fmt(value: float, digits: int = 7) -> str:
    """A number for the table: ``digits`` significant digits, "—" for NaN, ∞ for infinity."""
    if math.isnan(value):
        return "—"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.{digits}g}"


def fmt_p(p: float) -> str:
    """A p-value as R prints it: 4 significant digits, or "< 2.2e-16"."""
    if math.isnan(p):
        return "—"
    return f"< {P_FLOOR:g}" if p < P_FLOOR else f"{p:.4g}"


def stars(p: float) -> str:
    """R's significance code of a p-value."""
    if math.isnan(p):
        return ""
    return next((code for limit, code in SIGNIF if p < limit), "")


def stats_table(stats: FitStatistics, title: str = "") -> RenderableType:
    """Coefficients with standard errors, t, p and intervals, then the fit's summary lines; at
    any width (names and numbers are never cut: the estimates, standard errors and p-values
    come first when the table is split; see :class:`~gdfit.layout.FittedTable`)."""
    style = {"box": box.SIMPLE_HEAD, "show_edge": False, "padding": (0, 1), "pad_edge": False}
    coefficients = FittedTable(
        [Column("", justify="left", key=True), Column("Estimate"),
         Column("Std. Error", priority=1), Column("t value", priority=2),
         Column("Pr(>|t|)", priority=1), Column("", justify="left", priority=1)],
        [[Text(row.name), fmt(row.estimate, 10), fmt(row.std_error, 5), fmt(row.t_value, 4),
          fmt_p(row.p_value), stars(row.p_value)] for row in stats.parameters],
        title=Text(title or "Coefficients:"), **style)  # type: ignore[arg-type]
    lo_pct, hi_pct = (1 - stats.ci_level) / 2 * 100, (1 + stats.ci_level) / 2 * 100
    intervals = FittedTable(
        [Column("", justify="left", key=True), Column(f"{lo_pct:.4g} %"),
         Column(f"{hi_pct:.4g} %")],
        [[Text(row.name), fmt(row.ci_low, 8), fmt(row.ci_high, 8)] for row in stats.parameters],
        title=Text(f"{stats.ci_level * 100:g}% confidence intervals:"),
        **style)  # type: ignore[arg-type]
    df = stats.df_residual
    kind = "Multiple R-squared" if stats.intercept else "R-squared (uncentred, no intercept)"
    lines: list[Text] = [
        Text("Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1", style="dim"),
        Text(f"Residual standard error: {fmt(stats.residual_sd, 7)} on {df} degree"
             f"{'s' if df != 1 else ''} of freedom"
             + ("  (exact fit)" if stats.exact_fit and df > 0 else "")),
        Text(f"{kind}: {fmt(stats.r2, 10)},   Adjusted R-squared: {fmt(stats.adj_r2, 10)}"),
        Text(f"F-statistic: {fmt(stats.f_statistic, 7)} on {stats.df_model} and {df} DF,"
             f"  p-value: {fmt_p(stats.f_p_value)}"),
        Text(f"RMSE: {fmt(stats.rmse, 7)},   n = {stats.n},   p = {stats.p}"),
    ]
    for note in stats.notes:
        style_name = "yellow" if not stats.converged and note.startswith("gradient") \
            else "italic"
        lines.append(Text(("⚠ " if style_name == "yellow" else "") + note, style=style_name))
    return Group(coefficients, *lines, Text(), intervals)


def stats_dict(stats: FitStatistics) -> dict[str, Any]:
    """The statistics as JSON-ready data (NaN and ±∞ are left for the JSON writer to null)."""
    return {
        "parameters": [
            {"name": row.name, "estimate": row.estimate, "std_error": row.std_error,
             "t_value": row.t_value, "p_value": row.p_value, "ci_low": row.ci_low,
             "ci_high": row.ci_high}
            for row in stats.parameters
        ],
        "ci_level": stats.ci_level,
        "n": stats.n,
        "p": stats.p,
        "df_model": stats.df_model,
        "df_residual": stats.df_residual,
        "residual_sd": stats.residual_sd,
        "rmse": stats.rmse,
        "rss": stats.rss,
        "tss": stats.tss,
        "r2": stats.r2,
        "r2_kind": "centred" if stats.intercept else "uncentred",
        "adj_r2": stats.adj_r2,
        "f_statistic": stats.f_statistic,
        "f_p_value": stats.f_p_value,
        "exact_fit": stats.exact_fit,
        "converged": stats.converged,
        "status": stats.status,
        "notes": list(stats.notes),
    }
