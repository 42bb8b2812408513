"""Time per iteration of each step policy on sufficient statistics (1,000 rows × 3 columns).

The descent on the statistics costs O(d²) per iteration, a few µs, so what a policy allocates
per iteration shows: this measures whether the typed states (NamedTuples instead of bare
tuples, issue 12) cost anything. Each policy runs 20,000 iterations with no tolerance, best of
``--repeat`` runs.

With ``--baseline DIR`` (an older checkout, e.g. ``git archive 92cab8b | tar -x -C DIR``) the
same runs are made with that code (``PYTHONPATH=DIR``, a child process) in the same session,
alternating with this code's, and the ratios new ÷ old are printed.

Usage::

    python benchmarks/policy_state.py
    python benchmarks/policy_state.py --baseline /tmp/base --repeat 5
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

POLICIES = ("fixed", "lipschitz", "bb", "trust-region", "cg", "nesterov", "adam", "rmsprop")

CHILD = """
import json, sys
import numpy as np
import gdfit
from gdfit.objective import LeastSquares
from gdfit.stopping import build_extra_rules
rng = np.random.default_rng(0)
X = rng.normal(size=(1000, 3))
y = X @ [1.0, 2.0, 3.0] + rng.normal(size=1000)
problem = LeastSquares.from_arrays(X, y)
repeat = int(sys.argv[1])
times = {}
for step in sys.argv[2:]:
    best = float("inf")
    for _ in range(repeat):
        r = gdfit.fit_statistics(problem, step=step, max_iter=20000, grad_tol=0, loss_tol=0,
                                 extra_rules=build_extra_rules(stall_iter=0))
        best = min(best, r.elapsed / max(r.iterations, 1))
    times[step] = best
print(json.dumps(times))
"""


def measure(root: Path, repeat: int) -> dict[str, float]:
    """Seconds per iteration of each policy with the gdfit under ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run([sys.executable, "-c", CHILD, str(repeat), *POLICIES], env=env,
                         capture_output=True, text=True, check=True, cwd=root)
    times: dict[str, float] = json.loads(out.stdout)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="an older checkout to compare with")
    parser.add_argument("--repeat", type=int, default=5, help="runs per policy (best kept)")
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parent.parent
    new = measure(here, args.repeat)
    old = measure(args.baseline.resolve(), args.repeat) if args.baseline else None
    if old is not None:  # a second round each, the other way round, for drift of the machine
        old = {k: min(v, w) for (k, v), w in zip(old.items(), measure(
            args.baseline.resolve(), args.repeat).values(), strict=True)}
        new = {k: min(v, w) for (k, v), w in zip(new.items(), measure(
            here, args.repeat).values(), strict=True)}
    print(f"{'policy':14} {'µs/iter':>8}" + (f" {'baseline':>9} {'new/old':>8}" if old else ""))
    for step in POLICIES:
        line = f"{step:14} {new[step] * 1e6:8.2f}"
        if old is not None:
            line += f" {old[step] * 1e6:9.2f} {new[step] / old[step]:8.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
