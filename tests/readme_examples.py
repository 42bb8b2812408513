"""README.md's examples: found, run and compared with the text, so that the manual cannot drift.

``tests/test_readme.py`` makes one test of every example block; this module finds them, runs
them and compares, and is also the maintainer's tool (see *Maintenance* below).

How an example is written
-------------------------
* **Console example**: a fenced block (info string empty, ``console``, ``bash``, ``sh`` or
  ``shell``) with lines starting ``$ ``. Each ``$ `` line is a command (a line ending in ``\\``
  continues on the next) and the lines below it, up to the next ``$ `` line, are its exact
  output: stdout and stderr together, as a terminal shows them.
* **Command-only example**: a ``bash``/``sh``/``shell`` block, or a plain block with a line
  starting ``gdfit ``, without ``$ `` lines. Every line that is neither blank nor a ``#``
  comment is a command; only its exit status is checked.
* **Python example**: a ``python`` block. With ``>>>`` prompts it is a doctest-style session,
  run in a fresh interpreter: what each statement prints (and the repr of an expression, a
  warning as one line ``Category: message`` — those Python shows by default, so not
  ``DeprecationWarning`` or ``ResourceWarning`` —, and an exception as doctest shows it) is
  compared with the lines below it; a blank line of output is written ``<BLANKLINE>``, as in
  doctest. Without prompts the block is executed and must not raise. The python blocks of one
  ``##`` section are cells of one notebook: each runs after the ones before it, in the same
  interpreter (their output is compared in their own test).
* Anything else is not run: ``text`` blocks (synopses, measurements, output shown on its own)
  and plain blocks without commands. An example that cannot run in a test (Ctrl-C, a cluster,
  an installation) is preceded by a line ``<!-- not run: REASON -->``.

Exit status: a command must exit 0, unless its line has a comment ``# exit N`` (then it must
exit N) or the next command is ``echo $?``, which prints the status as output. A pipeline's
status is that of its last command, as in bash without ``pipefail`` (``${PIPESTATUS[0]}`` shows
gdfit's own).

Where it runs
-------------
Each block is one ``bash`` session (so ``echo $?``, ``${PIPESTATUS[0]}`` and a file one command
writes for the next all work), in a fresh temporary folder laid out like the project root: a
copy of ``sample_data/`` and a link to ``benchmarks/``. Commands are run from there, so every
example is written from the project root (``gdfit fit sample_data/housing.csv``) and may write
files. Standard input is empty. The environment is clean: no ``GDFIT_*`` variable,
``NO_COLOR=1``, ``COLUMNS=100``, ``LINES=40``, ``TERM=dumb``, ``LC_ALL=C.UTF-8``,
``PYTHONUNBUFFERED=1`` (stdout and stderr then interleave in the order written, as on a
terminal), and ``PATH`` led by a folder with the ``gdfit`` installed beside this Python,
``python``/``python3`` (this interpreter) and — only when the machine has no ``jq`` — ``jq``,
the stand-in ``tests/readme_jq.py``, which knows the README's filters (paths such as ``.w`` and
``{engine, n_obs}``, with ``-r`` and ``-c``). Before the first block, matplotlib's font cache
is built (when matplotlib is installed), so that its one-time notice stays out of the output.
Blocks run several at a time (``JOBS``), each in its own folder.

Comparison
----------
Lines are compared right-stripped, without trailing blank lines, after masking on both sides
what changes from run to run: durations (``0.158 ms``, ``822 ms``, ``1.2 s``), ``elapsed_s`` in
JSON and in CSV (by its header), versions (``gdfit 0.1.0``, ``"gdfit_version"``), ISO
timestamps and the temporary folder's path. Numbers are compared as numbers: they agree when
equal to a relative 1e-6 (``RELATIVE``), or when both are below 1e-8 (``ROUNDING``: gradient
norms at convergence, distances to the exact solution), since their last digits depend on the
machine's SIMD width and BLAS kernels (the same wheel of numpy sums in another order on a CPU
with AVX-512); where a line's numbers change width, runs of blanks and of rule characters count
as one. A block whose figures are machine-dependent beyond that (digits of accuracy of
``numpy.linalg.lstsq``, iteration counts of a policy whose last steps are taken in rounding
noise) says so before its fence, ``<!-- numbers within 1: why -->`` or ``<!-- numbers within
10%: why -->``, and its numbers may then differ by that much. In a text plot a run of glyphs
(block elements, braille) counts as one mark: the axes, labels and legend are compared, not
the cells a curve crosses. Everything else is compared exactly. A line that is only ``...``
or ``…`` stands for any number of lines. Since a masked value can also move where a line of
the result wraps, a continuation line (indented by 12 spaces or more, outside box-drawn tables)
is compared joined to the line before it.

Maintenance
-----------
::

    python tests/readme_examples.py              # run every example, show the ones that differ
    python tests/readme_examples.py --update     # rewrite the README's outputs from actual runs
    python tests/readme_examples.py --list       # every example, and the blocks not run, with why
    python tests/readme_examples.py 312 925      # only the blocks around these README lines

``--update`` rewrites only outputs that differ. Within them it keeps every README line that
still matches (so masked values such as timings do not churn) and every ``...`` elision with
as many lines around it as before, and it prints a diff of each change for review. It never
changes commands or ``# exit N`` comments: a different exit status is reported, not blessed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import csv
import dataclasses
import difflib
import doctest
import functools
import importlib.util
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
JQ_STAND_IN = Path(__file__).resolve().parent / "readme_jq.py"
TIMEOUT_S = 600
JOBS = min(4, os.cpu_count() or 1)  # example blocks run at a time
ELISIONS = frozenset({"...", "…"})
SHELL_INFOS = frozenset({"bash", "sh", "shell"})
CONSOLE_INFOS = frozenset({"", "console", *SHELL_INFOS})
ENVIRONMENT = {"NO_COLOR": "1", "COLUMNS": "100", "LINES": "40", "TERM": "dumb",
               "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "1"}

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_NOT_RUN = re.compile(r"^\s*<!--\s*not run:\s*(?P<reason>.*?)\s*-->\s*$")
_WITHIN = re.compile(r"^\s*<!--\s*numbers within\s+(?P<within>[0-9.eE+-]+%?)\s*:\s*"
                     r"(?P<reason>.*?)\s*-->\s*$")
_EXIT = re.compile(r"(?:^|\s)#[^\n]*?\bexit\s+(\d+)\b")
_ECHO_STATUS = re.compile(r'^echo\s+"?\$\?"?(?:\s|;|$)')
_MARK = re.compile(r"\x1e(\d+) (\d+)\x1e")
#: Warnings that Python's default filters do not show a notebook user either.
_UNSHOWN_WARNINGS = (ResourceWarning, DeprecationWarning, PendingDeprecationWarning,
                     ImportWarning)


# --- the README's blocks -------------------------------------------------------------------

@dataclass(frozen=True)
class Command:
    """One command of an example and what the README says it prints and returns."""

    line: int  # README line of the command (1-based)
    text: str  # as bash runs it (continuation lines joined)
    expected: tuple[str, ...]  # the README's output lines, without the block's indent
    span: tuple[int, int]  # README lines [start, end) (0-based) holding that output
    status: int | None  # the exit status it must have; None: the next command prints it
    compared: bool = True  # False for command-only blocks: only the status counts
    #: <!-- numbers within W: why --> (W or W%): numbers may differ by up to W (or W percent)
    within: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Block:
    """A fenced block of the README."""

    line: int  # README line of the opening fence (1-based)
    info: str
    indent: str
    body: tuple[str, ...]
    kind: str  # "console", "commands", "python" or "text" (not run)
    commands: tuple[Command, ...] = ()
    not_run: str | None = None  # the reason given in <!-- not run: ... -->
    problems: tuple[str, ...] = ()  # how the block breaks the rules above
    #: python blocks: the blocks before this one in its ## section (line, body), run first
    session: tuple[tuple[int, tuple[str, ...]], ...] = ()

    @property
    def name(self) -> str:
        """``L312 gdfit fit sample_data/housing.csv ...``: the README line and first command."""
        first = self.commands[0].text if self.commands else (self.body[0] if self.body else "")
        first = first.splitlines()[0] if first else ""
        return f"L{self.line} {first[:70]}".rstrip()


def _status(text: str, following: str | None) -> int | None:
    if following is not None and _ECHO_STATUS.match(following):
        return None
    found = _EXIT.search(text)
    return int(found.group(1)) if found else 0


def _console(body: Sequence[str], first_line: int) -> tuple[list[Command], list[str]]:
    """The commands of a console block whose body starts at README index `first_line`."""
    starts = [i for i, line in enumerate(body) if line.startswith("$ ") or line == "$"]
    problems = [f"line {first_line + 1}: output before the first '$ ' command"] \
        if starts and starts[0] != 0 and any(line.strip() for line in body[:starts[0]]) else []
    raw: list[tuple[int, str, int, int]] = []  # (index, text, output start, output end)
    for k, start in enumerate(starts):
        text, i = body[start][2:], start
        while text.endswith("\\") and i + 1 < len(body):
            i += 1
            text += "\n" + body[i]
        end = starts[k + 1] if k + 1 < len(starts) else len(body)
        raw.append((start, text, i + 1, end))
    commands = []
    for k, (start, text, out_start, out_end) in enumerate(raw):
        for i in range(out_start + 1, out_end):
            if body[i - 1].strip() in ELISIONS and body[i].startswith(_WRAP_INDENT):
                problems.append(f"line {first_line + i + 1}: a wrapped line's continuation "
                                "right after an elision; show the line it continues")
        following = raw[k + 1][1] if k + 1 < len(raw) else None
        commands.append(Command(line=first_line + start + 1, text=text,
                                expected=tuple(body[out_start:out_end]),
                                span=(first_line + out_start, first_line + out_end),
                                status=_status(text, following)))
    return commands, problems


def _commands_only(body: Sequence[str], first_line: int) -> list[Command]:
    commands, i = [], 0
    while i < len(body):
        text, start = body[i], i
        while text.endswith("\\") and i + 1 < len(body):
            i += 1
            text += "\n" + body[i]
        i += 1
        if text.strip() and not text.lstrip().startswith("#"):
            commands.append(Command(line=first_line + start + 1, text=text, expected=(),
                                    span=(first_line + i, first_line + i),
                                    status=_status(text, None), compared=False))
    return commands


def parse(text: str) -> list[Block]:
    """Every fenced block of a Markdown text, classified by the rules in the module docstring."""
    lines = text.split("\n")
    blocks: list[Block] = []
    session: list[tuple[int, tuple[str, ...]]] = []  # python blocks of the section so far
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if not opening:
            if lines[i].startswith("## "):
                session = []
            i += 1
            continue
        indent, fence = opening.group("indent"), opening.group("fence")
        info = opening.group("info").strip().split(" ")[0].lower()
        end = i + 1
        closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = tuple(line[len(indent):] if line.startswith(indent) else line.lstrip()
                     for line in lines[i + 1:end])
        before = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = _NOT_RUN.match(before)
        block = _classify(i + 1, info, indent, body, marker.group("reason") if marker else None)
        tolerance = _WITHIN.match(before)
        if tolerance:
            text = tolerance.group("within")
            within = ((0.0, float(text[:-1]) / 100) if text.endswith("%")
                      else (float(text), 0.0))
            block = dataclasses.replace(block, commands=tuple(
                dataclasses.replace(c, within=within) for c in block.commands))
        if block.kind == "python" and block.not_run is None:
            block = dataclasses.replace(block, session=tuple(session))
            session.append((block.line, body))
        blocks.append(block)
        i = end + 1
    return blocks


def _classify(line: int, info: str, indent: str, body: tuple[str, ...],
              not_run: str | None) -> Block:
    problems: list[str] = []
    if not_run is not None and not not_run:
        problems.append(f"line {line - 1}: '<!-- not run: -->' without a reason")
    prompts = any(b.startswith("$ ") or b == "$" for b in body)
    if info == "python":
        kind = "python"
        commands: list[Command] = []
    elif info in CONSOLE_INFOS and prompts:
        kind = "console"
        commands, problems_here = _console(body, line)
        problems += problems_here
    elif info in SHELL_INFOS or (info == "" and any(b.startswith("gdfit ") for b in body)):
        kind = "commands"
        commands = _commands_only(body, line)
    else:
        kind, commands = "text", []
        if not_run is None and info in CONSOLE_INFOS and any(
                re.search(r"(^|\$ )gdfit ", b) for b in body):
            problems.append(f"line {line}: a gdfit command in a block that is not run; "
                            "write '$ ' before it, or mark the block <!-- not run: why -->")
    return Block(line=line, info=info, indent=indent, body=body, kind=kind,
                 commands=tuple(commands), not_run=not_run, problems=tuple(problems))


def examples(text: str | None = None) -> list[Block]:
    """The README's blocks that run (not the text blocks, not those marked not run)."""
    blocks = parse(README.read_text(encoding="utf-8") if text is None else text)
    return [b for b in blocks if b.kind != "text" and b.not_run is None]


