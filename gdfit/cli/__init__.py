"""The ``gdfit`` command line: a thin Typer client of the library.

Each command lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from gdfit import __version__
from gdfit.cli.common import err, quiet_broken_pipe
from gdfit.errors import ExitCode

app = typer.Typer(
    name="gdfit",
    help="Linear regression by gradient descent: fit y = X·w + b to a CSV file.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode="rich",
    epilog="[b]Examples[/b]\n\n"
    "  gdfit fit sample_data/housing.csv\n\n"
    "  cat data.csv | gdfit fit - --format json | jq .w\n\n"
    "Run [b]gdfit COMMAND --help[/b] for a command's options.",
)


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


# Each command module registers its command on app when imported.
from gdfit.cli import compare as _compare  # noqa: E402, F401
from gdfit.cli import fit as _fit  # noqa: E402, F401
from gdfit.cli import predict as _predict  # noqa: E402, F401
from gdfit.cli import show as _show  # noqa: E402, F401
from gdfit.cli import steps_cmd as _steps_cmd  # noqa: E402, F401


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except Exception as exc:  # a bug: one line unless the user asked for the trace
        if isinstance(exc, BrokenPipeError):
            quiet_broken_pipe()
        if "--traceback" in sys.argv or os.environ.get("GDFIT_TRACEBACK"):
            raise
        err.print(f"gdfit: internal error: {type(exc).__name__}: {exc} (rerun with "
                  "--traceback to see where, and please report it)", highlight=False,
                  markup=False, soft_wrap=True)
        sys.exit(int(ExitCode.INTERNAL_ERROR))
