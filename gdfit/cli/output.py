"""Where results go: stdout or an atomically written ``--output`` file; batch results.

Results are the only thing gdfit writes to stdout. When the reader of a pipe goes away
(``gdfit ... | head -1``) the command stops quietly; with ``--output`` the file appears only
once it is complete.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from gdfit.ascii import ascii_only
from gdfit.atomic import atomic_write, check_writable
from gdfit.batch import BatchRow, flat_columns, flat_row, row_dict, rows_csv
from gdfit.cli.common import OutputFormat, note, out, quiet_broken_pipe
from gdfit.errors import OptionError
from gdfit.io import Dataset
from gdfit.model import FitSettings, TrainingData, save_model
from gdfit.result import FitResult
from gdfit.steps import StepPolicy
from gdfit.stopping import StopReason

_MAX_WIDTH = 400


def check_targets(*, save: str | None = None, output: str | None = None,
                  force: bool = False, quiet: bool = False, verbose: bool = False,
                  batch: bool = False) -> None:
    """Refuse contradictory output options, and files that exist without ``--force``, before
    any work is done."""
    if quiet and verbose:
        raise OptionError("--quiet and --verbose contradict each other; give one of them")
    if save is not None and batch:
        raise OptionError("--save writes one model; it cannot be used with --each-file or "
                          "--group-by")
    if save == "-":
        raise OptionError("--save needs a file name")
    if output == "-":
        output = None
    if save is not None and output is not None and os.path.abspath(save) == os.path.abspath(
            output):
        raise OptionError("--save and --output name the same file")
    for path in (save, output):
        if path is not None:
            check_writable(path, force=force)


def save_fit_model(result: FitResult, data: Dataset, inputs: Sequence[str],
                   policy: StepPolicy, path: str, *, force: bool, quiet: bool,
                   stopping: dict[str, Any]) -> None:
    """Save the fit as a model file, unless it was interrupted or diverged (then say so)."""
    if result.stop_reason in (StopReason.interrupted, StopReason.diverged):
        if not quiet:
            why = "was interrupted" if result.stop_reason is StopReason.interrupted \
                else "diverged"
            note(f"gdfit: the fit {why}; no model was saved to {path}")
        return
    save_model(
        result, path, force=force,
        settings=FitSettings.from_policy(policy, **stopping),
        data=TrainingData.from_arrays(
            data.X, data.y, sources=["<stdin>" if p == "-" else p for p in inputs],
            columns=data.columns or (*data.features, data.target),
            dropped_rows=len(data.dropped_rows)),
    )
    if not quiet:
        note(f"gdfit: saved the model to {path}")


@contextmanager
def result_stream(output: str | None, force: bool = False) -> Iterator[TextIO]:
    """Standard output, or `output` written atomically (``-`` means standard output).

    A closed pipe on standard output ends the command quietly (see
    :func:`~gdfit.cli.common.quiet_broken_pipe`) instead of raising.
    """
    if output is None or output == "-":
        try:
            yield sys.stdout
            sys.stdout.flush()
        except BrokenPipeError:
            quiet_broken_pipe()
    else:
        with atomic_write(output, force=force) as fh:
            yield fh


def print_renderable(stream: TextIO, renderable: RenderableType, *, fit_width: bool = False
                     ) -> None:
    """Print a Rich renderable: in colour on a terminal, as plain text anywhere else.

    With `fit_width`, text that does not go to a terminal is laid out as wide as the
    renderable needs (up to 400 columns) instead of being wrapped at 80.
    """
    if stream is sys.stdout and out.is_terminal:
        out.print(renderable)
        return
    console = Console(file=stream, color_system=None, force_terminal=False,
                      width=_MAX_WIDTH if fit_width else 80, highlight=False)
    if fit_width:
        width = console.measure(renderable).maximum
        console = Console(file=stream, color_system=None, force_terminal=False,
                          width=max(80, min(width, _MAX_WIDTH)), highlight=False)
    console.print(renderable)


def write_batch(rows: Iterable[BatchRow], fmt: OutputFormat, stream: TextIO, *,
                quiet: bool = False, verbose: bool = False) -> list[BatchRow]:
    """Write batch results as they come (``jsonl``: one object per fit, flushed at once) or
    all at the end (table, CSV, one JSON array); return the rows.

    Errors are also noted on stderr (unless `quiet`); with `verbose` every fit is.
    """
    done: list[BatchRow] = []
    for row in rows:
        done.append(row)
        if fmt is OutputFormat.jsonl:
            stream.write(json.dumps(row_dict(row), ensure_ascii=ascii_only(stream),
                                    allow_nan=False) + "\n")
            stream.flush()
        if row.result is None and not quiet:
            note(f"gdfit: {_label(row)}: error: {row.message}")
        elif verbose and row.result is not None:
            its = row.result.iterations
            note(f"gdfit: {_label(row)}: {row.status} after {its} "
                 f"iteration{'s' if its != 1 else ''}")
    if fmt is OutputFormat.json:
        stream.write(json.dumps([row_dict(r) for r in done], ensure_ascii=ascii_only(stream),
                                allow_nan=False, indent=2) + "\n")
    elif fmt is OutputFormat.csv:
        stream.write(rows_csv(done))
    elif fmt is OutputFormat.table:
        print_renderable(stream, batch_table(done), fit_width=True)
    return done


def _label(row: BatchRow) -> str:
    group = ", ".join(f"{k}={v}" for k, v in row.group)
    return f"{row.source} [{group}]" if group else row.source


_TABLE_FIELDS = ("status", "n_obs", "r2", "rmse", "iterations")
_STATUS_STYLE = {"converged": "green", "error": "bold red", "diverged": "bold red",
                 "max_iter": "yellow", "line_search_failed": "yellow", "interrupted": "yellow"}


def batch_table(rows: Sequence[BatchRow]) -> RenderableType:
    """One line per fit: where from, the status, n, R², RMSE, iterations, w…, b, message."""
    columns = flat_columns(rows)
    sources = {r.source for r in rows}
    shown = [c for c in columns if c not in ("target", "message", *_CSV_ONLY)
             and (c != "source" or len(sources) > 1 or not any(r.group for r in rows))]
    front = [c for c in shown if c not in _TABLE_FIELDS and not c.startswith("w_")
             and c != "b"]
    order = front + list(_TABLE_FIELDS) + [c for c in shown if c.startswith("w_")] + (
        ["b"] if "b" in shown else [])
    if any(r.status != "converged" for r in rows):
        order.append("message")
    targets = sorted({r.result.target for r in rows if r.result is not None})
    table = Table(title=Text(f"{' / '.join(targets) or 'fits'}: {len(rows)} fits"),
                  title_justify="left")
    for col in order:
        numeric = col not in front and col not in ("status", "message")
        table.add_column(col, justify="right" if numeric else "left",
                         overflow="fold" if col == "message" else "ellipsis")
    for row in rows:
        cells = flat_row(row)
        texts = []
        for col in order:
            value = cells.get(col)
            if col == "message" and row.status == "converged":
                texts.append(Text(""))
            elif col == "status":
                texts.append(Text(str(value), style=_STATUS_STYLE.get(str(value), "")))
            else:
                texts.append(Text(_cell(value)))
        table.add_row(*texts)
    return table


_CSV_ONLY = ("converged", "stop_reason", "grad_norm", "elapsed_s", "lstsq_rel_distance", "loss")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def json_line(data: Any) -> str:
    """One compact JSON line."""
    return json.dumps(data, ensure_ascii=ascii_only(), allow_nan=False) + "\n"