# --- masking and matching --------------------------------------------------------------------

_MASKS = [
    (re.compile(r"(?<![\w.^])\d+(?:\.\d+)?(?:e[+-]?\d+)? ?(?:ns|µs|us|ms|s)(?![\w/])"), "<time>"),
    (re.compile(r'("elapsed_s"\s*:\s*)(?:-?[\d.]+(?:[eE][+-]?\d+)?|null)'), r"\1<time>"),
    (re.compile(r'("gdfit_version"\s*:\s*)"[^"]*"'), r'\1"<version>"'),
    (re.compile(r"\bgdfit \d+\.\d+[\w.+-]*"), "gdfit <version>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"), "<timestamp>"),
]
_WRAP_INDENT = " " * 12
_BOX = frozenset("│┃║┆┊┏┓┗┛┡┩┣┫┠┨╇╈╋┳┻━─═┬┴┼├┤└┘┌┐╭╮╰╯")


def _mask_csv(lines: list[str]) -> list[str]:
    """Mask the ``elapsed_s`` field of CSV rows below a header that has one."""
    out, column, width = [], -1, 0
    for line in lines:
        try:
            fields = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            fields = []
        if "elapsed_s" in fields:
            column, width = fields.index("elapsed_s"), len(fields)
        elif column >= 0 and len(fields) == width:
            fields[column] = "<time>"
            line = ",".join(fields)
        else:
            column = -1
        out.append(line)
    return out


