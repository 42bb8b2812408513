"""Ctrl-C at any moment of a descent returns the best iterate so far, marked interrupted.

Most tests are deterministic: :class:`Trap` raises KeyboardInterrupt (as Ctrl-C does) at the
j-th call, for every j, of what a descent calls — the objective, the step policy, the batches,
the progress callback — from the first evaluation to the last report. One test sends real
signals, at random moments:

CPython 3.11–3.13 can deliver a signal on a loop's backward jump with the frame pointing at the
instruction *before* the jump target; when the loop is the first statement of a ``try`` that
instruction lies outside the handler's range and the KeyboardInterrupt escapes the ``except``
(python/cpython#108214, #130279). These tests interrupt many runs at many moments, with the
interpreter's own SIGINT handler, so each loop's handler is exercised wherever the signal lands.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator

import numpy as np
import pytest

import gdfit
from gdfit.minibatch import fit_minibatch
from gdfit.result import FitResult, IterRecord
from gdfit.steps import make_step
from gdfit.stopping import StopReason

needs_setitimer = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")

RUNS = 100


@pytest.fixture
def alarm_is_ctrl_c() -> Iterator[None]:
    """SIGALRM raises KeyboardInterrupt exactly as Ctrl-C does (the default SIGINT handler)."""
    previous = signal.signal(signal.SIGALRM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def interrupted_runs(run: Callable[[Callable[[IterRecord], None]], FitResult]) -> list[FitResult]:
    """Run ``run`` RUNS times, each interrupted 0.5 to 3.5 ms after its descent starts.

    ``run`` passes its argument as the fit's callback, which arms the alarm at iteration 0.
    """
    results = []
    for i in range(RUNS):
        delay = 0.0005 + 0.00002 * (i % 150)

        def arm(record: IterRecord, delay: float = delay) -> None:
            if record.iteration == 0:
                signal.setitimer(signal.ITIMER_REAL, delay)

        try:
            results.append(run(arm))
        except KeyboardInterrupt:  # pragma: no cover - the failure this file is about
            pytest.fail(f"run {i}: Ctrl-C escaped the descent instead of ending it")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    return results


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 2))
    return X, X @ np.array([1.5, -2.0]) + 0.5 + rng.normal(scale=0.1, size=50)


def check(results: list[FitResult]) -> None:
    X, y = data()
    for r in results:
        assert r.stop_reason is StopReason.interrupted and not r.converged
        assert np.all(np.isfinite(r.w)) and np.isfinite(r.b)
        assert r.message.startswith(f"interrupted at iteration {r.iterations};")
        # The parameters are the iterate of that iteration, with its own loss.
        assert r.loss == pytest.approx(float(np.mean((X @ r.w + r.b - y) ** 2)), rel=1e-9)


@needs_setitimer
@pytest.mark.usefixtures("alarm_is_ctrl_c")
@pytest.mark.parametrize("rules", [
    {"grad_tol": 0.0, "loss_tol": 0.0},       # bounds only: the loop's fast path
    {"grad_tol": 0.0, "loss_tol": 1e-300},    # a loss-change rule: the general path
])
def test_full_batch_descent_catches_a_real_ctrl_c_wherever_it_lands(
        rules: dict[str, float]) -> None:
    X, y = data()
    check(interrupted_runs(lambda arm: gdfit.fit(
        X, y, step="fixed", alpha=1e-9, max_iter=10**12, catch_interrupt=True, callback=arm,
        every=10**12, **rules)))


class Trap:
    """Counts the calls a descent makes and raises KeyboardInterrupt at call number ``at``
    (once), only while the descent itself runs (not while the fit is set up or summed up)."""

    def __init__(self, at: int) -> None:
        self.at, self.calls, self.active, self.sprung = at, 0, False, False

    def tick(self) -> None:
        if not self.active:
            return
        self.calls += 1
        if self.calls - 1 == self.at and not self.sprung:
            self.sprung = True
            raise KeyboardInterrupt

    def callback(self, record: IterRecord) -> None:
        self.tick()


@pytest.fixture
def trap(monkeypatch: pytest.MonkeyPatch) -> Trap:
    """A Trap wired into every call of the descent loops (set ``trap.at`` before the fit)."""
    from gdfit import api, minibatch, steps
    from gdfit.objective import LeastSquares

    armed = Trap(-1)

    def ticking(owner: type, name: str) -> None:
        original = getattr(owner, name)

        def wrapped(self: object, *args: object, **kwargs: object) -> object:
            armed.tick()
            return original(self, *args, **kwargs)

        monkeypatch.setattr(owner, name, wrapped)

    for owner, name in [(LeastSquares, "loss_grad_norm"), (steps.FixedStep, "init"),
                        (steps.FixedStep, "update"), (minibatch.MiniBatches, "next_batch"),
                        (minibatch.MiniBatches, "loss_and_grad")]:
        ticking(owner, name)

    def active(module: object, name: str) -> None:
        loop = getattr(module, name)

        def run(*args: object, **kwargs: object) -> object:
            armed.active = True
            try:
                return loop(*args, **kwargs)
            finally:
                armed.active = False

        monkeypatch.setattr(module, name, run)

    active(api, "descend")
    active(minibatch, "descend_minibatch")
    return armed


def trapped_fit(trap: Trap, fit_with: str, *, history: bool = False) -> FitResult:
    X, y = data()
    options = dict(step="fixed", alpha=0.05, max_iter=6, grad_tol=0.0, loss_tol=0.0,
                   catch_interrupt=True, callback=trap.callback, every=2, history=history)
    if fit_with == "full":
        return gdfit.fit(X, y, **options)  # type: ignore[arg-type]
    return fit_minibatch(X, y, batch_size=10, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("history", [False, True])
@pytest.mark.parametrize("fit_with", ["full", "minibatch"])
def test_ctrl_c_at_every_call_of_a_descent_ends_it_the_same_way(
        trap: Trap, fit_with: str, history: bool) -> None:
    trap.at = -1
    whole = trapped_fit(trap, fit_with)
    assert whole.stop_reason is StopReason.max_iter and trap.calls > 10  # the premise
    for at in range(trap.calls):  # from the first evaluation to the last report
        trap.at, trap.calls, trap.sprung = at, 0, False
        try:
            r = trapped_fit(trap, fit_with, history=history)
        except KeyboardInterrupt:
            pytest.fail(f"Ctrl-C at call {at} of the descent escaped it")
        assert trap.sprung
        check([r])
        assert 0 <= r.iterations <= 6
        if history:
            assert r.history[0].iteration == 0 and r.history[-1].iteration == r.iterations


@pytest.mark.parametrize("fit_with", ["full", "minibatch"])
def test_ctrl_c_at_the_first_evaluation_returns_the_start(trap: Trap, fit_with: str) -> None:
    trap.at = 0
    r = trapped_fit(trap, fit_with)
    assert r.stop_reason is StopReason.interrupted and r.iterations == 0
    # θ = 0 in the standardised coordinates: w = 0 and b = ȳ in the data's.
    assert np.all(r.w == 0) and r.b == pytest.approx(float(np.mean(data()[1])), rel=1e-12)
    assert r.message == ("interrupted at iteration 0; the parameters are the last iterate, "
                         "not a converged fit")
    check([r])


@needs_setitimer
@pytest.mark.usefixtures("alarm_is_ctrl_c")
def test_without_catch_interrupt_ctrl_c_propagates() -> None:
    X, y = data()
    signal.setitimer(signal.ITIMER_REAL, 0.002)
    with pytest.raises(KeyboardInterrupt):
        gdfit.fit(X, y, step="fixed", alpha=1e-9, max_iter=10**12, grad_tol=0.0, loss_tol=0.0)


class CtrlCAt:
    """A progress callback that raises KeyboardInterrupt at a given iteration (as Ctrl-C would)."""

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def __call__(self, record: IterRecord) -> None:
        if record.iteration == self.iteration:
            raise KeyboardInterrupt


def lowest(history: tuple[IterRecord, ...]) -> IterRecord:
    return min(history, key=lambda record: (record.loss, -record.iteration))


@pytest.mark.parametrize("fit_with", ["full", "minibatch"])
def test_interrupted_non_monotone_run_returns_the_lowest_loss_iterate(fit_with: str) -> None:
    # Constant-length steps of 0.3 reach the minimum within a few iterations and then circle it:
    # the loss goes up and down, so the last iterate is not the best one.
    X, y = data()
    options = dict(step=make_step("norm", alpha=0.3, shrink=1), max_iter=1000, grad_tol=0.0,
                   loss_tol=0.0,
                   history=True, catch_interrupt=True, callback=CtrlCAt(60), every=1)
    r = (gdfit.fit(X, y, **options) if fit_with == "full"  # type: ignore[arg-type]
         else fit_minibatch(X, y, batch_size=25, **options))  # type: ignore[arg-type]
    best = lowest(r.history)
    assert r.stop_reason is StopReason.interrupted and r.iterations == 60
    assert best.iteration < 60 and r.history[-1].loss > best.loss  # the premise
    assert r.message == (f"interrupted at iteration 60; the parameters are those of iteration "
                         f"{best.iteration}, the lowest loss of the run, not a converged fit")
    np.testing.assert_allclose(r.w, best.w, rtol=1e-12)
    assert r.b == pytest.approx(best.b, rel=1e-12)
    assert r.loss == pytest.approx(best.loss, rel=1e-9)


def test_interrupted_monotone_run_returns_the_last_iterate() -> None:
    X, y = data()
    r = gdfit.fit(X, y, step="fixed", alpha=0.01, max_iter=1000, grad_tol=0.0, loss_tol=0.0,
                  history=True, catch_interrupt=True, callback=CtrlCAt(60), every=1)
    assert r.iterations == 60 and lowest(r.history).iteration == 60
    assert r.message == ("interrupted at iteration 60; the parameters are the last iterate, "
                         "not a converged fit")
    np.testing.assert_allclose(r.w, r.history[-1].w, rtol=1e-12)
