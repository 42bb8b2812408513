"""Saved models: a versioned, documented JSON file (never pickle).

A model file is one JSON object. Schema ``gdfit.model`` version 1 has these fields (every
float is written with all its digits, so a loaded model predicts exactly what the fit did;
NaN and infinities are written as ``null``):

``schema``            ``"gdfit.model"``: what the file is.
``version``           ``1``: the schema version. A gdfit refuses versions newer than it knows.
``gdfit_version``     The gdfit that wrote the file.
``created``           When, as UTC ISO 8601 (``2026-01-31T12:00:00Z``).
``target``            Name of the y column.
``features``          Names of the x columns, in the order of ``w``.
``w``                 Coefficients, in data units.
``b``                 Intercept, or ``null`` for a model through the origin.
``intercept``         Whether the model has an intercept.
``fit``               How the fit ran: ``step`` (``name``, ``parameters``, ``description``),
                      ``scale`` (``standard``/``none``: the columns the descent ran on),
                      ``stopping`` (``max_iter``, ``grad_tol``, ``loss_tol``; ``null`` when
                      unknown), and how it ended: ``status``, ``converged``, ``stop_reason``,
                      ``message``, ``iterations``, ``epochs`` (mini-batch runs, else
                      ``null``), ``engine`` (where the descent's loss and gradient
                      came from: ``gram``, ``rows``, ``dask``; ``null`` when unknown),
                      ``function_evals``, ``gradient_evals``, ``grad_norm``, ``elapsed_s``.
``statistics``        Fit on the training data: ``loss`` (MSE), ``rmse``, ``r2``, ``n_obs``.
``reference``         The exact least-squares solution (``w``, ``b``) of the training data.
``training_data``     Fingerprint of the training data: ``sources`` (paths, ``<stdin>``),
                      ``rows`` (rows fitted), ``columns`` (every column of the table),
                      ``dropped_rows`` (rows dropped by ``--dropna``) and ``sha256`` (of the
                      fitted values as little-endian float64, x columns then y, row by row).

Readers ignore fields they do not know, so later gdfit versions may add fields without
raising ``version``; a change that older readers would misread raises it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gdfit.atomic import write_text_atomic
from gdfit.errors import DataError
from gdfit.result import FitResult, linear_prediction, reference_info
from gdfit.stopping import StopReason

SCHEMA = "gdfit.model"
SCHEMA_VERSION = 1

#: FitResult fields kept in ``fit`` when the result has them (``null`` otherwise).
OPTIONAL_RESULT_FIELDS = ("epochs", "engine")

#: Fields a version-1 file must have (dotted names are inside the named object).
REQUIRED_FIELDS = (
    "target", "features", "w", "b", "intercept", "fit", "fit.scale", "fit.status",
    "fit.stop_reason", "fit.iterations", "statistics", "statistics.loss",
    "statistics.rmse", "statistics.r2", "statistics.n_obs", "training_data",
    "training_data.rows", "training_data.columns",
)


@dataclass(frozen=True)
class FitSettings:
    """How a fit was asked to run: the step policy and the stopping rules."""

    step: str
    step_parameters: Mapping[str, Any] = field(default_factory=dict)
    max_iter: int | None = None
    grad_tol: float | None = None
    loss_tol: float | None = None

    @classmethod
    def from_policy(cls, policy: Any, *, max_iter: int, grad_tol: float,
                    loss_tol: float) -> FitSettings:
        """Settings of a :class:`~gdfit.steps.StepPolicy` instance and the stopping values."""
        params = {k: v for k, v in vars(policy).items()
                  if not k.startswith("_") and isinstance(v, (bool, int, float, str))}
        return cls(policy.name, params, max_iter, grad_tol, loss_tol)


@dataclass(frozen=True)
class TrainingData:
    """What the model was fitted to: enough to recognise the data, not the data itself."""

    sources: tuple[str, ...]
    rows: int
    columns: tuple[str, ...]
    dropped_rows: int = 0
    sha256: str | None = None

    @classmethod
    def from_arrays(cls, X: ArrayLike, y: ArrayLike, *, sources: Sequence[str],
                    columns: Sequence[str], dropped_rows: int = 0) -> TrainingData:
        """Fingerprint the fitted values; `columns` lists every column of the table."""
        return cls(tuple(sources), len(np.asarray(y)), tuple(columns), dropped_rows,
                   data_sha256(X, y))


def data_sha256(X: ArrayLike, y: ArrayLike) -> str:
    """SHA-256 of the rows (x values then y) as little-endian float64."""
    Xa = np.asarray(X, dtype=np.float64)
    rows = np.column_stack([Xa.reshape(len(Xa), -1), np.asarray(y, dtype=np.float64)])
    return hashlib.sha256(np.ascontiguousarray(rows, dtype="<f8").tobytes()).hexdigest()


@dataclass(frozen=True, eq=False)
class Model:
    """A loaded model: what prediction needs, plus the whole document."""

    features: tuple[str, ...]
    target: str
    w: np.ndarray
    b: float | None
    document: Mapping[str, Any]
    source: str = ""

    @property
    def intercept(self) -> bool:
        """Whether the model has an intercept."""
        return self.b is not None

    def predict(self, X: ArrayLike) -> np.ndarray:
        """ŷ = X·w + b, summed column by column so that a row's value never depends on
        which other rows are predicted with it (chunked and whole-file runs agree exactly)."""
        Xa = np.asarray(X, dtype=np.float64)
        if Xa.ndim != 2 or Xa.shape[1] != len(self.features):
            raise DataError(f"expected {len(self.features)} columns "
                            f"({', '.join(self.features)}), got shape {Xa.shape}")
        return linear_prediction(Xa, self.w, self.b)

    def to_result(self) -> FitResult:
        """The fit's result as it was reported (the history is not kept)."""
        doc, fit, stats = self.document, self.document["fit"], self.document["statistics"]
        try:
            reason = StopReason(fit["stop_reason"])
        except ValueError:
            raise DataError(f"{self.source}: unknown stop reason {fit['stop_reason']!r} "
                            "(written by a newer gdfit?)") from None
        ref = doc.get("reference") or {}
        ref_w = (_floats(ref["w"], len(self.features), f"{self.source}: field 'reference.w'")
                 if ref.get("w") is not None else np.full(len(self.features), math.nan))
        stopping = fit.get("stopping") or {}
        known = {f.name for f in dataclasses.fields(FitResult)}
        extra = {name: fit.get(name) for name in OPTIONAL_RESULT_FIELDS if name in known}
        return FitResult(
            **extra,
            w=self.w, b=self.b, features=self.features, target=self.target,
            loss=_float(stats["loss"]), rmse=_float(stats["rmse"]), r2=_float(stats["r2"]),
            n_obs=int(stats["n_obs"]), iterations=int(fit["iterations"]), stop_reason=reason,
            message=str(fit.get("message", "")), grad_norm=_float(fit.get("grad_norm")),
            function_evals=int(fit.get("function_evals") or 0),
            gradient_evals=int(fit.get("gradient_evals") or 0),
            elapsed=_float(fit.get("elapsed_s")) if fit.get("elapsed_s") is not None else 0.0,
            step=str((fit.get("step") or {}).get("description", "")),
            scale=str(fit["scale"]),
            tolerances_active=bool(stopping.get("grad_tol") or stopping.get("loss_tol")
                                   or reason.converged),
            lstsq_w=ref_w,
            # Optional (written since the reference says how exact it is).
            lstsq_method=str(ref.get("method") or ""),
            lstsq_condition=(_float(ref["condition_number"])
                             if ref.get("condition_number") is not None else None),
            lstsq_digits=int(ref["digits"]) if isinstance(ref.get("digits"), int) else None,
            lstsq_b=(_float(ref["b"]) if ref.get("b") is not None else
                     (math.nan if self.intercept else None)),
        )