def _normalise_tables(lines: list[str]) -> list[str]:
    """In a run of box-drawn lines holding a masked field, count runs of blanks/rules as one."""
    out = list(lines)
    i = 0
    while i < len(out):
        if not _BOX & set(out[i]):
            i += 1
            continue
        j = i
        while j < len(out) and _BOX & set(out[j]):
            j += 1
        if any("<" in line and ">" in line for line in out[i:j]):
            for k in range(i, j):
                out[k] = re.sub(r"([─━═])\1+", r"\1", re.sub(r" +", " ", out[k])).strip()
        i = j
    return out


def _prepared(lines: Sequence[str], tmp: str | None = None) -> list[str]:
    """Each line as it is compared: masked and right-stripped (as many lines as given)."""
    out = []
    for line in lines:
        if tmp:
            line = line.replace(tmp, "<tmp>")
        for pattern, replacement in _MASKS:
            line = pattern.sub(replacement, line)
        out.append(line.rstrip())
    return _normalise_tables(_mask_csv(out))


def _join_wrapped(lines: list[str]) -> list[str]:
    """Continuation lines (indented by 12 spaces or more, below a line of text that is not part
    of a box-drawn table) joined to the line before: a masked value can move the wrap."""
    out: list[str] = []
    for line in lines:
        if (out and line.startswith(_WRAP_INDENT) and line.strip() and out[-1].strip()
                and out[-1].strip() not in ELISIONS and not _BOX & set(out[-1] + line)):
            out[-1] = f"{out[-1]} {line.strip()}"
        else:
            out.append(line)
    return out


