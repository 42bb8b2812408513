"""``gdfit steps [NAME]``: every step policy with its formula, parameters and defaults, or one
policy in full (each option with its help: the detail ``gdfit fit --help`` leaves out)."""

from __future__ import annotations

import csv
import inspect
import io
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import RenderableType
from rich.text import Text

from gdfit.ascii import ascii_only
from gdfit.choices import DEFAULT_STEP, StepName
from gdfit.cli import COMMAND_HELP, app
from gdfit.cli.common import OUTPUT, OutputFormat, print_renderable
from gdfit.cli.help import GdfitCommand

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
    """What ``gdfit steps`` shows of one policy; defaults come from its constructor, each
    option's help from :mod:`gdfit.cli.step_options`."""
    from gdfit.cli.step_options import ALPHA_ROLE, STEP_OPTION_HELP, step_option_metavar

    signature = inspect.signature(cls.__init__)
    params = []
    for name, option in cls.options.items():
        default = signature.parameters[name].default
        text = (f"{ALPHA_ROLE.get(cls.name, 'α')[:1].upper()}{ALPHA_ROLE.get(cls.name, 'α')[1:]}."
                if option == "--alpha" else STEP_OPTION_HELP.get(option, ""))
        params.append({"name": name, "option": option,
                       "default": None if default is None else default,
                       "default_text": _default_text(cls, name, default),
                       "metavar": step_option_metavar(option), "help": text})
    doc = inspect.getdoc(cls) or ""
    return {"name": cls.name, "formula": cls.formula, "summary": doc.split("\n")[0],
            "parameters": params, "needs_tuning": cls.needs_tuning,
            "mini_batch": cls.stochastic, "default": cls.name == DEFAULT_STEP}


def _example_value(parameters: list[dict[str, Any]]) -> tuple[str, str]:
    """An option of the policy and a value to show it with: another choice than the default,
    or the default number; ("", "") when none has one."""
    for p in parameters:
        if p["metavar"].startswith("["):
            others = [c for c in p["metavar"].strip("[]").split("|") if c != p["default_text"]]
            return p["option"], others[0]
        default = p["default"]
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            return p["option"], f"{default:g}"
    return "", ""


def policy_detail(info: dict[str, Any]) -> RenderableType:
    """One policy for ``gdfit steps NAME``: what it is, its formula, its options with their
    help and defaults, and how to give them to ``fit`` and ``compare``."""
    from rich.console import Group
    from rich.padding import Padding

    from gdfit.layout_lines import Fields

    name = info["name"]
    other = "bb" if name == DEFAULT_STEP else DEFAULT_STEP  # a second policy to compare with
    parts: list[RenderableType] = [
        Text.assemble((name, "bold"), " (the default)" if info["default"] else "", ": ",
                      info["summary"]),
        Text(), Fields([("formula", info["formula"]),
                        ("needs tuning", "yes: its step must suit the data's scale"
                         if info["needs_tuning"] else "no: it chooses its steps itself"),
                        ("mini-batch", "yes (--batch-size)" if info["mini_batch"] else "no")]),
        Text()]
    if info["parameters"]:
        parts.append(Text("Options", style="bold"))
        parts.append(Padding(Fields([(f"{p['option']} {p['metavar']}".rstrip(),
                                      Text(p["help"]) + Text(f"  [default: {p['default_text']}]",
                                                             style="dim"))
                                     for p in info["parameters"]], label_style="bold cyan"),
                             (0, 0, 0, 2), expand=False))
        option, value = _example_value(info["parameters"])
        given = f" {option} {value}" if option else ""
        spec = f":{option.lstrip('-')}={value}" if option else ""
        parts += [Text(), Text("Examples", style="bold"),
                  Text(f"  gdfit fit data.csv --step {name}{given}"),
                  Text(f"  gdfit compare data.csv --steps {name}{spec},{other}")]
    else:
        parts += [Text("No options: it needs nothing but the data.", style="italic"), Text(),
                  Text("Examples", style="bold"), Text(f"  gdfit fit data.csv --step {name}"),
                  Text(f"  gdfit compare data.csv --steps {name},{other}")]
    return Group(*parts)


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


@app.command("steps", short_help=COMMAND_HELP["steps"], cls=GdfitCommand)
def steps_command(
    name: Annotated[StepName | None, typer.Argument(
        help="A policy to describe in full: its formula and each of its options with its help "
        "and default \\[default: list every policy]", show_default=False,
        metavar="NAME")] = None,
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="table for people; json, jsonl or csv for programs.",
        rich_help_panel=OUTPUT)] = OutputFormat.table,
) -> None:
    """List every step policy: its one-line formula, options with defaults, whether it needs
    tuning; or, with NAME, describe that policy and its options.

    "needs tuning" means a parameter (a step or learning rate) must suit the data's scale;
    the others choose their steps themselves. "mini-batch" says which work with --batch-size.
    """
    from gdfit.steps import STEP_POLICIES

    classes = [STEP_POLICIES[name.value]] if name is not None else STEP_POLICIES.values()
    rows = [policy_info(cls) for cls in classes]
    if output_format is OutputFormat.json:
        data: Any = rows[0] if name is not None else rows
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=ascii_only()) + "\n")
    elif output_format is OutputFormat.jsonl:
        sys.stdout.write("".join(json.dumps(r, ensure_ascii=ascii_only()) + "\n" for r in rows))
    elif output_format is OutputFormat.csv:
        sys.stdout.write(steps_csv(rows))
    elif name is not None:
        print_renderable(sys.stdout, policy_detail(rows[0]))
    else:
        print_renderable(sys.stdout, steps_table(rows))
