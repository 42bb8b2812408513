"""What every gdfit command shares: the consoles, the error funnel, option helpers."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Any, NoReturn, TextIO

import typer
from rich.console import Console, RenderableType

from gdfit.choices import Decimal
from gdfit.cli.params import to_options
from gdfit.errors import DataError, ExitCode, GdfitError, OutputError
from gdfit.layout import natural_width

#: Results go to stdout; progress, notes and errors to stderr.
out = Console()
err = Console(stderr=True)

DATA, STEP, STOP, OUTPUT = "Data", "Step policy", "Stopping rules", "Output"
#: The parameters of one step policy or another: listed by name in --help (gdfit steps NAME
#: describes them).
STEP_PARAMS = "Step parameters"


class OutputFormat(str, Enum):
    """How a result is written to stdout."""

    table = "table"
    json = "json"
    csv = "csv"
    jsonl = "jsonl"  # one compact JSON object per line (per fit)


#: The values of an environment switch (``GDFIT_TRACEBACK``) that mean on, as Click reads a
#: boolean option from the environment; anything else ("", 0, false, no, off …) means off.
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y", "on"})


def env_switch(name: str) -> bool:
    """Whether the environment variable ``name`` is set to a value that means on."""
    return os.environ.get(name, "").strip().lower() in TRUE_WORDS


def traceback_wanted(flag: bool = False) -> bool:
    """Whether to show Python's traceback: ``--traceback``, or ``GDFIT_TRACEBACK`` on."""
    return flag or env_switch("GDFIT_TRACEBACK")


def note(message: str) -> None:
    """A plain line on stderr (never markup-interpreted): one line in a pipe or a file; on a
    terminal wrapped at its spaces (a number is never broken), keeping its indentation."""
    if not err.is_terminal or not message.strip():
        err.print(message, highlight=False, markup=False, soft_wrap=True)
        return
    from rich.padding import Padding
    from rich.text import Text

    indent = len(message) - len(message.lstrip(" "))
    err.print(Padding(Text(message.lstrip(" "), overflow="fold"), (0, 0, 0, indent),
                      expand=False), highlight=False)