def prepare(lines: Sequence[str], tmp: str | None = None) -> list[str]:
    """Lines as they are compared: masked, right-stripped, wrapped lines joined, without
    trailing blank lines."""
    out = _join_wrapped(_prepared(lines, tmp))
    while out and not out[-1]:
        out.pop()
    return out


# A number as printed: 12, -3.5, 1.2e-15, .5 (not a digit inside a name such as x0 or w[x^2]).
_NUMBER = re.compile(r"(?<![\w.^])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])")
_RULES = re.compile(r"([─━═])\1+")
#: Two printed numbers agree when they differ by no more than this, relatively: the last
#: digits of a sum depend on the machine's SIMD width and BLAS kernels, not on gdfit.
RELATIVE = 1e-6
#: Numbers at rounding level (gradient norms at convergence, distances to the exact solution)
#: agree when both are below this: their digits are rounding noise, their size is the claim.
ROUNDING = 1e-8


# The glyphs of a text plot (block elements, braille): where a curve crosses from one cell to
# the next depends on its values' last digits.
_GLYPHS = re.compile(r"[\u2580-\u259f\u2800-\u28ff][\u2580-\u259f\u2800-\u28ff ]*")


def _skeleton(line: str) -> str:
    """A line without its numbers, blank and rule runs counted as one (widths follow digits),
    and a run of plot glyphs (with the blanks among them) as one mark."""
    line = _GLYPHS.sub("▒ ", _NUMBER.sub("#", line))
    return _RULES.sub(r"\1", re.sub(r" +", " ", line)).strip()


