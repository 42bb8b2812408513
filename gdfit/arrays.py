"""From what a notebook holds to the checked float64 arrays of a fit, with their names.

X may be a numpy array (1-D: one column), nested lists, a numpy structured array, a Series or a
data frame (pandas, polars: anything with ``columns``); y a 1-D array, an (n, 1) column, a
Series or a one-column frame. Names come from the frame's columns and the Series' name; explicit
``features=`` and ``target=`` win, and ``x0, x1, …`` and ``y`` are the fallbacks.

Every problem is a :class:`~gdfit.errors.DataError` in one line that names the column and the
first offending row (its 0-based position): text that is not a number, dates, NaN or infinity,
a y of the wrong shape, lengths that differ, no rows. Numbers written as text (``"1.5"``) are
read, as :func:`numpy.asarray` reads them; booleans are 0 and 1. None and pandas' ``NA`` are
missing values (NaN).

No pandas import: frames are recognised by their attributes, so that plain arrays never pay
for pandas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from gdfit.errors import DataError
from gdfit.objective import Vector

#: Longest shown value in a message (longer ones are cut with "…").
_SHOWN = 40


class Design(NamedTuple):
    """Checked data for a fit: X (n × d) and y (n) in float64, and their names."""

    X: Vector
    y: Vector
    features: tuple[str, ...]
    target: str


def _is_frame(obj: Any) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "shape") and not isinstance(obj, np.ndarray)


def _is_series(obj: Any) -> bool:
    return (hasattr(obj, "name") and hasattr(obj, "dtype") and hasattr(obj, "to_numpy")
            and not _is_frame(obj) and not isinstance(obj, np.ndarray))


def _show(value: Any) -> str:
    text = f"'{value}'" if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN - 1] + "…"


def _is_missing(value: Any) -> bool:
    # None, pandas.NA and pandas.NaT, recognised without importing pandas
    return value is None or type(value).__name__ in ("NAType", "NaTType")


def to_float(values: Any, label: str) -> Vector:
    """One column as float64, or a :class:`DataError` naming ``label`` and the first bad row.

    Numeric and boolean columns convert directly; text and object columns value by value
    (``float(v)``), so that the message can show the first value that is not a number.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"{label} must be one-dimensional; got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind in "biuf":
        return arr.astype(np.float64, copy=False)
    if kind == "c":
        raise DataError(f"{label} holds complex numbers ({arr.dtype}); a fit needs real ones")
    if kind in "mM":
        raise DataError(f"{label} holds dates or times ({arr.dtype}); convert them to numbers "
                        "first (e.g. seconds since the first one)")
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        pass
    out = np.empty(arr.shape[0])
    for i, value in enumerate(arr):
        if _is_missing(value):
            out[i] = math.nan
            continue
        try:
            out[i] = float(value)
        except (TypeError, ValueError):
            raise DataError(f"{label} is not numeric: row {i} holds {_show(value)}") from None
    return out


def check_finite(values: Vector, label: str) -> None:
    """A :class:`DataError` naming ``label`` and the first row with NaN or ±inf, if any."""
    if np.isfinite(values).all():
        return
    i = int(np.flatnonzero(~np.isfinite(values))[0])
    if math.isnan(values[i]):
        raise DataError(f"{label} has a missing value (NaN) at row {i}; drop or fill the "
                        "missing values first (e.g. df.dropna())")
    raise DataError(f"{label} has an infinite value ({values[i]}) at row {i}; drop that row")


def _raw_columns(X: Any) -> tuple[list[Any], tuple[str, ...] | None, int]:
    """The columns of ``X`` (unconverted), their names if ``X`` has any, and the row count."""
    if _is_frame(X):
        names = tuple(str(c) for c in X.columns)
        _check_unique(names, "X")
        return [X[c] for c in X.columns], names, int(X.shape[0])
    if _is_series(X):
        return [X], None if X.name is None else (str(X.name),), len(X)
    arr = np.asarray(X)
    if arr.dtype.names is not None:  # a structured (record) array: one field per column
        if arr.ndim != 1:
            raise DataError(f"X must be a one-dimensional structured array; got shape "
                            f"{arr.shape}")
        return [arr[name] for name in arr.dtype.names], tuple(arr.dtype.names), arr.shape[0]
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise DataError(f"X must be n × d (or 1-D, one column); got shape {arr.shape}")
    return [arr[:, j] for j in range(arr.shape[1])], None, arr.shape[0]


def _check_unique(names: Sequence[str], what: str) -> None:
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            raise DataError(f"{what} names '{name}' twice (columns {seen[name]} and {j}); "
                            "give every column its own name")
        seen[name] = j


def _matrix(X: Any, names: Sequence[str] | None) -> Vector:
    """X as n × d float64, each column converted and checked under its name."""
    arr = np.asarray(X) if not (_is_frame(X) or _is_series(X)) else None
    if arr is not None and arr.dtype.kind in "biuf" and arr.ndim in (1, 2):
        out = arr.astype(np.float64, copy=False)  # the common case: no copy, no loop
        return out[:, None] if out.ndim == 1 else out
    columns, own, n = _raw_columns(X)
    labels = own or (names if names is not None and len(names) == len(columns) else
                     [f"x{j}" for j in range(len(columns))])
    out = np.empty((n, len(columns)))
    for j, (column, name) in enumerate(zip(columns, labels, strict=True)):
        out[:, j] = to_float(column, f"column '{name}'")
    return out