def model_document(result: FitResult, *, settings: FitSettings | None = None,
                   data: TrainingData | None = None,
                   created: datetime | None = None) -> dict[str, Any]:
    """The JSON-ready document :func:`save_model` writes (see the module docstring)."""
    from gdfit import __version__

    if not (np.isfinite(result.w).all() and (result.b is None or math.isfinite(result.b))):
        raise DataError("the fitted parameters are not finite numbers; there is no model to "
                        "save")
    when = (created or datetime.now(timezone.utc)).astimezone(timezone.utc)
    settings = settings or FitSettings(result.step.split("(")[0])
    stopping = {"max_iter": settings.max_iter, "grad_tol": settings.grad_tol,
                "loss_tol": settings.loss_tol}
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "version": SCHEMA_VERSION,
        "gdfit_version": __version__,
        "created": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "target": result.target,
        "features": list(result.features),
        "w": [float(v) for v in result.w],
        "b": None if result.b is None else float(result.b),
        "intercept": result.intercept,
        "fit": {
            "step": {"name": settings.step, "parameters": dict(settings.step_parameters),
                     "description": result.step},
            "scale": result.scale,
            "stopping": stopping,
            "status": result.status,
            "converged": result.converged,
            "stop_reason": result.stop_reason.value,
            "message": result.message,
            "iterations": result.iterations,
            **{name: getattr(result, name, None) for name in OPTIONAL_RESULT_FIELDS},
            "function_evals": result.function_evals,
            "gradient_evals": result.gradient_evals,
            "grad_norm": result.grad_norm,
            "elapsed_s": result.elapsed,
        },
        "statistics": {"loss": result.loss, "rmse": result.rmse, "r2": result.r2,
                       "n_obs": result.n_obs},
        "reference": {"w": [float(v) for v in result.lstsq_w],
                      "b": None if result.lstsq_b is None else float(result.lstsq_b),
                      **reference_info(result)},
        "training_data": {
            "sources": list(data.sources) if data else [],
            "rows": data.rows if data else result.n_obs,
            "columns": list(data.columns) if data else [*result.features, result.target],
            "dropped_rows": data.dropped_rows if data else 0,
            "sha256": data.sha256 if data else None,
        },
    }
    cleaned: dict[str, Any] = _json_safe(doc)
    return cleaned


