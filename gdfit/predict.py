"""Prediction with a saved model: input rows streamed back with the prediction appended.

Rows are read a chunk at a time (:mod:`gdfit.io_chunks`), so memory stays constant whatever
the input's size, and every input field is echoed back as it was written. The prediction
ŷ = X·w + b goes in a new column (``prediction`` unless renamed) and, when the input also has
the model's target column, the residual y − ŷ in another. A row with a missing value in a
column the prediction needs gets an empty prediction (JSON ``null``), and is counted.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, TextIO

import numpy as np

from gdfit.choices import DEFAULT_PREDICT_NAME, PredictFormat
from gdfit.errors import DataError, OptionError
from gdfit.io import did_you_mean
from gdfit.io_chunks import DEFAULT_CHUNK_ROWS, Chunk, TableStream, numeric_columns, open_table
from gdfit.model import Model

DEFAULT_NAME = DEFAULT_PREDICT_NAME
RESIDUAL_NAME = "residual"


@dataclass(frozen=True)
class Layout:
    """Where the model's columns are in the input, and the output's columns."""

    names: tuple[str, ...]
    features: tuple[int, ...]
    target: int | None
    name: str
    residual_name: str | None

    @property
    def output_names(self) -> tuple[str, ...]:
        """The input's columns, then the prediction and (when there is one) the residual."""
        extra = (self.name,) + ((self.residual_name,) if self.residual_name else ())
        return self.names + extra

    @property
    def numeric(self) -> tuple[int, ...]:
        """The input columns read as numbers: the features, then the target if present."""
        return self.features + (() if self.target is None else (self.target,))


def layout_for(model: Model, names: Sequence[str], source: str, *,
               name: str = DEFAULT_NAME, residual: bool = True) -> Layout:
    """Find the model's columns among `names`.

    Raises
    ------
    DataError
        A column the model needs is missing (all are named) or appears twice.
    OptionError
        The new column's name is already taken by an input column.
    """
    names = tuple(names)
    missing = [f for f in model.features if f not in names]
    if missing:
        plural = "s" if len(missing) > 1 else ""
        spare = [n for n in names if n not in model.features]
        raise DataError(f"{source}: missing column{plural} the model needs: "
                        f"{', '.join(_quote(m) + did_you_mean(m, spare) for m in missing)} (the "
                        f"file has: {', '.join(map(_quote, names))})")
    for col in (*model.features, model.target):
        if names.count(col) > 1:
            raise DataError(f"{source}: column {_quote(col)} appears more than once")
    if not name:
        raise OptionError("--name must not be empty")
    if name in names:
        raise OptionError(f"{source}: the input already has a column {_quote(name)}; name the "
                          "prediction column something else with --name")
    target = names.index(model.target) if model.target in names else None
    residual_name = RESIDUAL_NAME if residual and target is not None else None
    if residual_name is not None and residual_name in (*names, name):
        raise OptionError(f"{source}: the input already has a column {_quote(residual_name)}; "
                          "leave the residual out with --no-residual")
    return Layout(names, tuple(names.index(f) for f in model.features), target, name,
                  residual_name)


@dataclass(frozen=True)
class Predicted:
    """One chunk of rows with their numbers, predictions and residuals."""

    chunk: Chunk
    values: np.ndarray  # the layout's numeric columns, float64, NaN where missing
    prediction: np.ndarray  # NaN where a feature is missing or not finite
    residual: np.ndarray | None


def predict_chunks(model: Model, table: TableStream, layout: Layout,
                   chunk_size: int = DEFAULT_CHUNK_ROWS) -> Iterator[Predicted]:
    """Predict `table` a chunk at a time."""
    nfeat = len(layout.features)
    for chunk in table.chunks(chunk_size):
        values = numeric_columns(chunk, layout.numeric, table.names, table.source,
                                 table.decimal)
        pred = model.predict(values[:, :nfeat])
        pred[~np.isfinite(pred)] = np.nan
        resid = None
        if layout.residual_name is not None:
            resid = values[:, nfeat] - pred
            resid[~np.isfinite(resid)] = np.nan
        yield Predicted(chunk, values, pred, resid)


@dataclass(frozen=True)
class Summary:
    """What a prediction run did."""

    files: int
    rows: int
    missing: int  # rows whose prediction is empty