def same_line(expected: str, actual: str, within: tuple[float, float] = (0.0, 0.0)) -> bool:
    """Whether a prepared README line says what a prepared output line says: the same text,
    and numbers equal, within `RELATIVE`, both below `ROUNDING`, or within `within`
    (absolute, relative)."""
    if expected == actual:
        return True
    if _skeleton(expected) != _skeleton(actual):
        return False
    numbers = _NUMBER.findall(_GLYPHS.sub(" ", expected)), _NUMBER.findall(_GLYPHS.sub(" ", actual))
    for a, b in zip(*numbers, strict=True):
        if a == b:
            continue
        x, y = float(a), float(b)
        if not (math.isclose(x, y, rel_tol=max(RELATIVE, within[1]), abs_tol=within[0])
                or max(abs(x), abs(y)) < ROUNDING):
            return False
    return True


class _Comparable(str):
    """A prepared line that compares by :func:`same_line` (for difflib's matchers)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and same_line(str(self), str(other))

    def __hash__(self) -> int:
        return hash(_skeleton(self))


def matches(expected: Sequence[str], actual: Sequence[str],
            within: tuple[float, float] = (0.0, 0.0)) -> bool:
    """Prepared README lines against prepared output; an elision line matches any lines."""
    memo: dict[tuple[int, int], bool] = {}

    def at(i: int, j: int) -> bool:
        if (i, j) not in memo:
            if i == len(expected):
                memo[i, j] = j == len(actual)
            elif expected[i].strip() in ELISIONS:
                memo[i, j] = any(at(i + 1, k) for k in range(j, len(actual) + 1))
            else:
                memo[i, j] = (j < len(actual) and same_line(expected[i], actual[j], within)
                              and at(i + 1, j + 1))
        return memo[i, j]

    return at(0, 0)


# --- running ---------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What one command printed and returned."""

    command: Command
    output: list[str]
    status: int | None

    def problems(self, tmp: str | None = None) -> list[str]:
        """Why this command does not do what the README says (nothing when it does)."""
        found = []
        if self.status is None:
            found.append(f"README line {self.command.line}: `{self.command.text}` did not "
                         "finish (the block stopped or timed out before it)")
            return found
        if self.command.status is not None and self.status != self.command.status:
            found.append(f"README line {self.command.line}: `{self.command.text}` exited "
                         f"{self.status}, the README says {self.command.status}"
                         + ("" if self.command.status else " (say '# exit N' or "
                            "'$ echo $?' when that is meant)")
                         + ("\n    its output:\n" + "\n".join("    " + x for x in self.output)
                            if not self.command.compared or not self.output else ""))
        if self.command.compared and not matches(prepare(self.command.expected),
                                                 prepare(self.output, tmp),
                                                 self.command.within):
            diff = difflib.unified_diff(list(self.command.expected), self.output,
                                        f"README.md line {self.command.span[0] + 1}",
                                        "actual output", lineterm="", n=2)
            found.append(f"README line {self.command.line}: the output of "
                         f"`{self.command.text}` differs:\n" + "\n".join(diff))
        return found


@dataclass
class Run:
    """A block's run: an outcome per command (or per ``>>>`` statement)."""

    block: Block
    outcomes: list[Outcome] = field(default_factory=list)
    tmp: str | None = None
    stray: str = ""  # output after the last command, or from a block that broke off
    seconds: float = 0.0  # wall-clock time of the run

    def problems(self) -> list[str]:
        found = [p for o in self.outcomes for p in o.problems(self.tmp)]
        if self.stray.strip():
            found.append(f"{self.block.name}: unexpected output:\n{self.stray}")
        return found


def _script(path: Path, *command: str) -> None:
    """An executable shell script that runs `command` with the script's arguments."""
    quoted = " ".join("'" + part.replace("'", "'\\''") + "'" for part in command)
    path.write_text(f'#!/bin/sh\nexec {quoted} "$@"\n', encoding="utf-8")
    path.chmod(0o755)


def _bin_folder(folder: Path) -> Path:
    """``gdfit``, ``python``, ``python3`` (and, without a real jq, the stand-in) for PATH.

    ``python`` runs this interpreter by its own path (a symbolic link would lose its virtual
    environment), and ``gdfit`` is the command installed beside it.
    """
    folder.mkdir(parents=True, exist_ok=True)
    here = Path(sys.executable).parent
    gdfit = shutil.which("gdfit", path=str(here)) or shutil.which("gdfit")
    if gdfit is None:
        raise RuntimeError("no gdfit command beside this Python or on PATH: pip install -e .")
    _script(folder / "gdfit", gdfit)
    for name in ("python", "python3"):
        _script(folder / name, sys.executable)
    if shutil.which("jq") is None:
        _script(folder / "jq", sys.executable, str(JQ_STAND_IN))
    return folder


