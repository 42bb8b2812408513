"""Every step policy with its defaults on ordinary correlated data: does it reach least squares?

Generates regression problems whose columns have correlation ``--rho`` (0.99 by default) with
each other after standardising — x_j = √ρ·z₀ + √(1−ρ)·z_j, then given their own scale and
offset — from a fixed seed, runs ``gdfit.fit`` with every policy's defaults and the default
stopping rules (``--grad-tol 1e-12``, ``--max-iter 100000``, ``--stall-iter 5000``), and
prints a Markdown table: iterations, the stop reason and the relative distance
‖θ − θ*‖/‖θ*‖ to ``numpy.linalg.lstsq``'s θ*, for each policy and problem, with the worst
distance and the median time. ``--batch-size`` runs the mini-batch policies on batches
instead (the noise floor then bounds the distance).

Usage::

    python benchmarks/defaults.py                    # d = 2, 5, 10; ρ = 0.99; n = 1000
    python benchmarks/defaults.py --rho 0.9 --dims 3
    python benchmarks/defaults.py --batch-size 32
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

import gdfit
from gdfit.steps import STEP_POLICIES


def correlated(seed: int, n: int, d: int, rho: float) -> tuple[np.ndarray, np.ndarray]:
    """n rows of d columns with pairwise correlation ρ (in expectation) and y = Xw + noise."""
    rng = np.random.default_rng(seed)
    z0 = rng.normal(size=(n, 1))
    Z = np.sqrt(rho) * z0 + np.sqrt(1 - rho) * rng.normal(size=(n, d))
    X = Z * 10.0 ** rng.uniform(-1, 2, size=d) + rng.normal(size=d) * 5
    w = rng.normal(size=d)
    y = X @ w + 3.0 + 0.5 * rng.normal(size=n) * float(np.std(X @ w))
    return X, y


def reference(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    theta, *_ = np.linalg.lstsq(np.column_stack([X, np.ones(len(y))]), y, rcond=None)
    return np.asarray(theta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rho", type=float, default=0.99)
    parser.add_argument("--dims", default="2,5,10", help="comma-separated numbers of columns")
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--batch-size", type=int, default=None)
    args = parser.parse_args()
    dims = [int(d) for d in args.dims.split(",")]
    problems = {d: correlated(args.seed + d, args.n, d, args.rho) for d in dims}
    for d, (X, _) in problems.items():
        corr = np.corrcoef(X, rowvar=False)
        off = corr[~np.eye(d, dtype=bool)] if d > 1 else np.array([1.0])
        print(f"d = {d}: correlation after standardising {off.min():.4f} … {off.max():.4f}, "
              f"κ(H) = {np.linalg.cond(np.corrcoef(X, rowvar=False)):.3g}")
    names = [n for n, c in STEP_POLICIES.items() if args.batch_size is None or c.stochastic]
    head = " | ".join(f"d={d}: iterations, reason, rel. distance" for d in dims)
    print(f"\nn = {args.n}, ρ = {args.rho}, seed {args.seed}"
          + (f", batches of {args.batch_size}" if args.batch_size else ", full batch"))
    print(f"\n| policy | {head} | worst distance | median time |")
    print("|---|" + "---|" * len(dims) + "---|---|")
    for name in names:
        cells, worst, times = [], 0.0, []
        for X, y in problems.values():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", gdfit.ConvergenceWarning)
                if args.batch_size is None:
                    result = gdfit.fit(X, y, step=name)
                else:
                    from gdfit.minibatch import fit_minibatch

                    result = fit_minibatch(X, y, step=name, batch_size=args.batch_size)
            times.append(time.perf_counter() - start)
            ref = reference(X, y)
            dist = float(np.linalg.norm(result.theta - ref) / np.linalg.norm(ref))
            worst = max(worst, dist)
            cells.append(f"{result.iterations} {result.status} {dist:.1e}")
        print(f"| {name} | " + " | ".join(cells)
              + f" | {worst:.1e} | {statistics.median(times):.2f} s |")


if __name__ == "__main__":
    main()
