"""Naming the inputs: paths, ``-`` for standard input, and quoted globs."""

from __future__ import annotations

import glob
import io
import os
import sys
from collections.abc import Sequence
from typing import BinaryIO

from gdfit.errors import DataError, OptionError

STDIN = "-"
_GLOB_CHARS = frozenset("*?[")


def is_glob(pattern: str) -> bool:
    """True when ``pattern`` holds a wildcard (``*``, ``?`` or ``[``) and names no file itself."""
    return bool(_GLOB_CHARS & set(pattern)) and not os.path.exists(pattern)


def expand_inputs(patterns: Sequence[str]) -> list[str]:
    """Expand quoted globs (sorted, like a shell) and keep other paths as they are.

    Raises
    ------
    DataError
        A glob that matches no file.
    OptionError
        ``-`` (standard input) given more than once, or together with other inputs that would
        need it twice.
    """
    paths: list[str] = []
    for pattern in patterns:
        if pattern != STDIN and is_glob(pattern):
            matches = sorted(m for m in glob.glob(pattern, recursive=True)
                             if not os.path.isdir(m))
            if not matches:
                raise DataError(f"{pattern}: no file matches this pattern")
            paths.extend(matches)
        else:
            paths.append(pattern)
    if paths.count(STDIN) > 1:
        raise OptionError("standard input (-) can be read only once")
    return paths


def stdin_is_terminal(stdin: BinaryIO | None = None) -> bool:
    """Whether standard input (or ``stdin``) is a terminal: someone will type the table."""
    stream = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
    try:
        return stream is not None and os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no file descriptor: a pipe-like object
        return False


def standard_input(stdin: BinaryIO | None = None) -> BinaryIO:
    """The stream that ``-`` names: ``stdin``, or ``sys.stdin.buffer``.

    A terminal is read here, once, to its first end of input (one Ctrl-D), and handed on in
    memory: a reader that asks a terminal again after the end would wait for another Ctrl-D.
    """
    stream = stdin if stdin is not None else sys.stdin.buffer
    if not stdin_is_terminal(stream):
        return stream
    return io.BufferedReader(io.BytesIO(stream.read()))
