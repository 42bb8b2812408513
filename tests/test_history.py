"""A descent's history in bounded memory: decimation, the sink, and the fits that use them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import random_problem

import gdfit
from gdfit.comparison import compare
from gdfit.history import History, as_recorder, converting
from gdfit.minibatch import fit_minibatch
from gdfit.precise import fit_model
from gdfit.result import IterRecord


def record(k: int) -> IterRecord:
    return IterRecord(k, 1.0 / (k + 1), 0.0, 0.1, np.array([float(k)]), 0.0)


def fill(history: History, n: int) -> list[int]:
    for k in range(n):
        history.append(record(k))
    return [r.iteration for r in history.records()]


def test_a_run_within_the_limit_is_kept_whole() -> None:
    assert fill(History(limit=10), 10) == list(range(10))
    assert fill(History(limit=10), 1) == [0]
    assert History(limit=10).records() == ()


@pytest.mark.parametrize("n", [11, 17, 100, 1000, 4097, 10_001])
def test_decimation_keeps_the_first_the_last_and_an_even_stride(n: int) -> None:
    limit = 16
    history = History(limit=limit)
    kept = fill(history, n)
    # The stride is the smallest power of two that brings the multiples of it below n to at
    # most `limit`; the latest record comes on top.
    stride = 1
    while math.ceil(n / stride) > limit:
        stride *= 2
    assert history.stride == stride and history.seen == n
    assert kept[0] == 0 and kept[-1] == n - 1
    body = kept if (n - 1) % stride == 0 else kept[:-1]
    assert body == list(range(0, n, stride))
    assert len(kept) <= limit + 1 and len(body) > limit // 2


def test_the_sink_sees_every_record_kept_or_not() -> None:
    seen: list[int] = []
    history = History(limit=4, sink=lambda r: seen.append(r.iteration))
    fill(history, 100)
    assert seen == list(range(100)) and len(history) <= 5


def test_no_limit_keeps_everything_and_history_true_means_that() -> None:
    assert fill(History(limit=None), 10_000) == list(range(10_000))
    unbounded = as_recorder(True)
    assert isinstance(unbounded, History) and unbounded.limit is None
    assert as_recorder(False) is None
    mine = History(limit=8)
    assert as_recorder(mine) is mine
    with pytest.raises(ValueError, match="at least 2"):
        History(limit=1)


def test_converting_restates_each_record_before_it_is_kept() -> None:
    history = History(limit=None)
    doubled = converting(history, lambda r: IterRecord(r.iteration, r.loss, r.grad_norm,
                                                       r.step_size, 2 * r.w, r.b))
    doubled.append(record(3))
    assert history.records()[0].w.tolist() == [6.0]
    assert doubled.records() == history.records()


def test_a_fit_streams_every_iterate_and_keeps_a_bounded_history() -> None:
    X, y = random_problem(40, 60, 2)
    options = dict(step="fixed", alpha=0.05, max_iter=300, grad_tol=0, loss_tol=0)
    whole = gdfit.fit(X, y, history=True, **options)
    streamed: list[IterRecord] = []
    bounded = gdfit.fit(X, y, history=History(limit=8, sink=streamed.append), **options)
    assert len(whole.history) == 301
    assert [r.loss for r in streamed] == [r.loss for r in whole.history]
    assert [r.w.tolist() for r in streamed] == [r.w.tolist() for r in whole.history]
    kept = [r.iteration for r in bounded.history]
    assert len(kept) <= 9 and kept[0] == 0 and kept[-1] == bounded.iterations == 300
    np.testing.assert_array_equal(bounded.w, whole.w)  # recording changes nothing


def test_minibatch_and_rows_engine_use_the_recorder_too() -> None:
    from gdfit.engines import fit_rows

    X, y = random_problem(41, 80, 2)
    for fit in (lambda h: fit_minibatch(X, y, batch_size=10, step="fixed", alpha=0.02,
                                        max_iter=200, grad_tol=0, history=h),
                lambda h: fit_rows(X, y, step="fixed", alpha=0.05, max_iter=200, grad_tol=0,
                                   loss_tol=0, history=h)):
        streamed: list[IterRecord] = []
        result = fit(History(limit=4, sink=streamed.append))
        assert [r.iteration for r in streamed] == list(range(201))
        assert len(result.history) <= 5 and result.history[-1].iteration == 200


@pytest.mark.parametrize("kind", ["poly", "precise"])
def test_poly_and_precise_record_raw_coefficients(kind: str) -> None:
    rng = np.random.default_rng(42)
    x = rng.uniform(0, 3, size=40)
    y = 1 - 2 * x + 0.5 * x**2 + rng.normal(scale=0.1, size=40)
    streamed: list[IterRecord] = []
    options = {"poly": 2} if kind == "poly" else {"precise": True}
    X = x[:, None] if kind == "poly" else np.column_stack([x, x**2])
    fitted = fit_model(X, y, features=["x"] if kind == "poly" else ["x", "x2"],
                       history=History(limit=4, sink=streamed.append), **options)
    reference = fit_model(X, y, features=["x"] if kind == "poly" else ["x", "x2"],
                          history=True, **options)
    # The sink saw the same records as a whole history, in the raw coefficients.
    assert [r.w.tolist() for r in streamed] == [r.w.tolist() for r in reference.result.history]
    assert len(fitted.result.history) <= 5
    if kind == "poly":  # the last iterate is the result, restated on the powers of x
        np.testing.assert_allclose(streamed[-1].w, fitted.result.w, rtol=1e-9)
        assert streamed[-1].b == pytest.approx(fitted.result.b, rel=1e-9)


def test_compare_gives_each_run_its_own_recorder() -> None:
    X, y = random_problem(43, 50, 2)
    made: dict[str, History] = {}

    def history_for(label: str) -> History:
        made[label] = History(limit=4)
        return made[label]

    rows = compare(X, y, ["exact", "fixed:alpha=0.1"], history=history_for, max_iter=500)
    assert set(made) == {"exact", "fixed"}
    for row in rows:
        assert made[row.label].seen == row.result.iterations + 1
        assert row.result.history == made[row.label].records()
    whole = compare(X, y, ["fixed:alpha=0.1"], history=True, max_iter=500)[0].result
    assert len(whole.history) == whole.iterations + 1


def test_a_repeated_iteration_is_dropped_before_the_sink() -> None:
    seen: list[int] = []
    history = History(limit=4, sink=lambda r: seen.append(r.iteration))
    for k in (0, 1, 2, 2, 1, 3):
        history.append(record(k))
    assert seen == [0, 1, 2, 3] and history.seen == 4


def test_an_interrupted_fit_records_the_iterate_it_stopped_at() -> None:
    # Ctrl-C arrives while iteration 40 is being recorded (in the sink, before it is kept):
    # the descent hands that iterate over again, so the record ends where the run did.
    X, y = random_problem(44, 60, 2)
    streamed: list[IterRecord] = []
    interrupted: list[int] = []

    def sink(rec: IterRecord) -> None:
        if rec.iteration == 40 and not interrupted:
            interrupted.append(40)
            raise KeyboardInterrupt
        streamed.append(rec)

    for fit in (gdfit.fit, lambda *a, **kw: fit_minibatch(*a, batch_size=10, **kw)):
        streamed.clear()
        interrupted.clear()
        result = fit(X, y, step="fixed", alpha=1e-3, max_iter=1000, grad_tol=0,
                     catch_interrupt=True, history=History(limit=8, sink=sink))
        assert result.stop_reason.value == "interrupted" and result.iterations == 40
        assert [r.iteration for r in streamed] == list(range(41))
        assert result.history[-1].iteration == 40
