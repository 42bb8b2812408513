"""``--trace FILE.csv``: every iteration of one or more descents, as a CSV file.

One row per iteration (iteration 0 is the starting point) with the columns::

    policy, iteration, loss, grad_norm, step_size, w_<feature>..., b

``loss`` is the mean squared error in the data's units and ``w_*``/``b`` are the parameters in
the data's units; ``grad_norm`` and ``step_size`` are measured in the space the descent runs in
(standardised under ``--scale standard``), as in the progress table. ``step_size`` is empty at
iteration 0, ``b`` is absent without an intercept. Floats are written with all their digits.

The file is written atomically (:func:`gdfit.atomic.atomic_write`): a temporary file in the same
folder, renamed over the target at the end, so an interrupted run leaves no partial file.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator, Sequence

from gdfit.atomic import atomic_write
from gdfit.result import FitResult

TRACE_COLUMNS = ("policy", "iteration", "loss", "grad_norm", "step_size")


def trace_header(features: Sequence[str], intercept: bool) -> list[str]:
    """The column names for a model with ``features`` (and b with an intercept)."""
    return [*TRACE_COLUMNS, *(f"w_{name}" for name in features), *(["b"] if intercept else [])]


def _cell(value: float | None) -> float | str:
    return "" if value is None or not math.isfinite(value) else value


def trace_rows(label: str, result: FitResult) -> Iterator[list[object]]:
    """The trace rows of one result fitted with ``history=True``."""
    if not result.history:
        raise ValueError("the result has no history; fit with history=True")
    for rec in result.history:
        row: list[object] = [label, rec.iteration, _cell(rec.loss), _cell(rec.grad_norm),
                             _cell(rec.step_size)]
        row += [_cell(float(v)) for v in rec.w]
        if result.intercept:
            row.append(_cell(rec.b))
        yield row


def write_trace(path: str | os.PathLike[str], runs: Sequence[tuple[str, FitResult]]) -> int:
    """Write the iterations of ``runs`` (label, result) to ``path``; return the rows written.

    Every result must have been fitted with ``history=True`` on the same columns. An existing
    file is replaced; the file appears whole or not at all.
    """
    if not runs:
        raise ValueError("no runs to trace")
    first = runs[0][1]
    header = trace_header(first.features, first.intercept)
    count = 0
    with atomic_write(path, force=True) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        for label, result in runs:
            if result.features != first.features or result.intercept != first.intercept:
                raise ValueError("every traced run must fit the same columns")
            for row in trace_rows(label, result):
                writer.writerow(row)
                count += 1
    return count
