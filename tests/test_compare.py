"""``gdfit compare``: several policies on one data set, ranked."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import lstsq, random_problem
from typer.testing import CliRunner

from gdfit.cli import app
from gdfit.comparison import (
    compare,
    parse_policy,
    parse_steps,
    rank_rows,
    tuning_free_policies,
)
from gdfit.errors import OptionError
from gdfit.objective import LeastSquares
from gdfit.steps import STEP_POLICIES, FixedStep
from gdfit.stopping import StopReason

runner = CliRunner()


@pytest.fixture
def data_csv(tmp_path: Path) -> Path:
    X, y = random_problem(31, 80, 3)
    path = tmp_path / "data.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,c,target",
               comments="")
    return path


def test_default_set_is_every_registered_policy_that_needs_no_tuning() -> None:
    names = tuning_free_policies()
    assert names == [n for n, c in STEP_POLICIES.items() if not c.needs_tuning]
    assert "exact" in names and "fixed" not in names and "norm" not in names
    assert [p.name for p in parse_steps(None)] == names
    stochastic = tuning_free_policies(stochastic=True)
    assert all(STEP_POLICIES[n].stochastic and not STEP_POLICIES[n].needs_tuning
               for n in stochastic)
    assert [p.name for p in parse_steps("all")] == list(STEP_POLICIES)


def test_policy_specs_with_parameters() -> None:
    fixed = parse_policy("fixed:alpha=0.25")
    assert isinstance(fixed, FixedStep) and fixed.alpha == 0.25
    bt = parse_policy("backtracking:armijo-c=0.3:shrink=0.8")  # option names, without dashes
    assert (bt.c, bt.rho) == (0.3, 0.8)  # type: ignore[attr-defined]
    assert parse_policy(" backtracking : c=0.2 ").c == 0.2  # type: ignore[attr-defined]
    with pytest.raises(OptionError, match="unknown step policy 'fast'"):
        parse_policy("fast")
    with pytest.raises(OptionError, match=r"'beta=2' in 'fixed:beta=2' .*its parameters: alpha"):
        parse_policy("fixed:beta=2")
    with pytest.raises(OptionError, match="alpha=abc"):
        parse_policy("fixed:alpha=abc")
    with pytest.raises(OptionError, match="alpha= must be a positive number"):
        parse_policy("fixed:alpha=-1")
    with pytest.raises(OptionError, match="empty policy name"):
        parse_steps("exact,,fixed")


def test_ranking_converged_by_iterations_then_the_rest_then_diverged() -> None:
    X, y = random_problem(32, 100, 3)
    rows = compare(X, y, ["fixed:alpha=5", "fixed:alpha=0.001", "backtracking", "exact"],
                   max_iter=400)
    by = {r.label: r for r in rows}
    labels = [r.label for r in rows]
    assert [r.rank for r in rows] == [1, 2, 3, 4]
    assert by["fixed(alpha=5)"].result.stop_reason is StopReason.diverged
    assert by["fixed(alpha=0.001)"].result.stop_reason is StopReason.max_iter
    converged = [r for r in rows if r.converged]
    assert {r.label for r in converged} == {"exact", "backtracking"}
    assert labels[:2] == sorted(labels[:2], key=lambda s: by[s].result.iterations)
    assert labels[2:] == ["fixed(alpha=0.001)", "fixed(alpha=5)"]
    for r in converged:  # each converged run is at lstsq
        np.testing.assert_allclose(r.result.theta, lstsq(X, y), rtol=1e-7)
    # The excess loss is f(θ) − f(θ*), computed exactly.
    problem = LeastSquares.from_arrays(X, y)
    slow = by["fixed(alpha=0.001)"]
    expected = problem.loss(slow.result.theta) - problem.loss(lstsq(X, y))
    assert slow.excess_loss == pytest.approx(expected, rel=1e-6)


def test_ties_are_broken_by_work_then_by_the_given_order_never_by_time() -> None:
    X, y = random_problem(33, 60, 2)
    rows = compare(X, y, ["backtracking:alpha=0.3:shrink=0.5", "fixed:alpha=0.3"],
                   max_iter=3000)
    # Both take α = 0.3 at every step: the same iterations, but backtracking spends a function
    # evaluation on its trial at each one.
    assert rows[0].result.iterations == rows[1].result.iterations
    assert [r.label for r in rows] == ["fixed", "backtracking"]
    twins = compare(X, y, ["fixed:alpha=0.3", "fixed:alpha=0.3"], max_iter=3000)
    assert [r.label for r in twins] == ["fixed(alpha=0.3) #1", "fixed(alpha=0.3) #2"]
    assert [r.label for r in rank_rows(twins[::-1])] == ["fixed(alpha=0.3) #2",
                                                         "fixed(alpha=0.3) #1"]


def ill_conditioned() -> tuple[np.ndarray, np.ndarray, float]:
    """Columns scaled 1, 0.1, 0.001 (orthogonal, centred): κ(H) = 1e6 in the raw units."""
    rng = np.random.default_rng(5)
    n = 200
    Q, _ = np.linalg.qr(rng.normal(size=(n, 3)))
    Q, _ = np.linalg.qr(Q - Q.mean(axis=0))
    X = Q * np.sqrt(n) * np.array([1.0, 1e-1, 1e-3])
    y = X @ np.array([1.0, -2.0, 3.0]) + 0.5 + 0.01 * rng.normal(size=n)
    eig = np.linalg.eigvalsh(LeastSquares.from_arrays(X, y).hessian())
    return X, y, float(eig.max() / eig.min())


def test_ill_conditioned_ranking_is_what_theory_predicts() -> None:
    X, y, kappa = ill_conditioned()
    assert kappa == pytest.approx(1e6, rel=1e-6)
    L = float(np.linalg.eigvalsh(LeastSquares.from_arrays(X, y).hessian()).max())
    # Uses the policies registered now; cg and bb join the ranking when they exist.
    wanted = [n for n in ("cg", "bb", "exact") if n in STEP_POLICIES] + [f"fixed:alpha={1 / L}"]
    rows = compare(X, y, wanted, scale="none", max_iter=2000)
    rank = {r.label.split("(")[0]: r.rank for r in rows}
    assert rank["exact"] < rank["fixed"]
    if "cg" in rank:
        # Linear conjugate gradients ends in at most p = 4 iterations (plus rounding).
        cg = next(r for r in rows if r.label == "cg")
        assert cg.converged and cg.result.iterations <= 8
        assert rank["cg"] == 1
    if "bb" in rank:
        assert rank["bb"] < rank["fixed"]
        assert rank["cg"] <= rank["bb"] if "cg" in rank else True
    assert not next(r for r in rows if r.label.startswith("fixed")).converged


def test_cli_table_is_ranked(data_csv: Path) -> None:
    r = runner.invoke(app, ["compare", str(data_csv), "--steps",
                            "exact,fixed:alpha=0.001,backtracking", "--max-iter", "300"])
    assert r.exit_code == 0, r.output  # even though fixed did not converge
    lines = r.stdout.splitlines()
    order = [name for line in lines for name in ("exact", "backtracking", "fixed")
             if line.startswith("│") and f" {name} " in line]
    assert order[-1] == "fixed" and set(order) == {"exact", "backtracking", "fixed"}
    assert "ranked by iterations to converge" in r.stdout
    assert "comparing 3 policies" in r.stderr


def test_cli_json_and_csv(data_csv: Path) -> None:
    args = ["compare", str(data_csv), "--steps", "exact,backtracking,fixed:alpha=0.05", "-q"]
    r = runner.invoke(app, [*args, "-f", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    results = data["results"]
    assert [row["rank"] for row in results] == [1, 2, 3]
    assert data["features"] == ["a", "b", "c"] and data["target"] == "target"
    assert data["stopping"] == {"max_iter": 100000, "grad_tol": 1e-12, "loss_tol": 0.0}
    its = [row["iterations"] for row in results if row["converged"]]
    assert its == sorted(its)
    for row in results:
        assert set(row) >= {"policy", "iterations", "gradient_evals", "function_evals",
                            "elapsed_s", "loss", "lstsq_distance", "stop_reason", "converged"}
        assert row["lstsq_distance"] < 1e-6
        np.testing.assert_allclose(row["w"], data["lstsq"]["w"], rtol=1e-7)
    c = runner.invoke(app, [*args, "-f", "csv"])
    assert c.exit_code == 0
    table = list(csv.DictReader(io.StringIO(c.stdout)))
    assert [row["policy"] for row in table] == [row["policy"] for row in results]
    assert [int(row["iterations"]) for row in table] == [row["iterations"] for row in results]
    assert float(table[0]["w_a"]) == results[0]["w"][0]
    assert table[0]["converged"] == "True"


def test_cli_errors(data_csv: Path, tmp_path: Path) -> None:
    r = runner.invoke(app, ["compare", str(data_csv), "--steps", "exact,warp"])
    assert r.exit_code == 2 and "unknown step policy 'warp'" in r.stderr
    r = runner.invoke(app, ["compare", str(tmp_path / "missing.csv")])
    assert r.exit_code == 1
    r = runner.invoke(app, ["compare", str(data_csv), "--batch-size", "8", "--steps", "exact"])
    assert r.exit_code == 2 and "--batch-size" in r.stderr
    r = runner.invoke(app, ["compare", str(data_csv), "-f", "jsonl"])
    assert r.exit_code == 2 and "'jsonl' is not one of" in r.stderr


def test_cli_mini_batch_comparison(data_csv: Path) -> None:
    r = runner.invoke(app, ["compare", str(data_csv), "--steps", "fixed:alpha=0.01,"
                            "fixed:alpha=0.05", "--batch-size", "10", "--max-iter", "400",
                            "--grad-tol", "0", "-f", "json", "-q"])
    assert r.exit_code == 0, r.output
    results = json.loads(r.stdout)["results"]
    assert [row["epochs"] for row in results] == [50, 50]
    assert {row["policy"] for row in results} == {"fixed(alpha=0.01)", "fixed(alpha=0.05)"}


def test_cli_extra_stopping_rules_apply_to_every_policy(data_csv: Path) -> None:
    r = runner.invoke(app, ["compare", str(data_csv), "--steps",
                            "fixed:alpha=0.0001,fixed:alpha=0.0002", "--patience", "3",
                            "--patience-tol", "1", "-f", "json", "-q"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["stopping"]["patience"] == 3 and data["stopping"]["patience_tol"] == 1
    # Neither step lowers the (scaled) loss by 1 in an iteration: patience ends both runs after
    # three iterations, each counted from its own start.
    assert [(row["stop_reason"], row["iterations"]) for row in data["results"]] == [
        ("patience", 3), ("patience", 3)]