def warn_ill_conditioned(result: Any, quiet: bool = False) -> None:
    """``gdfit: warning: …`` on stderr when the standardised Gram matrix of ``result``'s data
    has a condition number above :data:`gdfit.reference.CONDITION_WARN` (not with -q)."""
    from gdfit.reference import CONDITION_WARN

    cond = getattr(result, "lstsq_condition", None)
    if quiet or cond is None or not cond > CONDITION_WARN:
        return
    digits = result.lstsq_digits
    note(f"gdfit: warning: the x columns are nearly collinear: condition number {cond:.2g} "
         f"of the standardised Gram matrix (above {CONDITION_WARN:g}); gradient descent "
         f"may converge slowly or stop short of the minimum, and the least-squares reference "
         f"({result.lstsq_method}) is exact to ~{digits} digit{'s' if digits != 1 else ''}")


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print ``gdfit: error: message`` on stderr and exit with ``code``."""
    note(f"gdfit: error: {message}")
    raise typer.Exit(int(code))


@contextmanager
def reported_errors(source: str | None = None, traceback: bool = False) -> Iterator[None]:
    """The one funnel from gdfit's exceptions to a one-line message and an exit code."""
    try:
        yield
    except GdfitError as exc:
        if traceback_wanted(traceback):
            raise
        text = to_options(str(exc))  # the library names parameters (alpha=), we options
        if source and isinstance(exc, DataError) and not isinstance(exc, OutputError) \
                and not text.startswith(source):
            text = f"{source}: {text}"
        fail(text, exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", ExitCode.INTERRUPTED)


#: What a terminal on standard input is told while gdfit waits for the table.
STDIN_HINT = "gdfit: reading CSV from standard input (end with Ctrl-D)"


def stdin_hint(inputs: list[str] | tuple[str, ...]) -> None:
    """When ``-`` is to be read from a terminal, say so on stderr, and how to end the input
    (even under --quiet: otherwise gdfit would seem to hang)."""
    from gdfit.sources import STDIN, stdin_is_terminal

    if STDIN in inputs and stdin_is_terminal():
        note(STDIN_HINT)


def split_columns(value: str | None, option: str = "--x") -> list[str] | None:
    """Comma-separated column references, or None when the option was not given."""
    if value is None:
        return None
    names = [part.strip() for part in value.split(",")]
    if not all(names):
        raise typer.BadParameter(f"empty column name in '{value}'", param_hint=f"'{option}'")
    return names


def print_renderable(stream: TextIO, renderable: RenderableType) -> None:
    """Print a Rich renderable: on a terminal in colour, at the terminal's width (the tables
    choose a layout that fits it, see :mod:`gdfit.layout`); anywhere else as plain text, with
    every table whole at its natural width (prose wraps at 80 columns, or at the widest table).
    """
    if stream is sys.stdout and out.is_terminal:
        out.print(renderable)
        return
    console = Console(file=stream, color_system=None, force_terminal=False, width=80,
                      highlight=False)
    console.width = max(80, natural_width(renderable, console.options.ascii_only))
    console.print(renderable, crop=False)


def quiet_broken_pipe() -> NoReturn:
    """The reader went away (``gdfit ... | head -1``): stop quietly, as cat does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)


# The data and stopping options shared by the commands that read one table and descend
# (``gdfit compare``; ``gdfit fit`` declares the same options itself).
XOption = Annotated[str | None, typer.Option(
    "--x", "-x", help="x columns: comma-separated names or 0-based indices "
    "\\[default: every numeric column but y]", rich_help_panel=DATA, show_default=False)]
YOption = Annotated[str | None, typer.Option(
    "--y", "-y", help="y column: a name or 0-based index \\[default: the last numeric column]",
    rich_help_panel=DATA, show_default=False)]
HeaderOption = Annotated[bool, typer.Option(
    "--header/--no-header", help="Whether the first line names the columns; without one, "
    "refer to columns by index.", rich_help_panel=DATA)]
SepOption = Annotated[str | None, typer.Option(
    "--sep", help="Field delimiter: ',', ';', '\\t', '|', 'whitespace', … \\[default: detected]",
    rich_help_panel=DATA, show_default=False)]
DecimalOption = Annotated[Decimal, typer.Option(
    "--decimal", help="Decimal mark of the numbers: '.', or ',' for 1,5 (then the delimiter "
    "is another: --sep ';').", rich_help_panel=DATA)]
DropnaOption = Annotated[bool, typer.Option(
    "--dropna", help="Drop rows with a missing, NaN or infinite value in a used column (and "
    "say how many).", rich_help_panel=DATA)]
InterceptOption = Annotated[bool, typer.Option(
    "--intercept/--no-intercept", help="Fit y = X·w + b, or y = X·w through the origin.",
    rich_help_panel=DATA)]
MaxIterOption = Annotated[int, typer.Option(
    "--max-iter", min=0, help="Iteration budget.", rich_help_panel=STOP)]
GradTolOption = Annotated[float, typer.Option(
    "--grad-tol", help="Stop when ‖∇f‖ ≤ this (in the scaled space under --scale standard); 0 "
    "switches it off.", rich_help_panel=STOP)]
LossTolOption = Annotated[float, typer.Option(
    "--loss-tol", help="Stop when the loss changes by ≤ this in one iteration; 0 switches it "
    "off.", rich_help_panel=STOP)]
QuietOption = Annotated[bool, typer.Option(
    "--quiet", "-q", help="No progress or notes on stderr; only the result and errors.",
    rich_help_panel=OUTPUT)]
TracebackOption = Annotated[bool, typer.Option(
    "--traceback", help="Show the full Python traceback of an error (for bug reports).",
    rich_help_panel=OUTPUT, envvar="GDFIT_TRACEBACK")]
