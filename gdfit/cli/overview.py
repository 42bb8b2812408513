"""``gdfit --help``: the list of commands, drawn with Rich alone.

Typer's help renderer imports Rich's Markdown and Syntax support (markdown-it, Pygments) and
builds every command's option table, which takes longer than the rest of the help. The overview
needs none of that: it is drawn here from :data:`COMMAND_HELP` in the same layout. A test
checks that it names exactly the commands Typer knows, with their help lines. ``gdfit COMMAND
--help`` is Typer's own.
"""

from __future__ import annotations

from typing import TextIO

#: What ``gdfit`` is, as the overview and Typer's help say it.
SUMMARY = "Linear regression by gradient descent: fit y = X·w + b to a CSV file."

#: The options of ``gdfit`` itself (Typer adds the completion ones).
OPTIONS = (
    ("--version", "", "Print the version and exit."),
    ("--install-completion", "", "Install completion for the current shell."),
    ("--show-completion", "", "Show completion for the current shell, to copy it or customize "
                              "the installation."),
    ("--help", "-h", "Show this message and exit."),
)

#: Each command's one-line help, for Typer (re-exported as ``gdfit.cli.COMMAND_HELP``) and
#: for the overview, which prints ``gdfit --help`` without importing the command modules.
COMMAND_HELP = {
    "compare": "Run several step policies on the same data and stopping rules and rank them "
               "by iterations to converge.",
    "fit": "Fit y = X·w + b by gradient descent and print w, b and how the run went.",
    "predict": "Predict y for every row of a file with a saved model.",
    "show": "Print a saved model: its coefficients, how the fit went, and the training data.",
    "steps": "List every step policy: its formula, options with defaults, whether it needs "
             "tuning.",
}

EXAMPLES = ("gdfit fit sample_data/housing.csv",
            "cat data.csv | gdfit fit - --format json | jq .w")


def print_overview(file: TextIO | None = None) -> None:
    """Print the usage line, the options and the commands with their help lines."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.padding import Padding
    from rich.panel import Panel
    from rich.table import Table

    console = Console(file=file, highlight=False)

    def panel(title: str, rows: list[tuple[str, ...]]) -> Panel:
        grid = Table.grid(padding=(0, 2))
        for _ in rows[0]:
            grid.add_column(no_wrap=True)
        grid.columns[-1].no_wrap = False
        grid.columns[0].style = "bold cyan"
        if len(rows[0]) == 3:
            grid.columns[1].style = "bold green"
        for row in rows:
            grid.add_row(*row)
        return Panel(grid, title=title, title_align="left", border_style="dim", box=box.ROUNDED)

    def text(markup: str, indent: int = 1) -> None:  # wrapped lines keep the indent
        console.print(Padding(console.render_str(markup), (0, 0, 0, indent)))

    console.print()
    text("[b]Usage:[/b] gdfit [OPTIONS] COMMAND [ARGS]...")
    console.print()
    text(SUMMARY)
    console.print()
    console.print(panel("Options", list(OPTIONS)))
    console.print(panel("Commands", list(COMMAND_HELP.items())))
    console.print()
    text("[b]Examples[/b]")
    console.print()
    for line in EXAMPLES:
        text(escape(line), indent=3)
        console.print()
    text("Run [b]gdfit COMMAND --help[/b] for a command's options.")
    console.print()
