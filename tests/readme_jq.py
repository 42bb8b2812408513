#!/usr/bin/env python3
"""A stand-in for ``jq``, so that the README's pipelines run on a machine without jq.

``tests/readme_examples.py`` puts it on the examples' ``PATH`` as ``jq`` only when the machine
has no ``jq`` of its own. It knows the filters a README example needs and nothing more:

* options ``-r`` (strings without quotes), ``-c`` (compact output), ``-M`` (no colour: ignored),
  or several of them together (``-rc``);
* a filter that is a path — ``.``, ``.key``, ``.key.sub``, ``."key"``, ``.[N]``, ``.key[N]`` —
  or an object of paths: ``{a, b}`` (shorthand for ``{a: .a, b: .b}``) or ``{a: .x.y}``.

Every JSON value on standard input is filtered in turn (as jq does with JSON Lines). Output is
formatted as jq 1.7 prints it: two-space indentation (or compact with ``-c``), keys in their
order, non-ASCII as is, numbers as written by Python (jq 1.7 keeps a number's literal form;
jq 1.6 would print ``2.0`` as ``2``, so a README example should not show integral floats through
jq). A filter outside this set exits 2 with ``jq (readme stand-in): unsupported filter``; a path
that does not apply to the value (``.w`` of a list) exits 5, as jq does.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

Filter = Callable[[Any], Any]

_STEP = re.compile(r'\.(?:([A-Za-z_][A-Za-z0-9_]*)|"([^"]*)")?((?:\[-?\d+\])*)')


class JqError(Exception):
    """The filter does not apply to the input value (jq's exit status 5)."""


def _path(text: str) -> Filter:
    """A filter for a path such as ``.a.b[0]`` (``.`` alone is the identity)."""
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        match = _STEP.match(text, pos)
        if not match or match.end() == pos:
            raise ValueError(text)
        key = match.group(1) if match.group(1) is not None else match.group(2)
        if key is not None:
            steps.append(key)
        steps.extend(int(i) for i in re.findall(r"-?\d+", match.group(3)))
        pos = match.end()
    if not text.startswith("."):
        raise ValueError(text)

    def apply(value: Any) -> Any:
        for step in steps:
            if value is None:
                return None
            if isinstance(step, str):
                if not isinstance(value, dict):
                    raise JqError(f"Cannot index {type(value).__name__} with \"{step}\"")
                value = value.get(step)
            else:
                if not isinstance(value, list):
                    raise JqError(f"Cannot index {type(value).__name__} with number")
                value = value[step] if -len(value) <= step < len(value) else None
        return value

    return apply


def parse_filter(text: str) -> Filter:
    """A path, or an object of paths; ValueError for anything else."""
    text = text.strip()
    if text.startswith("{") and text.endswith("}"):
        fields: list[tuple[str, Filter]] = []
        for part in filter(None, (p.strip() for p in text[1:-1].split(","))):
            name, colon, path = part.partition(":")
            name = name.strip().strip('"')
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise ValueError(text)
            fields.append((name, _path(path.strip() if colon else f".{name}")))
        return lambda value: {name: get(value) for name, get in fields}
    return _path(text)


def _values(text: str) -> list[Any]:
    """Every JSON value in `text` (concatenated, or one per line)."""
    decoder = json.JSONDecoder()
    values: list[Any] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return values
        value, pos = decoder.raw_decode(text, pos)
        values.append(value)


def render(value: Any, raw: bool, compact: bool) -> str:
    """One output value as jq prints it."""
    if raw and isinstance(value, str):
        return value
    if compact:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(value, ensure_ascii=False, indent=2)


def main(argv: list[str]) -> int:
    raw = compact = False
    args = list(argv)
    while args and args[0].startswith("-") and len(args[0]) > 1:
        flags = args.pop(0)[1:]
        if not set(flags) <= set("rcM"):
            print(f"jq (readme stand-in): unsupported option -{flags}", file=sys.stderr)
            return 2
        raw, compact = raw or "r" in flags, compact or "c" in flags
    if len(args) not in (1, 2):
        print("jq (readme stand-in): usage: jq [-r] [-c] FILTER [FILE]", file=sys.stderr)
        return 2
    try:
        apply = parse_filter(args[0])
    except ValueError:
        print(f"jq (readme stand-in): unsupported filter {args[0]!r}", file=sys.stderr)
        return 2
    if len(args) == 2:
        with open(args[1], encoding="utf-8") as handle:
            text = handle.read()
    else:
        text = sys.stdin.read()
    try:
        for value in _values(text):
            print(render(apply(value), raw, compact))
    except json.JSONDecodeError as exc:
        print(f"jq: error (at <stdin>): {exc}", file=sys.stderr)
        return 2
    except JqError as exc:
        print(f"jq: error (at <stdin>): {exc}", file=sys.stderr)
        return 5
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
