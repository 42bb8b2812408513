"""JSON ``engine`` names the objective whose loss and gradient evaluations drove the descent.

The engine is recorded by the library function that descends (issue 12), not stamped by the
command line afterwards. Every objective's gradient evaluations are counted by class while the
command runs: ``rows`` means the gradients the steps were taken on came from the rows
(:class:`gdfit.engines.RowsLeastSquares`, or the batches of
:class:`gdfit.minibatch.MiniBatches`); ``gram`` means none did and the sufficient statistics
(:class:`gdfit.objective.LeastSquares`) gave them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import gdfit
from gdfit.cli import app
from gdfit.engines import RowsLeastSquares, fit_rows
from gdfit.errors import OptionError
from gdfit.minibatch import MiniBatches, fit_minibatch
from gdfit.objective import LeastSquares

runner = CliRunner()
DATA = "sample_data/housing.csv"


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Gradient evaluations by the objective that made them: 'rows' or 'statistics'."""
    counts: Counter[str] = Counter()

    def counted(cls: type, name: str) -> None:
        original: Callable[..., Any] = getattr(cls, name)

        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            rows = isinstance(self, (RowsLeastSquares, MiniBatches))
            counts["rows" if rows else "statistics"] += 1
            return original(self, *args, **kwargs)

        monkeypatch.setattr(cls, name, wrapper)

    for cls in (LeastSquares, RowsLeastSquares):
        counted(cls, "loss_and_grad")
        counted(cls, "loss_grad_norm")
    counted(MiniBatches, "loss_and_grad")
    return counts


@pytest.mark.parametrize("options", [
    [], ["--engine", "auto"], ["--engine", "gram"], ["--engine", "rows"], ["--stats"],
    ["--stats", "--engine", "rows"], ["--poly", "2", "--x", "area_m2"],
    ["--precise"], ["--trace", "TRACE"], ["--trace", "TRACE", "--engine", "rows"],
    ["--batch-size", "50", "--max-iter", "200"],
    ["--batch-size", "5000", "--max-iter", "200"],  # a batch of all rows: the full batch
], ids=" ".join)
def test_json_engine_is_the_engine_that_descended(options: list[str], tmp_path: Path,
                                                  evaluations: Counter[str]) -> None:
    options = [str(tmp_path / "trace.csv") if o == "TRACE" else o for o in options]
    out = runner.invoke(app, ["fit", DATA, "-f", "json", *options])
    assert out.exit_code in (0, 3), out.output
    engine = json.loads(out.stdout)["engine"]
    if evaluations["rows"]:
        assert engine == "rows", (engine, evaluations)
    else:
        assert engine == "gram" and evaluations["statistics"] > 0, (engine, evaluations)
    # The note on stderr, written before the descent, names the same engine.
    assert f"; engine {engine}" in out.stderr, out.stderr


def test_library_fits_record_their_engine(evaluations: Counter[str]) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 2))
    y = X @ [1.5, -2.0] + 0.5 + 0.1 * rng.normal(size=200)
    for fit, want in ((gdfit.fit, "gram"), (fit_rows, "rows")):
        evaluations.clear()
        assert fit(X, y).engine == want
        assert (evaluations["rows"] > 0) == (want == "rows")
    assert fit_minibatch(X, y, batch_size=20, step="adam", max_iter=50,
                         grad_tol=0).engine == "rows"
    assert fit_minibatch(X, y, batch_size=None).engine == "gram"
    problem = LeastSquares.from_arrays(X, y)
    assert gdfit.fit_statistics(problem).engine == "gram"
    # Statistics reduced on a Dask cluster (gdfit.dask_engine) are named by their caller.
    assert gdfit.fit_statistics(problem, engine="dask").engine == "dask"
    with pytest.raises(OptionError, match="engine= of a fit from statistics"):
        gdfit.fit_statistics(problem, engine="rows")
