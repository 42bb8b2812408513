"""Click's usage errors in gdfit's one error style: ``gdfit: error: <message>``.

Typer prints a bad option, a bad choice or a missing argument as Click's usage line and a
boxed panel, while gdfit's own errors are one line. :class:`GdfitGroup` (the application's
group class) catches Click's exceptions instead and prints them as gdfit does::

    gdfit: error: --max-iter must be a whole number ≥ 0, got -1
    try 'gdfit fit --help'

The second line appears only for a usage error of a command (not for ``gdfit --help`` or a
plain error). The exit code is Click's (2 for usage errors).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # recent typer ships its own copy of Click, as typer._click
    from typer._click import exceptions as click_exceptions
    from typer._click import types as click_types
except ImportError:  # pragma: no cover - older typer uses Click itself
    from click import exceptions as click_exceptions  # type: ignore[no-redef]
    from click import types as click_types  # type: ignore[no-redef]

from gdfit.cli.common import note
from gdfit.errors import ExitCode

#: How a value of each Click number type is described in a message.
_KIND = ((click_types.IntParamType, "a whole number"), (click_types.FloatParamType, "a number"))


def _option_name(param: Any) -> str:
    """The option as the user typed it: its longest ``--`` form, or an argument's metavar."""
    if getattr(param, "param_type_name", "") == "argument":
        return str(param.metavar or param.name or "").upper()
    names = sorted(getattr(param, "opts", ()), key=len, reverse=True)
    return names[0] if names else str(param.name)


def _range(kind: Any) -> str:
    """A Click range type as '≥ 0', '> 0', 'in [0, 1]'..."""
    low, high = getattr(kind, "min", None), getattr(kind, "max", None)
    low_open, high_open = getattr(kind, "min_open", False), getattr(kind, "max_open", False)
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '≥'} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '≤'} {high:g}"
    return ""


def _sentence(text: str) -> str:
    """Click's sentence as a clause: lower-case first letter, no final period."""
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _bad_value(exc: Any) -> str:
    param = exc.param
    name = _option_name(param)
    kind = param.type
    source = ""
    ctx = exc.ctx
    if ctx is not None and param.name is not None and getattr(param, "envvar", None):
        origin = ctx.get_parameter_source(param.name)
        if origin is not None and origin.name == "ENVIRONMENT":
            source = f" (from {param.envvar})"
    described = next((what for cls, what in _KIND if isinstance(kind, cls)), None)
    if described is not None:
        got = re.match(r"^(.*?) is not (?:a valid|in the range)", exc.message)
        bound = _range(kind)
        if got is not None:
            return (f"{name}{source} must be {described}{' ' + bound if bound else ''}, got "
                    f"{got.group(1)}")
    choices: Sequence[str] | None = getattr(kind, "choices", None)
    if choices is not None:
        got = re.match(r"^'(.*?)' is not", exc.message)
        value = f"'{got.group(1)}' " if got else ""
        return (f"{name}{source}: {value}is not one of the choices: "
                f"{', '.join(str(getattr(c, 'value', c)) for c in choices)}")
    return f"{name}{source}: {_sentence(exc.message)}"


def usage_message(exc: Exception) -> str:
    """The one-line message (without ``gdfit: error:``) for one of Click's exceptions."""
    if isinstance(exc, click_exceptions.NoSuchOption):
        near = list(exc.possibilities or ())
        hint = f" (did you mean {' or '.join(near)}?)" if near else ""
        return f"no such option: {exc.option_name}{hint}"
    if isinstance(exc, click_exceptions.MissingParameter):
        param = exc.param
        if getattr(param, "param_type_name", "") == "argument":
            return f"missing argument {_option_name(param)}"
        return f"missing option {_option_name(param)}" if param is not None else \
            _sentence(exc.format_message())
    if isinstance(exc, click_exceptions.BadOptionUsage) and "requires an argument" in \
            exc.message:
        return f"{exc.option_name} needs a value"
    if isinstance(exc, click_exceptions.BadParameter):
        if exc.param is not None:
            return _bad_value(exc)
        if exc.param_hint:
            return f"{str(exc.param_hint).strip(chr(39))}: {_sentence(exc.message)}"
    text = exc.format_message() if isinstance(exc, click_exceptions.ClickException) else str(exc)
    extra = re.match(r"Got unexpected extra argument\(s\) \((.*)\)", text)
    if extra is not None:
        words = extra.group(1)
        return f"unexpected extra argument{'s' if ' ' in words else ''}: {words}"
    return _sentence(text)


def report_usage_error(exc: Any) -> int:
    """Print one of Click's exceptions as ``gdfit: error: …`` (and where to look), return
    its exit code."""
    if isinstance(exc, click_exceptions.NoArgsIsHelpError):  # bare ``gdfit``: its help
        sys.stdout.write(exc.format_message())
        return int(exc.exit_code)
    note(f"gdfit: error: {usage_message(exc)}")
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click_exceptions.UsageError) and ctx is not None:
        note(f"try '{ctx.command_path} --help'")
    return int(exc.exit_code)


def caused_by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` stands for a Ctrl-C: Python wraps a KeyboardInterrupt raised while a
    class body is set up (``__set_name__``, as a module is imported) in a RuntimeError."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return True
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return False


class GdfitGroup(TyperGroup):
    """Typer's group, with Click's errors printed in gdfit's one-line style."""

    def invoke(self, ctx: Any) -> Any:
        """Run the command; a Ctrl-C that escapes it (one that lands outside the command's own
        handlers: while it loads its modules, between reading and fitting …) ends it as theirs
        do, ``gdfit: error: interrupted`` and exit 130 (Typer would exit 130 silently)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            pass
        except Exception as exc:
            if not caused_by_interrupt(exc):
                raise
        note("gdfit: error: interrupted")
        raise typer.Exit(int(ExitCode.INTERRUPTED))

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        """Run the command line; in standalone mode, print Click's errors our way and exit."""
        run = {"args": args, "prog_name": prog_name, "complete_var": complete_var,
               "windows_expand_args": windows_expand_args, **extra}
        if not standalone_mode:
            return super().main(standalone_mode=False, **run)
        try:
            code = super().main(standalone_mode=False, **run)
        except click_exceptions.ClickException as exc:
            sys.exit(report_usage_error(exc))
        except typer.Abort:
            note("gdfit: error: aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
