"""The least-squares objective: values, gradients and Hessian against the rows themselves."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gdfit.objective import LeastSquares
from gdfit.scaling import AffineScaling
from tests.conftest import random_problem


def row_loss(X: np.ndarray, y: np.ndarray, theta: np.ndarray, intercept: bool) -> float:
    d = X.shape[1]
    b = theta[d] if intercept else 0.0
    return float(np.mean((y - X @ theta[:d] - b) ** 2))


@pytest.mark.parametrize("intercept", [True, False])
@pytest.mark.parametrize("d", [1, 3, 8])
def test_loss_matches_rows(d: int, intercept: bool, rng: np.random.Generator) -> None:
    X, y = random_problem(d, 60, d, intercept=intercept)
    problem = LeastSquares.from_arrays(X, y, intercept=intercept)
    for _ in range(5):
        theta = rng.normal(size=problem.dim)
        assert problem.loss(theta) == pytest.approx(row_loss(X, y, theta, intercept), rel=1e-12)


@pytest.mark.parametrize("intercept", [True, False])
def test_gradient_matches_finite_differences(intercept: bool, rng: np.random.Generator) -> None:
    X, y = random_problem(7, 40, 4, intercept=intercept)
    problem = LeastSquares.from_arrays(X, y, intercept=intercept)
    theta = rng.normal(size=problem.dim)
    h = 1e-6
    numeric = np.array([(row_loss(X, y, theta + h * e, intercept)
                         - row_loss(X, y, theta - h * e, intercept)) / (2 * h)
                        for e in np.eye(problem.dim)])
    np.testing.assert_allclose(problem.grad(theta), numeric, rtol=1e-6, atol=1e-6)


def test_gradient_is_the_tutorials_formula() -> None:
    # ∂f/∂w = −2/n Σ (y − (wx + b))·x, ∂f/∂b = −2/n Σ (y − (wx + b)), as the notebook writes it.
    X, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])
    problem = LeastSquares.from_arrays(X[:, None], y)
    w, b = 0.7, -0.3
    r = y - (w * X + b)
    np.testing.assert_allclose(problem.grad(np.array([w, b])),
                               [-2 * np.mean(r * X), -2 * np.mean(r)], rtol=1e-14)


def centred_formulas(p: LeastSquares, theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """f, ∇f and H·θ written out as the module docstring states them."""
    d = p.n_features
    w, b = theta[:d], (theta[d] if p.intercept else 0.0)
    delta = p.y_mean - p.x_mean @ w - b
    loss = p.yty - 2 * p.xty @ w + w @ p.gram @ w + delta**2
    gw = 2 * (p.gram @ w - p.xty) - 2 * delta * p.x_mean
    m = p.x_mean @ w + b
    hw = 2 * (p.gram @ w + m * p.x_mean)
    if not p.intercept:
        return loss, gw, hw
    return loss, np.append(gw, -2 * delta), np.append(hw, 2 * m)


@settings(max_examples=60, deadline=None)
@given(d=st.integers(2, 10), intercept=st.booleans(), centred=st.booleans(),
       offset=st.sampled_from([0.0, 1.0, 1e3]), seed=st.integers(0, 2**32 - 1))
def test_stacked_evaluation_is_the_centred_formulas(d: int, intercept: bool, centred: bool,
                                                     offset: float, seed: int) -> None:
    # With d ≥ 2 one stacked product gives f, ∇f and H·v; it must agree with the formulas
    # term by term, including x̄ = 0 exactly (standardised data), where a term is skipped.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, d)) + offset
    if centred:
        X -= X.mean(axis=0)
    y = X @ rng.normal(size=d) + rng.normal(size=30) + offset
    problem = LeastSquares.from_arrays(X, y, intercept=intercept)
    if centred:
        problem = LeastSquares(problem.n, np.zeros(d), problem.y_mean, problem.gram,
                               problem.xty, problem.yty, intercept)
    theta = rng.normal(size=problem.dim)
    loss, grad, hv = centred_formulas(problem, theta)
    scale = max(abs(loss), problem.yty, 1.0)
    got_loss, got_grad = problem.loss_and_grad(theta)
    assert got_loss == pytest.approx(loss, rel=1e-12, abs=1e-13 * scale)
    gscale = float(np.abs(grad).max()) + float(np.abs(problem.gram).max()) * (1 + offset**2)
    np.testing.assert_allclose(got_grad, grad, rtol=1e-12, atol=1e-13 * gscale)
    np.testing.assert_allclose(problem.hvp(theta), hv, rtol=1e-12, atol=1e-13 * gscale)


@pytest.mark.parametrize("intercept", [True, False])
def test_hessian_vector_product_and_loss_change(intercept: bool,
                                                rng: np.random.Generator) -> None:
    X, y = random_problem(3, 50, 3, intercept=intercept)
    problem = LeastSquares.from_arrays(X, y, intercept=intercept)
    design = np.column_stack([X, np.ones(len(y))]) if intercept else X
    H = 2 * design.T @ design / len(y)
    v = rng.normal(size=problem.dim)
    np.testing.assert_allclose(problem.hvp(v), H @ v, rtol=1e-10)
    theta, step = rng.normal(size=problem.dim), rng.normal(size=problem.dim)
    exact = row_loss(X, y, theta + step, intercept) - row_loss(X, y, theta, intercept)
    assert problem.loss_change(problem.grad(theta), step) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("intercept", [True, False])
def test_scaling_round_trip_and_equivalence(intercept: bool, rng: np.random.Generator) -> None:
    X, y = random_problem(11, 80, 3, intercept=intercept)
    raw = LeastSquares.from_arrays(X, y, intercept=intercept)
    scaling = AffineScaling.standard(raw)
    scaled = scaling.transform(raw)
    phi = rng.normal(size=raw.dim)
    w, b = scaling.to_data(phi)
    theta = np.append(w, b) if intercept else w
    # The same line has the same loss in both coordinate systems, up to σ_y².
    assert scaled.loss(phi) * scaling.loss_factor == pytest.approx(raw.loss(theta), rel=1e-10)
    np.testing.assert_allclose(scaling.to_scaled(w, b), phi, rtol=1e-10, atol=1e-12)
    # And the scaled statistics are those of the standardised rows.
    Z = (X - scaling.x_shift) / scaling.x_scale
    u = (y - scaling.y_shift) / scaling.y_scale
    direct = LeastSquares.from_arrays(Z, u, intercept=intercept)
    np.testing.assert_allclose(scaled.gram, direct.gram, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(scaled.xty, direct.xty, rtol=1e-10, atol=1e-14)


@settings(max_examples=60, deadline=None)
@given(
    data=arrays(np.float64, st.tuples(st.integers(3, 30), st.integers(2, 4)),
                elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)),
    theta=arrays(np.float64, 4, elements=st.floats(-10, 10)),
)
def test_statistics_reproduce_the_row_loss(data: np.ndarray, theta: np.ndarray) -> None:
    X, y = data[:, :-1], data[:, -1]
    problem = LeastSquares.from_arrays(X, y)
    t = theta[: problem.dim]
    expected = row_loss(X, y, t, True)
    scale = float(np.mean(y**2) + np.sum(t**2) * (np.mean(X**2) + 1)) + 1.0
    assert abs(problem.loss(t) - expected) <= 1e-9 * scale


@settings(max_examples=60, deadline=None)
@given(d=st.integers(1, 10), intercept=st.booleans(), centred=st.booleans(),
       seed=st.integers(0, 2**32 - 1))
def test_loss_grad_norm_is_loss_and_grad_with_the_gradients_norm(d: int, intercept: bool,
                                                                  centred: bool,
                                                                  seed: int) -> None:
    from gdfit.objective import vector_norm

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(25, d)) + 3.0
    y = X @ rng.normal(size=d) + rng.normal(size=25)
    problem = LeastSquares.from_arrays(X, y, intercept=intercept)
    if centred:  # x̄ = 0 exactly: ∇f is read straight off the stacked product
        problem = AffineScaling.for_problem(problem, "standard").transform(problem)
    theta = rng.normal(size=problem.dim)
    loss, grad, gnorm = problem.loss_grad_norm(theta)
    same_loss, same_grad = problem.loss_and_grad(theta)
    assert loss == same_loss
    np.testing.assert_array_equal(grad, same_grad)
    assert gnorm == vector_norm(grad)
    assert gnorm == pytest.approx(float(np.linalg.norm(grad)), rel=1e-15 * problem.dim)


def test_vector_norm_neither_overflows_nor_underflows() -> None:
    from gdfit.objective import vector_norm

    assert vector_norm(np.array([3.0, 4.0])) == 5.0
    assert vector_norm(np.array([3e200, 4e200])) == pytest.approx(5e200, rel=1e-15)
    assert vector_norm(np.array([3e-200, 4e-200, 0.0])) == pytest.approx(5e-200, rel=1e-15)
    assert vector_norm(np.array([np.inf, 1.0])) == np.inf
    assert np.isnan(vector_norm(np.array([np.nan, 1.0])))


def test_a_subclass_must_override_both_evaluations() -> None:
    with pytest.raises(TypeError, match="loss_and_grad and loss_grad_norm"):
        class OnlyOne(LeastSquares):  # defining the class is the test
            def loss_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
                return 0.0, theta
