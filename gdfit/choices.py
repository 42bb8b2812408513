"""The command line's choices and defaults, importable without numpy.

``gdfit --help`` must be fast, so every ``str`` Enum and default that Typer needs when the command
modules are imported lives here; :mod:`gdfit.steps`, :mod:`gdfit.scaling`, :mod:`gdfit.engines`,
:mod:`gdfit.policies`, :mod:`gdfit.policies_adaptive`, :mod:`gdfit.predict`, :mod:`gdfit.api`,
:mod:`gdfit.io_chunks` and :mod:`gdfit.explain` re-export them. Import nothing heavy here.
"""

from __future__ import annotations

from enum import Enum

#: Iteration budget and tolerances of :func:`gdfit.fit` (a tolerance of 0 is off).
DEFAULT_MAX_ITER = 100_000
DEFAULT_GRAD_TOL = 1e-12
DEFAULT_LOSS_TOL = 0.0

#: Rows per chunk read by the chunked readers (``gdfit predict``).
DEFAULT_CHUNK_ROWS = 10_000

#: Default name of the prediction column (``gdfit predict``).
DEFAULT_PREDICT_NAME = "prediction"

#: Iterations shown by ``--explain``.
EXPLAIN_MAX_ITER = 50


class StepName(str, Enum):
    """The policies' names, as the command line offers them (kept equal to STEP_POLICIES)."""

    exact = "exact"
    backtracking = "backtracking"
    fixed = "fixed"
    norm = "norm"
    lipschitz = "lipschitz"
    wolfe = "wolfe"
    bb = "bb"
    trust_region = "trust-region"
    cg = "cg"
    momentum = "momentum"
    nesterov = "nesterov"
    adam = "adam"
    adagrad = "adagrad"
    rmsprop = "rmsprop"
    decay = "decay"


#: The default policy: needs no tuning, never increases the loss, and on this quadratic objective
#: takes a handful of iterations where steepest descent can take tens of thousands (NIST's Longley:
#: 9 against 46 146). It is the conjugate-gradient method, labelled as such everywhere.
DEFAULT_STEP = "cg"

#: The policy of a mini-batch run (``--batch-size``) given no step: cg needs exact gradients.
#: Adam ended within 0.3 % of least squares on every mini-batch problem measured (the bundled
#: housing.csv and sensor.csv, columns correlated at 0.99: benchmarks/defaults.py), where
#: decay, closer on the sample data, ended 40 % away on the correlated columns (README,
#: "Mini-batch").
DEFAULT_STOCHASTIC_STEP = "adam"


class Scale(str, Enum):
    """How features are scaled for the descent."""

    standard = "standard"
    none = "none"


class Engine(str, Enum):
    """Where the loss and gradient come from (see :mod:`gdfit.engines`)."""

    auto = "auto"
    gram = "gram"
    rows = "rows"
    dask = "dask"


class BadRows(str, Enum):
    """What the streaming reader does with a malformed row."""

    error = "error"
    skip = "skip"


class BBVariant(str, Enum):
    """Which Barzilai–Borwein step (``--bb-variant``)."""

    bb1 = "bb1"
    bb2 = "bb2"
    alternate = "alternate"


class TrustRegionMethod(str, Enum):
    """How the trust-region step is found (``--tr-method``)."""

    cauchy = "cauchy"
    dogleg = "dogleg"


class NesterovRestart(str, Enum):
    """When Nesterov's momentum is reset (``--nesterov-restart``)."""

    gradient = "gradient"
    function = "function"
    off = "off"


class PredictFormat(str, Enum):
    """How predicted rows are written."""

    csv = "csv"
    json = "json"
    jsonl = "jsonl"


class Decimal(str, Enum):
    """The decimal mark of the numbers in a text table (``--decimal``)."""

    point = "."
    comma = ","
