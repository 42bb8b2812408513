"""What every gdfit command shares: the consoles, the error funnel, option helpers."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import NoReturn

import click
import typer
from rich.console import Console

from gdfit.errors import DataError, ExitCode, GdfitError

#: Results go to stdout; progress, notes and errors to stderr.
out = Console()
err = Console(stderr=True)

DATA, STEP, STOP, OUTPUT = "Data", "Step policy", "Stopping rules", "Output"


class OutputFormat(str, Enum):
    """How a result is written to stdout."""

    table = "table"
    json = "json"
    csv = "csv"


def note(message: str) -> None:
    """A plain line on stderr (never markup-interpreted)."""
    err.print(message, highlight=False, markup=False, soft_wrap=True)


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
        if traceback or os.environ.get("GDFIT_TRACEBACK"):
            raise
        text = str(exc)
        if source and isinstance(exc, DataError) and not text.startswith(source):
            text = f"{source}: {text}"
        fail(text, exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", ExitCode.INTERRUPTED)


def split_columns(value: str | None, option: str = "--x") -> list[str] | None:
    """Comma-separated column references, or None when the option was not given."""
    if value is None:
        return None
    names = [part.strip() for part in value.split(",")]
    if not all(names):
        raise click.BadParameter(f"empty column name in '{value}'", param_hint=f"'{option}'")
    return names


def quiet_broken_pipe() -> NoReturn:
    """The reader went away (``gdfit ... | head -1``): stop quietly, as cat does."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)
