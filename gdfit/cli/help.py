"""``gdfit COMMAND --help``, drawn to be scanned at any width.

Typer's help puts each option in a six-column table inside a box: at 60 columns the columns
squeeze, option names are cut (``--on-bad-r…``) and the help runs to hundreds of lines. Here each
panel (``rich_help_panel``) is a heading, and each option a ``name  help`` pair: side by side
when the terminal has room for both, else the help on the lines under the name. Names, choices
and defaults are never cut. Options of the panel :data:`COMPACT_PANEL` (the parameters of one
step policy or another) are only listed by name; ``gdfit steps NAME`` explains those of a policy.

A command uses it with ``@app.command(..., cls=GdfitCommand)``.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand

from gdfit.cli.common import STEP_PARAMS

#: Options listed by name only (the per-policy step parameters), and what the heading says.
COMPACT_PANEL = STEP_PARAMS
COMPACT_NOTE = "each applies to one policy or two; gdfit steps NAME describes those of NAME"
#: Below this width the help goes under each option's name instead of beside it.
SIDE_BY_SIDE = 76
#: The name column's width at the most, side by side (longer names put their help below).
NAME_WIDTH = 28
OTHER = "Options"


def _metavar(param: Any) -> str:
    """What follows an option's name: its metavar, its choices when short, or its kind."""
    if getattr(param, "is_flag", False) or param.type.name == "boolean":
        return ""
    if param.metavar:
        return str(param.metavar)
    choices = getattr(param.type, "choices", None)
    if choices is not None:
        values = [str(getattr(c, "value", c)) for c in choices]
        joined = "|".join(values)
        return f"[{joined}]" if len(joined) <= 26 else "NAME"
    kind = param.type.name
    return {"integer": "N", "int": "N", "int range": "N", "float": "NUM",
            "float range": "NUM"}.get(kind, "TEXT")


def _names(param: Any) -> str:
    if param.param_type_name == "argument":
        name = str(param.metavar or param.name).upper() + ("…" if param.nargs == -1 else "")
        return name if param.required else f"[{name}]"
    longs = [o for o in param.opts if o.startswith("--")]
    shorts = [o for o in param.opts if not o.startswith("--")]
    text = ", ".join(longs + shorts)
    if param.secondary_opts:
        text += " / " + ", ".join(param.secondary_opts)
    meta = _metavar(param)
    return f"{text} {meta}" if meta else text


def _extras(record_help: str, own: str) -> str:
    """The ``[default: …; env var …; range]`` part Click adds to an option's help, prettier."""
    extra = record_help[len(own):].strip() if record_help.startswith(own) else ""
    extra = re.sub(r"(\S+)<=x<=(\S+)", r"\1 to \2", extra)
    extra = re.sub(r"\bx>=(\S+?)(?=[;\]])", r"≥ \1", extra)
    extra = re.sub(r"\bx>(\S+?)(?=[;\]])", r"> \1", extra)
    return extra


def _help_text(param: Any, ctx: Any) -> Text:
    own = param.help or ""
    record = param.get_help_record(ctx)
    text = Text.from_markup(own) if own else Text()
    extra = _extras(record[1], own) if record is not None else ""
    if extra:
        text.append(("  " if own else "") + extra, style="dim")
    return text


def _example(line: str, width: int) -> list[RenderableType]:
    """An example command and its ``[dim]# comment[/]``: aligned as written when that fits,
    else two spaces apart, else the comment on the line under the command."""
    line = line.strip()
    code, mark, comment = line.partition("[dim]#")
    tight = f"{code.rstrip()}  {mark}{comment}" if mark else line
    for candidate in (line, tight):
        if len(Text.from_markup(candidate).plain) + 2 <= width:
            return [Padding(Text.from_markup(candidate), (0, 0, 0, 2), expand=False)]
    if not mark:
        return [Padding(Text.from_markup(line), (0, 0, 0, 2), expand=False)]
    return [Padding(Text.from_markup(code.rstrip()), (0, 0, 0, 2), expand=False),
            Padding(Text.from_markup(mark + comment), (0, 0, 0, 4), expand=False)]


