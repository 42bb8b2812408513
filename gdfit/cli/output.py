"""Where results go: stdout or an atomically written ``--output`` file; batch results.

Every file is written by :mod:`gdfit.atomic` (never over an input, never over an existing file
without ``--force``); :func:`check_targets` applies its rules before any data is read.

Results are the only thing gdfit writes to stdout. When the reader of a pipe goes away
(``gdfit ... | head -1``) the command stops quietly; with ``--output`` the file appears only
once it is complete.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from rich.console import RenderableType
from rich.text import Text

from gdfit.ascii import ascii_only
from gdfit.atomic import atomic_write, check_outputs
from gdfit.batch import BatchRow, flat_columns, flat_row, row_dict, rows_csv
from gdfit.cli.common import OutputFormat, note, print_renderable, quiet_broken_pipe
from gdfit.errors import OptionError
from gdfit.io import Dataset
from gdfit.layout import Column, FittedTable
from gdfit.model import FitSettings, TrainingData, save_model
from gdfit.result import FitResult
from gdfit.steps import StepPolicy
from gdfit.stopping import StopReason


def check_targets(*, inputs: Sequence[str] = (), save: str | None = None,
                  output: str | None = None, trace: str | None = None,
                  plot_file: str | None = None, force: bool = False, quiet: bool = False,
                  verbose: bool = False, batch: bool = False) -> None:
    """Refuse, before any data is read: contradictory output options, an output that names an
    input (``inputs``: the data files, model files, ``-``), two outputs naming one file, and
    existing files without ``--force`` (see :mod:`gdfit.atomic`)."""
    if quiet and verbose:
        raise OptionError("--quiet and --verbose contradict each other; give one of them")
    if save is not None and batch:
        raise OptionError("--save writes one model; it cannot be used with --each-file or "
                          "--group-by")
    for option, path in (("--save", save), ("--trace", trace), ("--plot-file", plot_file)):
        if path == "-":
            raise OptionError(f"{option} needs a file name")
    check_outputs([("--save", save), ("--output", output), ("--trace", trace),
                   ("--plot-file", plot_file)], force=force, inputs=inputs)


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
        result, path, force=force, inputs=inputs,
        settings=FitSettings.from_policy(policy, **stopping),
        data=TrainingData.from_arrays(
            data.X, data.y, sources=["<stdin>" if p == "-" else p for p in inputs],
            columns=data.columns or (*data.features, data.target),
            dropped_rows=len(data.dropped_rows)),
    )
    if not quiet:
        note(f"gdfit: saved the model to {path}")


@contextmanager
def result_stream(output: str | None, force: bool = False, inputs: Sequence[str] = ()
                  ) -> Iterator[TextIO]:
    """Standard output, or `output` written atomically (``-`` means standard output), never
    over one of ``inputs``.

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
        with atomic_write(output, force=force, inputs=inputs) as fh:
            yield fh


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
        print_renderable(stream, batch_table(done))
    return done


def _label(row: BatchRow) -> str:
    group = ", ".join(f"{k}={v}" for k, v in row.group)
    return f"{row.source} [{group}]" if group else row.source


_TABLE_FIELDS = ("status", "n_obs", "r2", "rmse", "iterations")
_STATUS_STYLE = {"converged": "green", "error": "bold red", "diverged": "bold red",
                 "max_iter": "yellow", "line_search_failed": "yellow", "interrupted": "yellow"}
#: When the table is split (a narrow terminal), the keys (source, group columns) repeat, and
#: the status and the coefficients come first; then the message, R² and RMSE, n and iterations.
_PRIORITY = {"n_obs": 3, "iterations": 3, "rmse": 2, "r2": 2, "message": 1}


def batch_table(rows: Sequence[BatchRow]) -> RenderableType:
    """One line per fit: where from (the file, the group keys), the status, n, R², RMSE,
    iterations, w…, b, message; at any width, the keys and numbers never cut (see
    :class:`~gdfit.layout.FittedTable`)."""
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
    layout = [Column(col, justify="left" if col in front or col in ("status", "message")
                     else "right", key=col in front, wrap=col == "message",
                     priority=_PRIORITY.get(col, 0)) for col in order]
    cells: list[list[str | Text]] = []
    for row in rows:
        flat = flat_row(row)
        line: list[str | Text] = []
        for col in order:
            value = flat.get(col)
            if col == "message" and row.status == "converged":
                line.append(Text(""))
            elif col == "status":
                line.append(Text(str(value), style=_STATUS_STYLE.get(str(value), "")))
            else:
                line.append(Text(_cell(value)))
        cells.append(line)
    return FittedTable(layout, cells,
                       title=Text(f"{' / '.join(targets) or 'fits'}: {len(rows)} fits"))


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