def environment(bin_folder: Path) -> dict[str, str]:
    """The clean environment the examples run in."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GDFIT_", "COLUMNS", "LINES", "BASH_ENV", "ENV", "PYTHON"))
           and k not in ("NO_COLOR", "FORCE_COLOR", "TERM", "CLICOLOR", "CLICOLOR_FORCE")}
    env.update(ENVIRONMENT)
    env["PATH"] = f"{bin_folder}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    return env


@contextlib.contextmanager
def workspace() -> Iterator[Path]:
    """A temporary folder laid out like the project root, with a copy of the sample data."""
    with tempfile.TemporaryDirectory(prefix="gdfit-readme-") as name:
        root = Path(name)
        shutil.copytree(ROOT / "sample_data", root / "sample_data",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (root / "benchmarks").symlink_to(ROOT / "benchmarks", target_is_directory=True)
        yield root


@functools.cache
def _warm_up(env_items: tuple[tuple[str, str], ...]) -> None:
    """Build matplotlib's font cache once, so that its one-time notice ("Matplotlib is building
    the font cache") does not land in the output of the first example that draws a plot."""
    if importlib.util.find_spec("matplotlib") is not None:
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"],
                       env=dict(env_items), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def run_shell(block: Block, root: Path) -> Run:
    """Run a console or command-only block as one bash session in `root`."""
    lines = ["__readme_status() { return $1; }"]
    for k, command in enumerate(block.commands):
        lines += [command.text,
                  f"__readme_rc=$?; printf '\\036{k} %s\\036' \"$__readme_rc\"; "
                  "__readme_status $__readme_rc"]
    script = root / ".readme-example.sh"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = environment(_bin_folder(root / ".readme-bin"))
    _warm_up(tuple(sorted((k, v) for k, v in env.items() if k != "PATH")))
    try:
        done = subprocess.run(["bash", "--noprofile", "--norc", str(script)], cwd=root, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=TIMEOUT_S)
        text = done.stdout.decode("utf-8", errors="replace")
    except subprocess.TimeoutExpired as exc:
        text = (exc.stdout or b"").decode("utf-8", errors="replace")
        text += f"\n[timed out after {TIMEOUT_S} s]"
    run = Run(block, tmp=str(root))
    pos, statuses = 0, {}
    outputs: dict[int, str] = {}
    for mark in _MARK.finditer(text):
        k = int(mark.group(1))
        outputs[k], statuses[k] = text[pos:mark.start()], int(mark.group(2))
        pos = mark.end()
    run.stray = text[pos:]
    for k, command in enumerate(block.commands):
        run.outcomes.append(Outcome(command, outputs.get(k, "").split("\n")
                                    if k in outputs else [], statuses.get(k)))
    return run


def run_python(block: Block, root: Path) -> Run:
    """Run a python block in a fresh interpreter in `root` (as a new notebook would): a ``>>>``
    session, statement by statement, or a script."""
    run = Run(block, tmp=str(root))
    source = "\n".join(block.body) + "\n"
    parsed = doctest.DocTestParser().get_examples(source)
    commands = []
    for example in parsed:
        line = block.line + 1 + example.lineno
        want = example.want.split("\n")[:-1]
        start = block.line + example.lineno + example.source.count("\n")
        commands.append(Command(line=line, text=example.source.rstrip("\n"),
                                expected=tuple(want), span=(start, start + len(want)),
                                status=0))
    request, reply = root / ".readme-session.json", root / ".readme-shown.json"
    request.write_text(json.dumps({
        "session": [["\n".join(body) + "\n", line + 1] for line, body in block.session],
        "script": None if parsed else [source, block.line + 1],
        "statements": [[c.text + "\n", c.line] for c in commands]}), encoding="utf-8")
    env = environment(_bin_folder(root / ".readme-bin"))
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import readme_examples; "
            "readme_examples.serve(sys.argv[2], sys.argv[3])")
    try:
        done = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent),
                               str(request), str(reply)], cwd=root, env=env,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=TIMEOUT_S)
        run.stray = done.stdout.decode("utf-8", errors="replace")
    except subprocess.TimeoutExpired:
        run.stray = f"[timed out after {TIMEOUT_S} s]"
    shown = json.loads(reply.read_text(encoding="utf-8")) if reply.exists() else None
    if shown is None:
        run.stray = run.stray or "the Python session did not report"
        return run
    run.stray += shown["script"]
    for k, command in enumerate(commands):
        run.outcomes.append(Outcome(command, shown["statements"][k], 0)
                            if k < len(shown["statements"]) else Outcome(command, [], None))
    return run