def _paragraphs(text: str, width: int) -> list[RenderableType]:
    """A help or epilog text (Rich markup): paragraphs re-flowed, examples (indented lines)
    kept as written, one under the other."""
    out: list[RenderableType] = []
    blocks = re.split(r"\n\s*\n", text.strip("\n"))
    for n, block in enumerate(blocks):
        lines = block.split("\n")
        example = lines[0].startswith("  ")
        if example:
            for line in lines:
                out += _example(line, width)
        else:
            out.append(Text.from_markup(" ".join(line.strip() for line in lines)))
        following = blocks[n + 1] if n + 1 < len(blocks) else ""
        if not (example and following.startswith("  ")):
            out.append(Text())
    return out


def _section(title: str, rows: list[tuple[str, Text]], width: int, name_width: int
             ) -> list[RenderableType]:
    out: list[RenderableType] = [Text(title, style="bold")]
    if width >= SIDE_BY_SIDE:
        for name, text in rows:
            grid = Table.grid(padding=(0, 2), pad_edge=False)
            grid.add_column(no_wrap=True, width=name_width)
            grid.add_column(overflow="fold")
            if len(name) > name_width:  # the name on its own line, the help under it
                out.append(Padding(Text(name, style="bold cyan"), (0, 0, 0, 2), expand=False))
                grid.add_row("", text)
            else:
                grid.add_row(Text(name, style="bold cyan"), text)
            out.append(Padding(grid, (0, 0, 0, 2), expand=False))
    else:
        for name, text in rows:
            out.append(Padding(Text(name, style="bold cyan", overflow="fold"), (0, 0, 0, 2),
                               expand=False))
            out.append(Padding(text, (0, 0, 0, 6), expand=False))
    out.append(Text())
    return out


def command_help(command: Any, ctx: Any, width: int) -> Group:
    """The help of ``command`` laid out for ``width`` columns."""
    arguments = [p for p in command.get_params(ctx) if p.param_type_name == "argument"]
    usage = " ".join([ctx.command_path, "[OPTIONS]", *(_names(p) for p in arguments)])
    parts: list[RenderableType] = [Text.assemble(("Usage: ", "bold"), usage), Text()]
    if command.help:
        parts += _paragraphs(command.help, width)
    panels: dict[str, list[Any]] = {}
    for param in command.get_params(ctx):
        if param.param_type_name == "argument" or getattr(param, "hidden", False):
            continue
        panels.setdefault(getattr(param, "rich_help_panel", None) or OTHER, []).append(param)
    listed = [p for title, params in panels.items() if title != COMPACT_PANEL for p in params]
    name_width = min(max((len(_names(p)) for p in [*arguments, *listed]), default=0),
                     NAME_WIDTH)  # one column for every section
    if arguments:
        parts += _section("Arguments", [(_names(p), _help_text(p, ctx)) for p in arguments],
                          width, name_width)
    for title, params in sorted(panels.items(), key=lambda kv: kv[0] == OTHER):
        if title == COMPACT_PANEL:
            names = Text(" ".join(p.opts[0] for p in params), style="bold cyan")
            parts += [Text.assemble((title, "bold"), ": ", (COMPACT_NOTE, "dim")),
                      Padding(names, (0, 0, 0, 2), expand=False), Text()]
            continue
        parts += _section(title, [(_names(p), _help_text(p, ctx)) for p in params], width,
                          name_width)
    if command.epilog:
        parts += _paragraphs(command.epilog, width)
    return Group(*parts)


_TRAILING = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$", re.MULTILINE)


def print_command_help(command: Any, ctx: Any, console: Console | None = None) -> None:
    """Print ``command``'s help on standard output at the terminal's width (lines without
    trailing blanks)."""
    console = console or Console(file=sys.stdout, highlight=False)
    with console.capture() as captured:
        console.print(command_help(command, ctx, console.width))
    console.file.write(_TRAILING.sub(r"\1", captured.get()))
    console.file.flush()


class GdfitCommand(TyperCommand):
    """Typer's command, with gdfit's help layout (see the module docstring)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        print_command_help(self, ctx)
