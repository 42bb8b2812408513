"""Shared fixtures: seeded random problems and small CSV files."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

Problem = tuple[np.ndarray, np.ndarray]


def random_problem(seed: int, n: int, d: int, *, intercept: bool = True,
                   noise: float = 0.3) -> Problem:
    """A well-conditioned regression problem: independent columns of mixed scale."""
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-1, 1, size=d)
    offsets = rng.normal(size=d) * 2 if intercept else np.zeros(d)
    X = rng.normal(size=(n, d)) * scales + offsets
    w = rng.normal(size=d) / scales
    y = X @ w + (rng.normal() if intercept else 0.0) + noise * rng.normal(size=n)
    return X, y


def lstsq(X: np.ndarray, y: np.ndarray, intercept: bool = True) -> np.ndarray:
    """The exact least-squares parameters (w, then b), from numpy.linalg.lstsq on the raw design."""
    design = np.column_stack([X, np.ones(len(y))]) if intercept else X
    theta, *_ = np.linalg.lstsq(design, y, rcond=None)
    return theta


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261127)


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write text to a file in a temporary folder and return its path."""

    def write(text: str, name: str = "data.csv") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


@pytest.fixture
def tutorial_csv(write_csv: Callable[[str, str], Path]) -> Path:
    return write_csv("x,y\n1,2\n2,4\n3,6\n", "tutorial.csv")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str | None]:
    """The address of a two-worker Dask cluster on 127.0.0.1 (threads in this process: quick to
    start) for the tests of one module that run --engine dask; None when Dask is not installed.

    One per module, closed after it: its threads allocate as they run, which a later test that
    measures memory with tracemalloc (it traces every thread) would count.
    """
    try:
        import dask.dataframe  # noqa: F401
        from distributed import LocalCluster
    except ImportError:
        yield None
        return
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp",
                           host="127.0.0.1", dashboard_address=None)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()