def serve(request_path: str, reply_path: str) -> None:
    """The Python side of `run_python`: run the statements (or the script) of a request."""
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": "__readme__"}
    reply: dict[str, object] = {"script": "", "statements": []}
    for source, line in request["session"]:  # the section's earlier blocks: their state only
        examples = doctest.DocTestParser().get_examples(source)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                for example in examples or [doctest.Example(source, "", lineno=0)]:
                    mode = "single" if examples else "exec"
                    exec(compile(example.source, f"README.md:{line + example.lineno}", mode),
                         namespace)
            except Exception:
                reply["script"] = (f"the python block at README line {line - 1}, run first "
                                   f"(same section), failed:\n{traceback.format_exc()}")
    if request["script"] is not None:
        source, line = request["script"]
        buffer = io.StringIO()
        try:
            with contextlib.redirect_stdout(buffer):
                exec(compile(source, f"README.md:{line}", "exec"), namespace)
        except Exception:
            reply["script"] = buffer.getvalue() + traceback.format_exc()
    reply["statements"] = [_statement(source, line, namespace)
                           for source, line in request["statements"]]
    Path(reply_path).write_text(json.dumps(reply), encoding="utf-8")


def _statement(source: str, line: int, namespace: dict[str, object]) -> list[str]:
    """What one ``>>>`` statement shows: its printed output, repr, warnings or exception."""
    buffer = io.StringIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with contextlib.redirect_stdout(buffer):
                exec(compile(source, f"README.md:{line}", "single"), namespace)
        except Exception as exc:
            buffer.write("Traceback (most recent call last):\n  ...\n"
                         + "".join(traceback.format_exception_only(type(exc), exc)))
    shown = [f"{w.category.__name__}: {w.message}" for w in caught
             if not issubclass(w.category, _UNSHOWN_WARNINGS)]
    printed = buffer.getvalue().removesuffix("\n")
    lines = printed.split("\n") if printed else []
    return [*shown, *(line if line.strip() else "<BLANKLINE>" for line in lines)]


def run_block(block: Block) -> Run:
    """Run one example block in a fresh workspace."""
    start = time.perf_counter()
    with workspace() as root:
        run = run_python(block, root) if block.kind == "python" else run_shell(block, root)
    run.seconds = time.perf_counter() - start
    return run


