"""``gdfit fit``: read a table, run gradient descent, print the result."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gdfit.api import DEFAULT_GRAD_TOL, DEFAULT_LOSS_TOL, DEFAULT_MAX_ITER, fit
from gdfit.cli import app
from gdfit.cli.common import (
    DATA,
    OUTPUT,
    STEP,
    STOP,
    OutputFormat,
    err,
    note,
    out,
    reported_errors,
    split_columns,
)
from gdfit.scaling import Scale
from gdfit.steps import DEFAULT_STEP, StepName, make_step

if TYPE_CHECKING:
    from gdfit.io import Dataset

DEFAULT_STEP_NAME = StepName(DEFAULT_STEP)

FIT_EPILOG = """\
[b]Examples[/b]

  gdfit fit sample_data/housing.csv                      [dim]# all numeric columns, last is y[/]

  gdfit fit data.csv --x area,rooms --y price --step backtracking

  gdfit fit sample_data/tutorial.csv --step fixed --alpha 0.01 --max-iter 1000 --scale none

  cat data.csv | gdfit fit - --format json | jq .w

Exit codes: 0 success, 1 input/data error, 2 usage error, 3 stopped by --max-iter before a
tolerance was met, 4 diverged, 130 interrupted.
"""


@app.command("fit", epilog=FIT_EPILOG)
def fit_command(
    path: Annotated[str, typer.Argument(help="CSV file to fit, or - for standard input.",
                                        show_default=False)],
    x: Annotated[str | None, typer.Option(
        "--x", "-x", help="x columns: comma-separated names or 0-based indices "
        "\\[default: every numeric column but y]", rich_help_panel=DATA,
        show_default=False)] = None,
    y: Annotated[str | None, typer.Option(
        "--y", "-y", help="y column: a name or 0-based index [default: the last numeric "
        "column]", rich_help_panel=DATA, show_default=False)] = None,
    header: Annotated[bool, typer.Option(
        "--header/--no-header", help="Whether the first line names the columns; without "
        "one, refer to columns by index.", rich_help_panel=DATA)] = True,
    sep: Annotated[str | None, typer.Option(
        "--sep", help="Field delimiter: ',', ';', '\\t', '|', 'whitespace', … [default: "
        "detected]", rich_help_panel=DATA, show_default=False)] = None,
    dropna: Annotated[bool, typer.Option(
        "--dropna", help="Drop rows with a missing, NaN or infinite value in a used column "
        "(and say how many).", rich_help_panel=DATA)] = False,
    intercept: Annotated[bool, typer.Option(
        "--intercept/--no-intercept", help="Fit y = X·w + b, or y = X·w through the origin.",
        rich_help_panel=DATA)] = True,
    step: Annotated[StepName, typer.Option(
        "--step",
        help="How each step is chosen: exact (exact line search, no tuning), backtracking "
        "(Armijo), fixed (constant α), norm (steps of fixed length α).",
        rich_help_panel=STEP)] = DEFAULT_STEP_NAME,
    alpha: Annotated[float | None, typer.Option(
        "--alpha", help="α: the step for fixed (default 0.01), the step length for norm "
        "(0.01), the first trial for backtracking (1).", rich_help_panel=STEP,
        show_default=False)] = None,
    armijo_c: Annotated[float | None, typer.Option(
        "--armijo-c", help="Backtracking: sufficient-decrease constant c in (0, 1) "
        "\\[default: 1e-4]", rich_help_panel=STEP, show_default=False)] = None,
    shrink: Annotated[float | None, typer.Option(
        "--shrink", help="Backtracking: factor ρ in (0, 1) that shrinks α after each "
        "rejected trial [default: 0.5]", rich_help_panel=STEP, show_default=False)] = None,
    max_iter: Annotated[int, typer.Option(
        "--max-iter", min=0, help="Iteration budget.", rich_help_panel=STOP)] = DEFAULT_MAX_ITER,
    grad_tol: Annotated[float, typer.Option(
        "--grad-tol", help="Stop when ‖∇f‖ ≤ this (in the scaled space under --scale "
        "standard); 0 switches it off.", rich_help_panel=STOP)] = DEFAULT_GRAD_TOL,
    loss_tol: Annotated[float, typer.Option(
        "--loss-tol", help="Stop when the loss changes by ≤ this in one iteration; 0 "
        "switches it off.", rich_help_panel=STOP)] = DEFAULT_LOSS_TOL,
    scale: Annotated[Scale, typer.Option(
        "--scale", help="Descend on standardised columns or on the raw ones; results are "
        "always in the data's units.", rich_help_panel=STEP)] = Scale.standard,
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="Result format on stdout.", rich_help_panel=OUTPUT)
    ] = OutputFormat.table,
    every: Annotated[int | None, typer.Option(
        "--every", min=1, help="Show progress every K iterations [default: 0, 1, 2, 5, 10, "
        "20, 50, …]", rich_help_panel=OUTPUT, show_default=False)] = None,
    quiet: Annotated[bool, typer.Option(
        "--quiet", "-q", help="No progress or notes on stderr; only the result and errors.",
        rich_help_panel=OUTPUT)] = False,
    traceback: Annotated[bool, typer.Option(
        "--traceback", help="Show the full Python traceback of an error (for bug reports).",
        rich_help_panel=OUTPUT, envvar="GDFIT_TRACEBACK")] = False,
) -> None:
    """Fit y = X·w + b to PATH by gradient descent and print w, b and how the run went.

    Progress goes to stderr, the result to stdout (a table, or JSON/CSV for programs).
    """
    from gdfit.io import read_dataset  # pandas is slow to import; keep --help fast
    from gdfit.render import ProgressPrinter, result_csv, result_json, result_table

    source = "<stdin>" if path == "-" else path
    with reported_errors(source, traceback):
        policy = make_step(step.value, alpha=alpha, c=armijo_c, rho=shrink)
        data = read_dataset(path, x=split_columns(x), y=y, header=header, sep=sep, dropna=dropna)
        if not quiet:
            _describe_data(data)
        progress = None if quiet else ProgressPrinter(err, data.features, intercept)
        result = fit(data.X, data.y, features=data.features, target=data.target,
                     intercept=intercept, step=policy, max_iter=max_iter, grad_tol=grad_tol,
                     loss_tol=loss_tol, scale=scale, callback=progress, every=every,
                     catch_interrupt=True)
    context = {"source": data.source, "dropped_rows": len(data.dropped_rows)}
    if output_format is OutputFormat.json:
        sys.stdout.write(result_json(result, **context))
    elif output_format is OutputFormat.csv:
        sys.stdout.write(result_csv(result, source=data.source))
    else:
        out.print(result_table(result, data.source))
    if not result.success and not quiet:
        note(f"gdfit: {result.status}: {result.message}")
    raise typer.Exit(int(result.exit_code))


def _describe_data(data: Dataset) -> None:
    how = "chosen automatically" if data.auto_columns else "as given"
    text = f"{data.source}: {len(data.y)} rows; y = {data.target}, x = " \
           f"{', '.join(data.features)} ({how})"
    if data.ignored_columns:
        text += f"; ignored non-numeric: {', '.join(data.ignored_columns)}"
    if data.dropped_rows:
        text += f"; dropped {len(data.dropped_rows)} rows with missing or non-finite values"
    note(text)