class RowWriter:
    """Writes predicted rows as CSV, one JSON array, or JSON lines, flushing each chunk."""

    def __init__(self, out: TextIO, layout: Layout, fmt: PredictFormat) -> None:
        self.out = out
        self.layout = layout
        self.fmt = PredictFormat(fmt)
        self._csv = csv.writer(out, lineterminator="\n")
        self._first = True
        numeric = dict(zip(layout.numeric, range(len(layout.numeric)), strict=True))
        self._numeric = [numeric.get(j) for j in range(len(layout.names))]

    def begin(self) -> None:
        """Write what comes before the first row (the CSV header, the JSON array's ``[``)."""
        if self.fmt is PredictFormat.csv:
            self._csv.writerow(self.layout.output_names)
        elif self.fmt is PredictFormat.json:
            self.out.write("[")

    def write(self, block: Predicted, order: Sequence[int] | None = None) -> None:
        """Write one chunk; `order` maps the output's columns to this input's columns."""
        rows = block.chunk.rows
        if order is not None:
            rows = [[row[i] for i in order] for row in rows]
        extra: list[np.ndarray] = [block.prediction]
        if block.residual is not None:
            extra.append(block.residual)
        if self.fmt is PredictFormat.csv:
            texts = [_texts(col) for col in extra]
            if len(texts) == 1:
                self._csv.writerows([[*row, p] for row, p in zip(rows, texts[0], strict=True)])
            else:
                self._csv.writerows([[*row, p, e] for row, p, e in
                                     zip(rows, texts[0], texts[1], strict=True)])
        else:
            out_names = self.layout.output_names
            for r, row in enumerate(rows):
                cells: list[Any] = [
                    cell if k is None else _number(float(block.values[r, k]))
                    for cell, k in zip(row, self._numeric, strict=True)]
                cells += [_number(float(col[r])) for col in extra]
                text = json.dumps(dict(zip(out_names, cells, strict=True)), ensure_ascii=False,
                                  allow_nan=False)
                if self.fmt is PredictFormat.json:
                    text = ("\n" if self._first else ",\n") + text
                    self._first = False
                else:
                    text += "\n"
                self.out.write(text)
        self.out.flush()

    def end(self) -> None:
        """Close the JSON array."""
        if self.fmt is PredictFormat.json:
            self.out.write("]\n" if self._first else "\n]\n")
        self.out.flush()


def predict_files(model: Model, paths: Sequence[str], out: TextIO, *,
                  fmt: PredictFormat | str = PredictFormat.csv, name: str = DEFAULT_NAME,
                  residual: bool = True, header: bool = True, sep: str | None = None,
                  chunk_size: int = DEFAULT_CHUNK_ROWS,
                  stdin: BinaryIO | None = None, decimal: str = ".") -> Summary:
    """Predict every row of `paths` (read as one table) and write them to `out`.

    Every input must have the same columns (in any order; rows are written in the first
    input's column order).

    Raises
    ------
    DataError
        An input cannot be read, lacks a column the model needs, holds text where a number
        belongs, or has other columns than the first input.
    OptionError
        A new column's name is taken, or `chunk_size` < 1.
    """
    if chunk_size < 1:
        raise OptionError(f"--chunk-size must be ≥ 1, got {chunk_size}")
    writer: RowWriter | None = None
    first: Layout | None = None
    rows = missing = 0
    for path in paths:
        with open_table(path, header=header, sep=sep, stdin=stdin, decimal=decimal) as table:
            order = None
            if first is None:
                first = layout_for(model, table.names, table.source, name=name,
                                   residual=residual)
                layout = first
                writer = RowWriter(out, first, PredictFormat(fmt))
                writer.begin()
            else:
                _check_same_columns(first.names, table.names, table.source, paths[0])
                layout = layout_for(model, table.names, table.source, name=name,
                                    residual=residual)
                if table.names != first.names:
                    order = [table.names.index(n) for n in first.names]
            assert writer is not None
            for block in predict_chunks(model, table, layout, chunk_size):
                writer.write(block, order)
                rows += len(block.chunk)
                missing += int(np.isnan(block.prediction).sum())
    if writer is not None:
        writer.end()
    return Summary(len(paths), rows, missing)


def _check_same_columns(first: Sequence[str], names: Sequence[str], source: str,
                        first_source: str) -> None:
    if sorted(first) == sorted(names):
        return
    lacking = [n for n in first if n not in names]
    extra = [n for n in names if n not in first]
    parts = []
    if lacking:
        parts.append("no column " + ", ".join(map(_quote, lacking)))
    if extra:
        parts.append("extra column" + ("s " if len(extra) > 1 else " ")
                     + ", ".join(map(_quote, extra)))
    if not parts:  # same names, different multiplicity
        parts.append(f"{len(names)} columns against {len(first)}")
    first_name = "<stdin>" if first_source == "-" else os.fspath(first_source)
    raise DataError(f"{source}: its columns differ from {first_name}'s: {'; '.join(parts)}")


def _texts(values: np.ndarray) -> list[str]:
    """Floats as the shortest text that reads back exactly; NaN as an empty cell."""
    return ["" if v != v else repr(v) for v in values.tolist()]


def _number(value: float) -> float | None:
    return None if not math.isfinite(value) else value


def _quote(text: str) -> str:
    return "'" + text.replace("\n", " ") + "'"
