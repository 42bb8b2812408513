"""``--engine dask`` on a LocalCluster on loopback (skipped when Dask is not installed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gdfit.cli import app
from gdfit.errors import DataError, OptionError
from tests.conftest import random_problem

runner = CliRunner()


def test_a_missing_dask_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    from gdfit.dask_engine import MISSING, dask_statistics

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(OptionError) as caught:
        dask_statistics([str(tmp_path / "a.csv")])
    assert str(caught.value) == MISSING
    (tmp_path / "a.csv").write_text("x,y\n1,2\n2,4\n3,7\n")
    outcome = runner.invoke(app, ["fit", str(tmp_path / "a.csv"), "--engine", "dask"])
    assert outcome.exit_code == 2
    assert outcome.stderr.strip() == f"gdfit: error: {MISSING}"


@pytest.fixture(scope="module")
def scheduler(scheduler: str | None) -> str:
    """conftest's cluster; these tests are skipped without Dask."""
    if scheduler is None:
        pytest.skip("dask[dataframe] and distributed are not installed")
    return scheduler


@pytest.fixture
def parts(tmp_path: Path) -> tuple[str, np.ndarray, np.ndarray]:
    """Four CSV files (a glob) holding one 2-feature data set, with a text column."""
    X, y = random_problem(31, 2400, 2)
    for k in range(4):
        rows = range(600 * k, 600 * (k + 1))
        text = "a,b,note,y\n" + "".join(
            f"{float(X[i, 0])!r},{float(X[i, 1])!r},n{i},{float(y[i])!r}\n" for i in rows)
        (tmp_path / f"part-{k}.csv").write_text(text)
    return str(tmp_path / "part-*.csv"), X, y


def test_dask_statistics_match_the_gram_engine(scheduler: str,
                                               parts: tuple[str, np.ndarray, np.ndarray]
                                               ) -> None:
    from gdfit.dask_engine import dask_statistics
    from gdfit.sources import expand_inputs
    from gdfit.stream import stream_moments

    pattern = parts[0]
    paths = expand_inputs([pattern])
    problem, info = dask_statistics(paths, scheduler=scheduler, blocksize=8000)
    moments, _ = stream_moments(paths)
    ref = moments.problem()
    assert problem.n == ref.n == 2400 and info.reader == "dask"
    assert info.features == ("a", "b") and info.target == "y"
    for field in ("x_mean", "gram", "xty"):
        got, want = getattr(problem, field), getattr(ref, field)
        assert np.linalg.norm(got - want) <= 1e-10 * np.linalg.norm(want), field
    assert problem.yty == pytest.approx(ref.yty, rel=1e-10)


def test_cli_engine_dask_matches_gram(scheduler: str,
                                      parts: tuple[str, np.ndarray, np.ndarray]) -> None:
    pattern = parts[0]
    dask = runner.invoke(app, ["fit", pattern, "--engine", "dask", "--scheduler", scheduler,
                               "-f", "json"])
    assert dask.exit_code == 0, dask.output
    gram = runner.invoke(app, ["fit", pattern, "--engine", "gram", "-f", "json", "-q"])
    a, b = json.loads(dask.stdout), json.loads(gram.stdout)
    assert a["engine"] == "dask" and b["engine"] == "gram" and a["n_obs"] == 2400
    assert "engine dask (as asked)" in dask.stderr
    theta_a, theta_b = np.array([*a["w"], a["b"]]), np.array([*b["w"], b["b"]])
    assert np.linalg.norm(theta_a - theta_b) <= 1e-10 * np.linalg.norm(theta_b)


def test_dask_reports_missing_values(scheduler: str, tmp_path: Path) -> None:
    from gdfit.dask_engine import dask_statistics

    (tmp_path / "m.csv").write_text("x,y\n1,2\n2,\n3,7\n4,9\n")
    with pytest.raises(DataError, match="missing or non-finite values in column 'y'"):
        dask_statistics([str(tmp_path / "m.csv")], scheduler=scheduler)
    problem, info = dask_statistics([str(tmp_path / "m.csv")], scheduler=scheduler,
                                    dropna=True)
    assert problem.n == 3 and info.dropped_rows == 1


def test_an_unreachable_scheduler_is_a_usage_error(parts: tuple[str, np.ndarray, np.ndarray]
                                                   ) -> None:
    pytest.importorskip("distributed")
    outcome = runner.invoke(app, ["fit", parts[0], "--engine", "dask", "--scheduler",
                                  "tcp://127.0.0.1:9"])
    assert outcome.exit_code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in outcome.stderr