def run_blocks(blocks: Sequence[Block], jobs: int = JOBS) -> dict[int, Run]:
    """Run blocks `jobs` at a time, each in its own workspace and processes: README line of
    each block → its run."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(zip((b.line for b in blocks), pool.map(run_block, blocks), strict=True))


# --- rewriting the README from actual runs ---------------------------------------------------

def rewrite(expected: Sequence[str], actual: Sequence[str], tmp: str | None = None,
            within: tuple[float, float] = (0.0, 0.0)) -> list[str]:
    """New README lines for an output: the actual lines, keeping README lines that still match
    (masked values stay as written) and each elision with as many lines around it as before."""
    actual = list(actual)
    while actual and not actual[-1].rstrip():
        actual.pop()
    if matches(prepare(expected), prepare(actual, tmp), within):
        return list(expected)
    trailing: list[str] = []
    body = list(expected)
    while body and not body[-1].strip():
        trailing.insert(0, body.pop())
    pieces: list[list[str]] = [[]]
    gaps: list[str] = []
    for line in body:
        if line.strip() in ELISIONS:
            gaps.append(line)
            pieces.append([])
        else:
            pieces[-1].append(line)
    chosen = _place(pieces, actual, tmp) if gaps else [actual]
    if chosen is None:
        chosen, gaps = [actual], []
    out: list[str] = []
    for k, (old, new) in enumerate(zip(pieces if gaps else [body], chosen, strict=True)):
        out += _keep_matching(old, new, tmp)
        if k < len(gaps):
            out.append(gaps[k])
    return out + trailing


def _place(pieces: list[list[str]], actual: list[str], tmp: str | None
           ) -> list[list[str]] | None:
    """The lines of `actual` that each piece between elisions stands for, in order: the first
    piece from the start, the last to the end, each spanning the lines it matches plus as many
    lines around them as it has unmatched ones (None when the last piece has no room left)."""
    prepared = [_Comparable(line) for line in _prepared(actual, tmp)]
    chosen: list[list[str]] = []
    cursor = 0
    for k, piece in enumerate(pieces):
        first, last = k == 0, k == len(pieces) - 1
        if not piece:  # an elision at the start or the end, or two in a row
            chosen.append([])
            cursor = len(actual) if last else cursor
            continue
        want = [_Comparable(line) for line in _prepared(piece)]
        blocks = [b for b in difflib.SequenceMatcher(None, want, prepared[cursor:],
                                                     autojunk=False).get_matching_blocks()
                  if b.size]
        if blocks:
            start = cursor + max(0, blocks[0].b - blocks[0].a)
            tail = blocks[-1]
            end = cursor + tail.b + tail.size + (len(want) - tail.a - tail.size)
        else:
            start, end = cursor, cursor + len(piece)
        start = cursor if first else start
        end = len(actual) if last else min(end, len(actual))
        if last and start >= end:
            return None
        chosen.append(actual[start:end])
        cursor = end
    return chosen


def _keep_matching(old: list[str], new: list[str], tmp: str | None) -> list[str]:
    """`new`, with the lines of `old` that match it after masking kept as they were."""
    a = [_Comparable(line) for line in _prepared(old)]
    b = [_Comparable(line) for line in _prepared(new, tmp)]
    old_lines = [line.rstrip() for line in old]
    out = [line.rstrip() for line in new]
    if tmp:
        out = [line.replace(tmp, "<tmp>") for line in out]
    for tag, i1, i2, j1, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out[j1:j1 + i2 - i1] = old_lines[i1:i2]
    return out


def update(text: str, runs: Sequence[Run]) -> tuple[str, list[str]]:
    """The README text with the outputs of `runs` rewritten, and a report of the changes."""
    lines = text.split("\n")
    report: list[str] = []
    edits = []
    for run in runs:
        for outcome in run.outcomes:
            command = outcome.command
            if not command.compared or outcome.status is None:
                continue
            new = rewrite(command.expected, outcome.output, run.tmp, command.within)
            if new != list(command.expected):
                edits.append((command.span, run.block.indent, new))
                diff = difflib.unified_diff(list(command.expected), new,
                                            f"README.md:{command.span[0] + 1}", "updated",
                                            lineterm="", n=1)
                report.append(f"{run.block.name}: `{command.text}`\n" + "\n".join(diff))
    for (start, end), indent, new in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[start:end] = [indent + line if line else line for line in new]
    return "\n".join(lines), report


# --- the maintainer's command line -----------------------------------------------------------

def _select(blocks: list[Block], wanted: Sequence[int]) -> list[Block]:
    if not wanted:
        return blocks
    ends = [b.line + len(b.body) + 1 for b in blocks]
    return [b for b, end in zip(blocks, ends, strict=True)
            if any(b.line <= w <= end for w in wanted)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run README.md's examples and compare.")
    parser.add_argument("lines", nargs="*", type=int,
                        help="only the blocks that contain these README lines")
    parser.add_argument("--update", action="store_true",
                        help="rewrite the README's outputs that differ from actual runs")
    parser.add_argument("--list", action="store_true", help="list the blocks and stop")
    parser.add_argument("--jobs", type=int, default=JOBS,
                        help=f"blocks run at a time (default {JOBS})")
    options = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    blocks = parse(text)
    if options.list:
        for b in _select(blocks, options.lines):
            state = f"not run: {b.not_run}" if b.not_run is not None else b.kind
            print(f"{b.name:80}  {state}")
        return 0
    selected = _select([b for b in blocks if b.kind != "text" and b.not_run is None],
                       options.lines)
    by_line = run_blocks(selected, options.jobs)
    runs, failed = [by_line[b.line] for b in selected], 0
    for block, run in zip(selected, runs, strict=True):
        problems = [*block.problems, *run.problems()]
        failed += bool(problems)
        print(f"{'FAIL' if problems else 'ok  '} {run.seconds:5.1f} s  {block.name}", flush=True)
        if problems and not options.update:
            print("\n".join(problems) + "\n")
    if options.update:
        new, report = update(text, runs)
        if new != text:
            temporary = README.with_suffix(".md.tmp")
            temporary.write_text(new, encoding="utf-8")
            temporary.replace(README)
        print("\n\n".join(report) if report else "no output to rewrite")
        left = [p for r in runs for o in r.outcomes for p in o.problems(r.tmp)
                if "differs" not in p]
        print(("\nnot rewritten (fix by hand):\n" + "\n".join(left)) if left else "")
        return 1 if left else 0
    print(f"{len(selected) - failed} of {len(selected)} example blocks match README.md "
          f"({sum(r.seconds for r in runs):.0f} s of runs)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
