"""Cells of a CSV line: how a line splits into fields, what spells a missing value, what
reads as a number (with either decimal mark).

The primitives every reader shares (gdfit.io's table reader, gdfit.stream's streaming one and
gdfit.column_rule's judgement of the head), in a module that imports none of them.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence

WHITESPACE = "whitespace"
# pandas' default NA spellings, fixed here so that both parsing passes (and
# every pandas version) agree on what counts as a missing cell.
_NA_TOKENS = frozenset(
    ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
     "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]
)  # fmt: skip
_DECIMAL_COMMA = re.compile(r"\s*[+-]?\d*,\d+(?:[eE][+-]?\d+)?\s*")


def to_number(cell: str, decimal: str = ".") -> float:
    """``float(cell)`` with the decimal mark `decimal`; under ``","`` a ``"."`` is refused
    (``1.5`` is then not a number, rather than a guess).

    Raises
    ------
    ValueError
        `cell` is not a number.
    """
    if decimal == ",":
        if "." in cell:
            raise ValueError(cell)
        cell = cell.replace(",", ".")
    return float(cell)


def split_line(line: str, sep: str) -> list[str]:
    """Split one line into fields the way the parser will (quotes included)."""
    if sep == WHITESPACE:
        return line.split()
    try:
        return next(csv.reader([line], delimiter=sep), [])
    except csv.Error:
        return line.split(sep)


def looks_like_commas(cells: Sequence[str]) -> bool:
    """Whether most non-empty cells are numbers with a decimal comma (``1,5``)."""
    filled = [c for c in cells if c.strip() and c.strip() not in _NA_TOKENS]
    return bool(filled) and 2 * sum(bool(_DECIMAL_COMMA.fullmatch(c)) for c in filled) > len(
        filled)
