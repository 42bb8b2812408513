"""Mini-batch and stochastic gradient descent (``--batch-size``, ``--seed``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import lstsq, random_problem
from typer.testing import CliRunner

import gdfit
from gdfit.cli import app
from gdfit.errors import OptionError
from gdfit.minibatch import MiniBatches, check_stochastic, fit_minibatch
from gdfit.objective import LeastSquares
from gdfit.steps import STEP_POLICIES, make_step

runner = CliRunner()


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_batch_gradient_is_the_mse_gradient_of_the_batch_rows(rng: np.random.Generator) -> None:
    X, y = random_problem(1, 50, 3)
    batches = MiniBatches(X, y, intercept=True, batch_size=7, seed=3)
    batches.next_batch()
    rows = batches._order[:7]
    theta = rng.normal(size=4)
    loss, grad = batches.loss_and_grad(theta)
    # The batch's own least-squares objective, from its rows: same convention (MSE, θ = (w, b)).
    own = LeastSquares.from_arrays(X[rows], y[rows])
    ref_loss, ref_grad = own.loss_and_grad(theta)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-10, atol=1e-12)
    v = rng.normal(size=4)
    np.testing.assert_allclose(batches.hvp(v), own.hvp(v), rtol=1e-10, atol=1e-12)
    assert batches.loss_change(grad, v) == pytest.approx(own.loss_change(ref_grad, v), rel=1e-9)


def test_full_batch_objective_equals_the_statistics_objective(rng: np.random.Generator) -> None:
    X, y = random_problem(2, 40, 2, intercept=False)
    batches = MiniBatches(X, y, intercept=False, batch_size=40, seed=0)
    batches.next_batch()
    stats = LeastSquares.from_arrays(X, y, intercept=False)
    theta = rng.normal(size=2)
    loss, grad = batches.loss_and_grad(theta)
    assert loss == pytest.approx(stats.loss(theta), rel=1e-10)
    np.testing.assert_allclose(grad, stats.grad(theta), rtol=1e-9)


def test_every_row_is_used_once_per_epoch_in_a_new_order() -> None:
    n, B = 10, 4
    X = np.arange(n, dtype=float)[:, None]
    batches = MiniBatches(X, np.arange(n, dtype=float), intercept=True, batch_size=B, seed=1)
    assert batches.batches_per_epoch == 3
    orders = []
    for _epoch in range(2):
        seen: list[float] = []
        for _ in range(3):
            batches.next_batch()
            seen += batches._ub[: batches._m].tolist()
        assert sorted(seen) == list(range(n))
        assert batches._m == 2  # the last batch holds the remainder
        orders.append(seen)
    assert batches.epoch == 2
    assert orders[0] != orders[1]


@pytest.mark.filterwarnings("ignore::gdfit.errors.ConvergenceWarning")  # budgets on purpose
def test_seeded_runs_are_reproducible_and_seeds_differ() -> None:
    X, y = random_problem(4, 200, 3)
    a = fit_minibatch(X, y, batch_size=8, seed=7, step="fixed", alpha=0.02, max_iter=300,
                      history=True)
    b = fit_minibatch(X, y, batch_size=8, seed=7, step="fixed", alpha=0.02, max_iter=300,
                      history=True)
    c = fit_minibatch(X, y, batch_size=8, seed=8, step="fixed", alpha=0.02, max_iter=300)
    np.testing.assert_array_equal(a.theta, b.theta)
    assert [r.loss for r in a.history] == [r.loss for r in b.history]
    assert not np.array_equal(a.theta, c.theta)


@pytest.mark.parametrize(("n", "batch", "iterations", "epochs"),
                         [(100, 32, 10, 3), (100, 25, 8, 2), (100, 1, 250, 3), (100, 50, 1, 1)])
def test_epochs_count_passes_over_the_data(n: int, batch: int, iterations: int,
                                          epochs: int) -> None:
    X, y = random_problem(5, n, 2)
    r = fit_minibatch(X, y, batch_size=batch, step="fixed", alpha=0.01, max_iter=iterations,
                      grad_tol=0)
    assert r.iterations == iterations
    assert r.epochs == epochs
    assert r.gradient_evals == iterations


def test_noise_free_data_sgd_converges_exactly() -> None:
    # Every row fits the solution exactly, so every batch gradient vanishes there: constant-step
    # SGD then converges linearly to the least-squares solution, noise and all.
    rng = np.random.default_rng(11)
    X = rng.normal(size=(120, 3)) * [1.0, 5.0, 0.2] + [3.0, -1.0, 0.0]
    y = X @ np.array([0.5, -0.2, 4.0]) + 1.5
    r = fit_minibatch(X, y, batch_size=10, step="fixed", alpha=0.05, max_iter=20000,
                      grad_tol=1e-12)
    assert r.converged
    assert rel(r.theta, lstsq(X, y)) < 1e-8


# Stated tolerances for noisy data (σ = 0.3): after 160 epochs of batches of 16 rows, decay
# (α₀/t^p) reaches lstsq to 1e-3 relative; adam and adagrad, with a constant base rate, hover
# in a noise ball and reach 2e-2 (measured: decay 1.7e-5, adagrad 7e-4, adam 7e-3).
@pytest.mark.parametrize(("name", "tol"), [("decay", 1e-3), ("adam", 2e-2), ("adagrad", 2e-2)])
def test_stochastic_runs_reach_lstsq_within_the_stated_tolerance(name: str, tol: float) -> None:
    if name not in STEP_POLICIES:
        pytest.skip(f"no {name} policy registered")
    X, y = random_problem(3, 400, 3)
    r = fit_minibatch(X, y, batch_size=16, seed=0, step=name, max_iter=4000, grad_tol=0)
    assert r.epochs == 160
    assert rel(r.theta, lstsq(X, y)) < tol


def test_full_batch_size_is_the_full_batch_run() -> None:
    X, y = random_problem(6, 60, 2)
    full = gdfit.fit(X, y, step="fixed", alpha=0.1, max_iter=500)
    for size in (60, 1000):
        same = fit_minibatch(X, y, batch_size=size, step="fixed", alpha=0.1, max_iter=500)
        np.testing.assert_array_equal(same.theta, full.theta)
        assert same.iterations == full.iterations and same.epochs is None


def test_rows_backed_full_batch_descent_matches_the_statistics_descent() -> None:
    # The mini-batch loop with one batch of all the rows is plain gradient descent computed from
    # the rows: the same iterates as the statistics-backed run, up to rounding.
    from gdfit.minibatch import descend_minibatch
    from gdfit.scaling import AffineScaling
    from gdfit.solver import descend
    from gdfit.stopping import MaxIter

    X, y = random_problem(7, 80, 3)
    raw = LeastSquares.from_arrays(X, y)
    scaling = AffineScaling.standard(raw)
    scaled = scaling.transform(raw)
    rows = MiniBatches((X - scaling.x_shift) / scaling.x_scale,
                       (y - scaling.y_shift) / scaling.y_scale, intercept=True,
                       batch_size=80, seed=0)
    policy = make_step("fixed", alpha=0.2)
    a = descend_minibatch(scaled, rows, np.zeros(4), policy, (MaxIter(100),))
    b = descend(scaled, np.zeros(4), policy, (MaxIter(100),))
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-9, atol=1e-12)
    assert a.iterations == b.iterations == 100


def test_line_search_policies_are_refused_on_mini_batches() -> None:
    X, y = random_problem(8, 50, 2)
    for name, cls in STEP_POLICIES.items():
        if cls.stochastic:
            continue
        with pytest.raises(OptionError, match=f"step='{name}' .*cannot be used with "
                                              "batch_size="):
            fit_minibatch(X, y, batch_size=10, step=name)
    assert not STEP_POLICIES["exact"].stochastic and not STEP_POLICIES["backtracking"].stochastic
    check_stochastic(make_step("fixed"))  # no error


def test_cli_batch_size(tmp_path: Path) -> None:
    X, y = random_problem(9, 120, 2)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="a,b,y", comments="")
    args = ["fit", str(path), "--step", "fixed", "--alpha", "0.05", "--max-iter", "600",
            "--grad-tol", "0", "-f", "json", "-q"]
    mini = runner.invoke(app, [*args, "--batch-size", "16", "--seed", "3"])
    assert mini.exit_code == 0, mini.output
    data = json.loads(mini.stdout)
    assert data["epochs"] == 600 // 8 and data["iterations"] == 600
    assert "on batches of 16" in data["step"]
    again = runner.invoke(app, [*args, "--batch-size", "16", "--seed", "3"])
    assert json.loads(again.stdout)["w"] == data["w"]
    full = json.loads(runner.invoke(app, args).stdout)
    whole = json.loads(runner.invoke(app, [*args, "--batch-size", "120"]).stdout)
    # A batch of every row is the full-batch fit (from the rows rather than streamed moments, so
    # equal to rounding).
    np.testing.assert_allclose([*whole["w"], whole["b"]], [*full["w"], full["b"]], rtol=1e-12)
    assert whole["epochs"] is None


def test_cli_refuses_what_mini_batches_cannot_do(tmp_path: Path) -> None:
    X, y = random_problem(10, 30, 1)
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header="x,y", comments="")
    r = runner.invoke(app, ["fit", str(path), "--batch-size", "4", "--step", "cg"])
    assert r.exit_code == 2
    assert "--step cg" in r.stderr and "--batch-size" in r.stderr
    r = runner.invoke(app, ["fit", str(path), "--seed", "4"])
    assert r.exit_code == 2 and "--seed" in r.stderr and "--batch-size" in r.stderr
    r = runner.invoke(app, ["fit", str(path), "--batch-size", "0", "--step", "fixed"])
    assert r.exit_code == 2
