"""Peak memory of ``gdfit fit`` on a wide file: 1,500 rows × 1,000 x columns.

Writes a seeded CSV in a temporary folder, then runs ``gdfit fit --quiet --max-iter 50`` on it
as a whole process, once per engine (gram, the default, and rows), and prints each run's peak
resident memory (``ru_maxrss`` of the process, from ``os.wait4`` in a small launcher, so this
process's own size does not count) and the ratio gram ÷ rows.

With ``--baseline DIR`` (a checkout of an older gdfit, e.g. made with
``git worktree add /tmp/base 3ce9ebb``) the same runs are made with that code on the same file
(``PYTHONPATH=DIR``), in the same session, and the ratios new ÷ old are printed.

Usage::

    python benchmarks/wide.py
    python benchmarks/wide.py --baseline /tmp/base --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

LAUNCHER = """
import json, os, subprocess, sys
with open(os.devnull, "wb") as sink:
    proc = subprocess.Popen(sys.argv[1:], stdout=sink, stderr=sink, stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    print(json.dumps([usage.ru_maxrss, os.waitstatus_to_exitcode(status)]))
"""


def write_wide(path: Path, rows: int, cols: int, seed: int) -> None:
    """A CSV of ``rows`` rows, ``cols`` x columns and y (written with pyarrow)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, cols))
    y = X @ rng.normal(size=cols) + rng.normal(size=rows)
    table = pa.table({**{f"x{j}": X[:, j] for j in range(cols)}, "y": y})
    pacsv.write_csv(table, path, write_options=pacsv.WriteOptions(quoting_style="none"))


def peak_mib(path: Path, engine: str, code_dir: str | None) -> float:
    """Peak RSS (MiB) of one ``gdfit fit`` process on ``path``."""
    # ``python -m`` puts the working directory first on sys.path, ahead of the editable
    # install: run each version from its own checkout.
    here = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=code_dir or here)
    argv = [sys.executable, "-m", "gdfit", "fit", str(path), "--quiet", "--engine", engine,
            "--max-iter", "50"]
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], capture_output=True,
                          text=True, check=True, env=env, cwd=code_dir or here)
    peak_kib, code = json.loads(done.stdout)
    if code not in (0, 3):
        raise RuntimeError(f"{' '.join(argv)} exited with {code}")
    return float(peak_kib) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--cols", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--baseline", help="a checkout of older gdfit code to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "wide.csv"
        write_wide(path, args.rows, args.cols, seed=11)
        size = path.stat().st_size / 2**20
        print(f"{args.rows} rows × {args.cols} x columns, {size:.1f} MiB; peak RSS of "
              f"`gdfit fit --quiet --max-iter 50`, the largest of {args.repeat} run(s)\n")
        versions = {"this code": None}
        if args.baseline:
            versions["baseline"] = args.baseline
        peaks: dict[tuple[str, str], float] = {}
        for _ in range(args.repeat):
            for label, code_dir in versions.items():
                for engine in ("gram", "rows"):
                    mib = peak_mib(path, engine, code_dir)
                    key = (label, engine)
                    peaks[key] = max(peaks.get(key, 0.0), mib)
        print("| code | gram MiB | rows MiB | gram ÷ rows |")
        print("|---|---:|---:|---:|")
        for label in versions:
            g, r = peaks[(label, "gram")], peaks[(label, "rows")]
            print(f"| {label} | {g:.0f} | {r:.0f} | {g / r:.2f} |")
        if args.baseline:
            print()
            for engine in ("gram", "rows"):
                new, old = peaks[("this code", engine)], peaks[("baseline", engine)]
                print(f"{engine}: this code ÷ baseline = {new / old:.2f} "
                      f"({new:.0f} MiB vs {old:.0f} MiB)")


if __name__ == "__main__":
    main()
