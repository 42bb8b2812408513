"""``gdfit steps``: every step policy with its formula, parameters and defaults."""

from __future__ import annotations

import csv
import inspect
import io
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from gdfit.ascii import ascii_only
from gdfit.choices import DEFAULT_STEP
from gdfit.cli import COMMAND_HELP, app
from gdfit.cli.common import OUTPUT, OutputFormat, print_renderable

if TYPE_CHECKING:
    from gdfit.layout import FittedTable
    from gdfit.steps import StepPolicy


def _default_text(cls: type[StepPolicy], param: str, default: Any) -> str:
    if param in cls.default_notes:
        return cls.default_notes[param]
    if isinstance(default, bool):
        return "off" if not default else "on"
    return f"{default:g}" if isinstance(default, float) else str(default)


def policy_info(cls: type[StepPolicy]) -> dict[str, Any]:
    """What ``gdfit steps`` shows of one policy; defaults come from its constructor."""
    signature = inspect.signature(cls.__init__)
    params = []
    for name, option in cls.options.items():
        default = signature.parameters[name].default
        params.append({"name": name, "option": option,
                       "default": None if default is None else default,
                       "default_text": _default_text(cls, name, default)})
    doc = inspect.getdoc(cls) or ""
    return {"name": cls.name, "formula": cls.formula, "summary": doc.split("\n")[0],
            "parameters": params, "needs_tuning": cls.needs_tuning,
            "mini_batch": cls.stochastic, "default": cls.name == DEFAULT_STEP}


def steps_table(rows: list[dict[str, Any]]) -> FittedTable:
    """The table of :func:`policy_info` rows, at any width (:class:`~gdfit.layout.FittedTable`)."""
    from gdfit.layout import Column, FittedTable

    columns = [Column("policy", justify="left", key=True, style="bold"),
               Column("formula", justify="left", wrap=True),
               Column("options (default)", justify="left"),
               Column("needs tuning", justify="left"), Column("mini-batch", justify="left")]
    cells: list[list[str | Text]] = []
    for row in rows:
        options = "\n".join(f"{p['option']} ({p['default_text']})"
                            for p in row["parameters"]) or "—"
        name = row["name"] + (" (default)" if row["default"] else "")
        cells.append([Text(name), Text(row["formula"]), Text(options),
                      "yes" if row["needs_tuning"] else "no",
                      "yes" if row["mini_batch"] else "no"])
    return FittedTable(columns, cells, title=Text("Step policies (--step NAME)"),
                       show_lines=True)


def steps_csv(rows: list[dict[str, Any]]) -> str:
    """One CSV line per policy; the options as ``--opt=default`` joined by spaces."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["name", "formula", "options", "needs_tuning", "mini_batch", "default"])
    for row in rows:
        writer.writerow([row["name"], row["formula"],
                         " ".join(f"{p['option']}={p['default_text']}" for p in row["parameters"]),
                         row["needs_tuning"], row["mini_batch"], row["default"]])
    return buffer.getvalue()


@app.command("steps", short_help=COMMAND_HELP["steps"])
def steps_command(
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="table for people; json, jsonl or csv for programs.",
        rich_help_panel=OUTPUT)] = OutputFormat.table,
) -> None:
    """List every step policy: its one-line formula, options with defaults, whether it needs tuning.

    "needs tuning" means a parameter (a step or learning rate) must suit the data's scale;
    the others choose their steps themselves. "mini-batch" says which work with --batch-size.
    """
    from gdfit.steps import STEP_POLICIES

    rows = [policy_info(cls) for cls in STEP_POLICIES.values()]
    if output_format is OutputFormat.json:
        sys.stdout.write(json.dumps(rows, indent=2, ensure_ascii=ascii_only()) + "\n")
    elif output_format is OutputFormat.jsonl:
        sys.stdout.write("".join(json.dumps(r, ensure_ascii=ascii_only()) + "\n" for r in rows))
    elif output_format is OutputFormat.csv:
        sys.stdout.write(steps_csv(rows))
    else:
        print_renderable(sys.stdout, steps_table(rows))