def feature_names(X: Any) -> tuple[str, ...] | None:
    """The column names ``X`` carries (a frame's columns, a Series' name, a record array's
    fields), or None for a plain array."""
    if _is_frame(X):
        return tuple(str(c) for c in X.columns)
    if _is_series(X):
        return None if X.name is None else (str(X.name),)
    names = getattr(getattr(X, "dtype", None), "names", None)
    return None if names is None else tuple(names)


def target_vector(y: Any) -> tuple[Vector, str | None]:
    """y as a float64 vector and its name, if it has one.

    Accepted: a 1-D array, an (n, 1) column, a Series, a one-column frame or record array.
    """
    name: str | None
    if _is_frame(y):
        names = tuple(str(c) for c in y.columns)
        if len(names) != 1:
            raise DataError(f"y must be one column; got a frame with {len(names)} columns "
                            f"({', '.join(names)})")
        column, name = y[y.columns[0]], names[0]
    elif _is_series(y):
        column, name = y, None if y.name is None else str(y.name)
    else:
        arr = np.asarray(y)
        fields = arr.dtype.names
        if fields is not None:
            if len(fields) != 1 or arr.ndim != 1:
                raise DataError(f"y must be one column; got a record array with fields "
                                f"{', '.join(fields)}")
            column, name = arr[fields[0]], fields[0]
        elif arr.ndim == 1:
            column, name = arr, None
        elif arr.ndim == 2 and arr.shape[1] == 1:
            column, name = arr[:, 0], None
        else:
            raise DataError(f"y must have shape (n,) or (n, 1); got {arr.shape}")
    label = "y" if name is None else f"y ('{name}')"
    return to_float(column, label), name


def design(X: Any, y: Any, *, features: Sequence[str] | None = None,
           target: str | None = None) -> Design:
    """Check X and y for a fit and name them.

    Parameters
    ----------
    X : array_like, Series or data frame, shape (n, d)
        Predictors (1-D: one column).
    y : array_like, Series or one-column frame, shape (n,) or (n, 1)
        Target.
    features, target : optional
        Names that win over those of X and y (default: the frame's columns or ``x0, x1, …``,
        the Series' name or ``y``).

    Raises
    ------
    DataError
        Text, dates, NaN or ±inf in a column (named, with the first bad row), y not one
        column, X and y of different lengths, no rows, or names that do not fit X.
    """
    own = feature_names(X)
    Xa = _matrix(X, own if features is None else features)
    ya, y_name = target_vector(y)
    n, d = Xa.shape
    if ya.shape[0] != n:
        raise DataError(f"X has {n} row{'s' if n != 1 else ''} but y has {ya.shape[0]}; "
                        "they must have the same length")
    if n == 0:
        raise DataError("no rows to fit: X and y are empty")
    if features is not None:
        names = tuple(str(f) for f in features)
        if len(names) != d:
            raise DataError(f"features= has {len(names)} name{'s' if len(names) != 1 else ''} "
                            f"for the {d} column{'s' if d != 1 else ''} of X")
        _check_unique(names, "features=")
    else:
        names = own or tuple(f"x{j}" for j in range(d))
    labels = own or names
    if not np.isfinite(Xa).all():
        for j in range(d):
            check_finite(Xa[:, j], f"column '{labels[j]}'")
    check_finite(ya, "y" if y_name is None else f"y ('{y_name}')")
    return Design(Xa, ya, names, target if target is not None else (y_name or "y"))


def prediction_matrix(X: Any, features: Sequence[str]) -> Vector:
    """X as the n × d matrix of a fit on ``features``, for prediction.

    A frame (or a named Series, or a record array) is matched by name: the features are taken
    in the fit's order, other columns are ignored, and a missing one is an error. A plain
    array must have d columns in the fit's order. Missing values (NaN) are allowed: their
    predictions are NaN.
    """
    features = tuple(features)
    own = feature_names(X)
    if own is not None:
        missing = [f for f in features if f not in own]
        if missing:
            plural = "s" if len(missing) > 1 else ""
            raise DataError(f"X lacks the column{plural} the fit needs: "
                            f"{', '.join(repr(f) for f in missing)} (X has: "
                            f"{', '.join(repr(c) for c in own)}); to predict by position, "
                            "pass a plain array (e.g. X.to_numpy())")
        columns, _, n = _raw_columns(X)
        out = np.empty((n, len(features)))
        for j, name in enumerate(features):
            out[:, j] = to_float(columns[own.index(name)], f"column '{name}'")
        return out
    arr = np.asarray(X)
    if arr.ndim == 1 and len(features) != 1:
        raise DataError(f"X must be n × {len(features)} ({', '.join(features)}); got shape "
                        f"{arr.shape} (for one row use X.reshape(1, -1))")
    Xa = _matrix(X, features)
    if Xa.shape[1] != len(features):
        raise DataError(f"X has {Xa.shape[1]} column{'s' if Xa.shape[1] != 1 else ''}; the "
                        f"fit has {len(features)} ({', '.join(features)})")
    return Xa
