"""The ``gdfit`` command: turns options into library objects and results into output."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, NoReturn

import click
import typer
from rich.console import Console

from gdfit import __version__
from gdfit.api import DEFAULT_GRAD_TOL, DEFAULT_LOSS_TOL, DEFAULT_MAX_ITER, fit
from gdfit.errors import DataError, ExitCode, GdfitError
from gdfit.scaling import Scale
from gdfit.steps import DEFAULT_STEP, StepName, make_step


class OutputFormat(str, Enum):
    """How the result is written to stdout."""

    table = "table"
    json = "json"
    csv = "csv"


app = typer.Typer(
    name="gdfit",
    help="Linear regression by gradient descent: fit y = X·w + b to a CSV file.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
)

out = Console()
err = Console(stderr=True)

DATA, STEP, STOP, OUTPUT = "Data", "Step policy", "Stopping rules", "Output"
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


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gdfit {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Linear regression by gradient descent: fit y = X·w + b to a CSV file."""


def _fail(message: str, code: ExitCode) -> NoReturn:
    err.print(f"gdfit: error: {message}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(int(code))


@contextmanager
def _errors(source: str | None = None, traceback: bool = False) -> Iterator[None]:
    """The one funnel from exceptions to a one-line message and an exit code."""
    try:
        yield
    except GdfitError as exc:
        if traceback:
            raise
        text = str(exc)
        if source and isinstance(exc, DataError) and not text.startswith(source):
            text = f"{source}: {text}"
        _fail(text, exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", ExitCode.INTERRUPTED)


def _columns(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [part.strip() for part in value.split(",")]
    if not all(names):
        raise click.BadParameter(f"empty column name in '{value}'", param_hint="'--x'")
    return names


@app.command("fit", epilog=FIT_EPILOG)
def fit_command(
    path: Annotated[str, typer.Argument(help="CSV file to fit, or - for standard input.",
                                        show_default=False)],
    x: Annotated[str | None, typer.Option(
        "--x", "-x", help="x columns: comma-separated names or 0-based indices "
        "[default: every numeric column but y]", rich_help_panel=DATA,
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
        "[default: 1e-4]", rich_help_panel=STEP, show_default=False)] = None,
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
    with _errors(source, traceback):
        policy = make_step(step.value, alpha=alpha, c=armijo_c, rho=shrink)
        data = read_dataset(path, x=_columns(x), y=y, header=header, sep=sep, dropna=dropna)
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
        err.print(f"gdfit: {result.status}: {result.message}", highlight=False, markup=False,
                  soft_wrap=True)
    raise typer.Exit(int(result.exit_code))


def _describe_data(data: object) -> None:
    from gdfit.io import Dataset

    assert isinstance(data, Dataset)
    how = "chosen automatically" if data.auto_columns else "as given"
    note = f"{data.source}: {len(data.y)} rows; y = {data.target}, x = " \
           f"{', '.join(data.features)} ({how})"
    if data.ignored_columns:
        note += f"; ignored non-numeric: {', '.join(data.ignored_columns)}"
    if data.dropped_rows:
        note += f"; dropped {len(data.dropped_rows)} rows with missing or non-finite values"
    err.print(note, highlight=False, markup=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except Exception as exc:  # a bug: one line unless the user asked for the trace
        if isinstance(exc, BrokenPipeError):
            _quiet_broken_pipe()
        if "--traceback" in sys.argv or os.environ.get("GDFIT_TRACEBACK"):
            raise
        err.print(f"gdfit: internal error: {type(exc).__name__}: {exc} (rerun with "
                  "--traceback to see where, and please report it)", highlight=False,
                  markup=False, soft_wrap=True)
        sys.exit(int(ExitCode.INTERNAL_ERROR))


def _quiet_broken_pipe() -> NoReturn:
    # The reader went away (`gdfit ... | head -1`): stop quietly, as cat does.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)
