"""The ``gdfit`` command line: a thin Typer client of the library.

Each command lives in its own module and registers itself on :data:`app`; a new command module
is added to :data:`COMMAND_MODULES`. ``app`` is built on first use (``from gdfit.cli import app``
or :func:`get_app`), and the command modules import nothing heavy (numpy, pandas …) at module
level, so that ``gdfit --help`` and ``gdfit --version`` start fast.
"""

from __future__ import annotations

import signal
import sys
import warnings
from typing import TYPE_CHECKING

from gdfit import __version__
from gdfit.cli.overview import COMMAND_HELP  # noqa: F401  (re-exported: the commands use it)
from gdfit.errors import ConvergenceWarning, ExitCode

if TYPE_CHECKING:
    import typer

#: Each command and the module that registers it on :data:`app` when imported.
COMMANDS = {"compare": "compare", "fit": "fit", "predict": "predict", "show": "show",
            "steps": "steps_cmd"}
COMMAND_MODULES = tuple(COMMANDS.values())

_app: typer.Typer | None = None


def _version(value: bool) -> None:
    if value:
        import typer

        typer.echo(f"gdfit {__version__}")
        raise typer.Exit()


def _build_app() -> typer.Typer:
    import typer

    from gdfit.cli.overview import EXAMPLES, SUMMARY
    from gdfit.cli.usage import GdfitGroup

    built = typer.Typer(
        name="gdfit",
        cls=GdfitGroup,
        help=SUMMARY,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
        rich_markup_mode="rich",
        epilog="[b]Examples[/b]\n\n" + "".join(f"  {line}\n\n" for line in EXAMPLES)
        + "Run [b]gdfit COMMAND --help[/b] for a command's options.",
    )

    @built.callback()
    def main_options(
        version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                     help="Print the version and exit."),
    ) -> None:
        """Linear regression by gradient descent: fit y = X·w + b to a CSV file."""
        # Every command reports a fit's status itself; the library's warning would repeat it.
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        # The last line of defence: NumPy's floating-point RuntimeWarnings are not for users
        # (gdfit scales extreme values first, see gdfit.magnitude, and reports what it cannot
        # represent in its own words).
        warnings.filterwarnings("ignore", category=RuntimeWarning)

    return built


def get_app() -> typer.Typer:
    """The Typer application with every command registered (built on first use).

    Building it lazily lets ``gdfit --version`` skip Typer and the command modules altogether.
    """
    global _app
    if _app is None:
        _app = _build_app()
        import importlib

        for name in COMMAND_MODULES:  # each module does ``from gdfit.cli import app``
            importlib.import_module(f"gdfit.cli.{name}")
        globals()["app"] = _app
    return _app


def __getattr__(name: str) -> typer.Typer:
    if name == "app":
        return get_app()
    raise AttributeError(f"module 'gdfit.cli' has no attribute {name!r}")


def _app_for(argv: list[str]) -> typer.Typer:
    """The application for this command line: when it names a command, with that command
    alone (the others' modules and option tables are not built; ``gdfit --help`` and an
    unknown command get the whole application)."""
    global _app
    module = COMMANDS.get(argv[1]) if len(argv) > 1 else None
    if module is None or _app is not None or f"gdfit.cli.{module}" in sys.modules:
        return get_app()
    import importlib

    _app = _build_app()
    importlib.import_module(f"gdfit.cli.{module}")  # registers its command on _app
    return _app


def run() -> None:
    """The ``gdfit`` console script (and ``python -m gdfit``): :func:`main`, then Ctrl-C ignored.

    Once the command has ended, its outputs are whole and its exit status is decided. Python's
    finalisation puts SIGINT back to the system default before it frees the last objects, so a
    Ctrl-C landing then (freeing a large table takes a moment) killed the process with status
    -2 after a successful run; ignoring it keeps the status the command chose.
    """
    try:
        main()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def main() -> None:
    """Entry point: the command line in ``sys.argv``, run (the console script is :func:`run`).

    Ctrl-C (or SIGTERM, where a command treats it as Ctrl-C) that lands before a command's
    own handler is in place — while Python loads the command's modules, parses the options,
    or between two steps — ends the run the same way: ``gdfit: error: interrupted``, exit 130.
    """
    try:
        _main()
    except KeyboardInterrupt:
        _interrupted()


def _interrupted() -> None:
    try:
        sys.stderr.write("gdfit: error: interrupted\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed or gone: the exit code says it
        pass
    sys.exit(int(ExitCode.INTERRUPTED))


def _main() -> None:
    from gdfit.ascii import protect

    for stream in (sys.stdout, sys.stderr):  # an ASCII terminal: ASCII names, never a crash
        protect(stream)
    # Answered before Typer and the commands are imported:
    if sys.argv[1:] == ["--version"]:
        sys.stdout.write(f"gdfit {__version__}\n")
        return
    if sys.argv[1:] in (["--help"], ["-h"]):
        from gdfit.cli.overview import print_overview

        print_overview()
        return
    try:
        _app_for(sys.argv)()
    except Exception as exc:  # a bug: one line unless the user asked for the trace
        from gdfit.cli.common import err, quiet_broken_pipe, traceback_wanted
        from gdfit.cli.usage import caused_by_interrupt

        if caused_by_interrupt(exc):  # Ctrl-C as Python set up a class (see usage.py)
            raise KeyboardInterrupt from None

        if isinstance(exc, BrokenPipeError):
            quiet_broken_pipe()
        if traceback_wanted("--traceback" in sys.argv):
            raise
        err.print(f"gdfit: internal error: {type(exc).__name__}: {exc} (rerun with "
                  "--traceback to see where, and please report it)", highlight=False,
                  markup=False, soft_wrap=True)
        sys.exit(int(ExitCode.INTERNAL_ERROR))