def model_json(document: Mapping[str, Any]) -> str:
    """The document as the text of a model file."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False, indent=2) + "\n"


def save_model(result: FitResult, path: str | os.PathLike[str], *,
               settings: FitSettings | None = None, data: TrainingData | None = None,
               force: bool = False, inputs: Sequence[str | os.PathLike[str]] = ()
               ) -> dict[str, Any]:
    """Write `result` as a model file, atomically; return the document written.

    `inputs` are the files the model was fitted to: `path` must not be one of them.

    Raises
    ------
    OptionError
        `path` is one of `inputs`, or exists and `force` is False.
    DataError
        The parameters are not finite.
    OutputError
        The file cannot be written (see :mod:`gdfit.atomic`).
    """
    document = model_document(result, settings=settings, data=data)
    write_text_atomic(path, model_json(document), force=force, inputs=inputs)
    return document


def load_model(path: str | os.PathLike[str]) -> Model:
    """Read and check a model file written by :func:`save_model`.

    Raises
    ------
    DataError
        The file cannot be read, is not JSON, is not a gdfit model, was written by a newer
        gdfit (a higher schema version), or lacks fields (all named).
    """
    source = os.fspath(path)
    try:
        with open(source, "rb") as fh:
            raw = fh.read()
    except IsADirectoryError:
        raise DataError(f"{source}: is a directory, not a model file") from None
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(f"{source}: no such file") from None
    except OSError as exc:
        raise DataError(f"{source}: cannot read file ({exc.strerror or exc})") from None
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise DataError(f"{source}: not a gdfit model (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise DataError(f"{source}: not a gdfit model (not valid JSON: {exc.msg} on line "
                        f"{exc.lineno})") from None
    return parse_model(document, source)


def parse_model(document: Any, source: str = "<model>") -> Model:
    """Check a decoded model document and return the :class:`Model` (see :func:`load_model`)."""
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise DataError(f'{source}: not a gdfit model (no "schema": "{SCHEMA}" field)')
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise DataError(f"{source}: invalid model schema version {version!r}")
    if version > SCHEMA_VERSION:
        raise DataError(f"{source}: was written by a newer gdfit (schema {version}; this "
                        f"gdfit reads up to {SCHEMA_VERSION}); upgrade gdfit")
    missing = [name for name in REQUIRED_FIELDS if not _has(document, name)]
    if missing:
        raise DataError(f"{source}: model file is missing field{'s' if len(missing) > 1 else ''}"
                        f": {', '.join(missing)}")
    _check_kinds(document, source)
    features = document["features"]
    if (not isinstance(features, list) or not all(isinstance(f, str) for f in features)
            or len(set(features)) != len(features)):
        raise DataError(f"{source}: field 'features' must be a list of distinct column names")
    target = document["target"]
    if not isinstance(target, str) or target in features:
        raise DataError(f"{source}: field 'target' must be a column name not among the "
                        "features")
    w = _floats(document["w"], len(features), f"{source}: field 'w'")
    intercept = document["intercept"]
    b = document["b"]
    if not isinstance(intercept, bool) or (intercept and not _is_number(b)) or (
            not intercept and b is not None):
        raise DataError(f"{source}: fields 'intercept' and 'b' disagree: a model with an "
                        "intercept needs a number b, one without needs b = null")
    if not np.isfinite(w).all() or (b is not None and not math.isfinite(b)):
        raise DataError(f"{source}: the coefficients are not finite numbers")
    return Model(tuple(features), target, w, None if b is None else float(b), document,
                 source)


#: The kind of value each known field holds, checked wherever the field is present (a reader
#: can then trust them: a hostile or damaged file is refused with the field named, never a
#: crash). "?" admits null; "int" is a whole number ≥ 0; "number" an int or a float (NaN
#: included: a NaN statistic is written as null, but a hand-made file may say NaN).
FIELD_KINDS = {
    "gdfit_version": "str", "created": "str", "fit": "object", "fit.step": "object?",
    "fit.step.name": "str?", "fit.step.parameters": "object?", "fit.step.description": "str?",
    "fit.scale": "str", "fit.stopping": "object?", "fit.stopping.max_iter": "int?",
    "fit.stopping.grad_tol": "number?", "fit.stopping.loss_tol": "number?",
    "fit.status": "str", "fit.converged": "bool?", "fit.stop_reason": "str",
    "fit.message": "str?", "fit.iterations": "int", "fit.epochs": "number?",
    "fit.engine": "str?", "fit.function_evals": "int?", "fit.gradient_evals": "int?",
    "fit.grad_norm": "number?", "fit.elapsed_s": "number?", "statistics": "object",
    "statistics.loss": "number?", "statistics.rmse": "number?", "statistics.r2": "number?",
    "statistics.n_obs": "int", "reference": "object?", "reference.w": "list?",
    "reference.b": "number?", "reference.method": "str?", "reference.condition_number":
    "number?", "reference.digits": "int?", "training_data": "object",
    "training_data.sources": "names?",
    "training_data.rows": "int", "training_data.columns": "names",
    "training_data.dropped_rows": "int?", "training_data.sha256": "str?",
}

_KIND_WORDS = {"str": "a string", "object": "an object", "int": "a whole number ≥ 0",
               "number": "a number", "bool": "true or false", "list": "a list",
               "names": "a list of column names"}


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "str":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
    if kind == "number":
        return _is_number(value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)  # names


def _check_kinds(document: Mapping[str, Any], source: str) -> None:
    """Refuse a field of the wrong kind (see :data:`FIELD_KINDS`), naming it."""
    for dotted, kind in FIELD_KINDS.items():
        parent: Any = document
        *path, name = dotted.split(".")
        for part in path:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or name not in parent:
            continue  # absent (required fields were checked), or its object was null
        value, optional = parent[name], kind.endswith("?")
        kind = kind.rstrip("?")
        if (value is None and optional) or _is_kind(value, kind):
            continue
        shown = repr(value) if len(repr(value)) <= 40 else f"{type(value).__name__}"
        raise DataError(f"{source}: field '{dotted}' must be {_KIND_WORDS[kind]}"
                        f"{' or null' if optional else ''}, got {shown}")


def _has(document: Mapping[str, Any], dotted: str) -> bool:
    node: Any = document
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _is_number(value: Any) -> bool:
    """An int or a float (not a bool), and an int a float can hold."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        float(value)
    except OverflowError:  # an integer beyond 1.8e308
        return False
    return True


def _floats(values: Any, n: int, what: str = "field") -> np.ndarray:
    if not (isinstance(values, list) and len(values) == n and all(map(_is_number, values))):
        raise DataError(f"{what} must be a list of {n} number{'s' if n != 1 else ''}")
    return np.array(values, dtype=np.float64)


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
