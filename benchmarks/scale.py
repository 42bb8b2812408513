"""gdfit at scale, against the tools a user would otherwise reach for.

Generates seeded data in a temporary folder (deleted afterwards unless --keep), runs every
contender as a whole process — alternating them, several times — and prints the medians, the
peak resident memory of each process and the ratio to gdfit, as Markdown tables:

* a 10⁷-row ``x,y`` CSV: ``gdfit fit --quiet`` against DuckDB's ``regr_slope`` query and a
  pandas + scikit-learn ``SGDRegressor`` script (DuckDB and scikit-learn are needed for this
  benchmark only: ``pip install duckdb scikit-learn``; a contender that is not installed is
  skipped);
* a 10⁶-row CSV with 8 x columns: ``gdfit fit`` against ``pandas.read_csv`` of the same file;
* peak memory of ``gdfit fit`` on 10⁷ rows against 10⁶ rows (it should not grow with rows);
* iterations per second on the statistics: the tutorial's 100000-iteration ``--step norm
  --norm-shrink 1`` run (the constant-length step; ``--stall-iter 0`` in every case), and
  fixed steps for d = 1 … 10 (progress reporting on, stderr to /dev/null);
* the same loop in this process through ``gdfit.fit``: the best of the runs, in µs per
  iteration, the least noisy figure for comparing two versions of the loop;
* the rows engine's milliseconds per iteration on 10⁶ rows × 1 column, and the naive
  allocate-every-iteration loop for comparison;
* start-up: ``gdfit --version`` and ``gdfit --help``.

Usage::

    python benchmarks/scale.py              # the full run (a few minutes, ~1 GB of disk)
    python benchmarks/scale.py --quick      # 10× fewer rows, 2 repeats: a smoke test
    python benchmarks/scale.py --only iterations,startup

Timings on a shared machine vary: the script prints the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SECTIONS = ("xy", "wide", "memory", "iterations", "loop", "rows", "startup")


@dataclass
class Run:
    seconds: float
    peak_mib: float


# Each contender is started by this small launcher, not by the benchmark itself: on Linux a
# child's peak-RSS mark starts at its parent's RSS (fork) and survives exec, so a child of
# this (large) process would report at least our own size.
LAUNCHER = """
import json, os, subprocess, sys, time
with open(os.devnull, "wb") as sink:
    start = time.perf_counter()
    proc = subprocess.Popen(sys.argv[1:], stdout=sink, stderr=sink, stdin=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    print(json.dumps([time.perf_counter() - start, usage.ru_maxrss,
                      os.waitstatus_to_exitcode(status)]))
"""


def run_process(argv: Sequence[str]) -> Run:
    """Wall time and peak RSS of one whole process."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER, *argv], capture_output=True,
                          text=True, check=True)
    seconds, peak_kib, code = json.loads(done.stdout)
    if code not in (0, 3):  # 3: stopped by --max-iter, expected for fixed-step runs
        raise RuntimeError(f"{' '.join(argv)} exited with {code}")
    return Run(seconds, peak_kib / 1024)


def alternate(contenders: dict[str, list[str]], repeat: int) -> dict[str, list[Run]]:
    """Run each contender ``repeat`` times, rotating the order every round."""
    names = list(contenders)
    runs: dict[str, list[Run]] = {n: [] for n in names}
    for k in range(repeat):
        for name in names[k % len(names):] + names[:k % len(names)]:
            runs[name].append(run_process(contenders[name]))
    return runs


def table(title: str, runs: dict[str, list[Run]], reference: str = "gdfit") -> str:
    ref = statistics.median(r.seconds for r in runs[reference])
    lines = [f"\n### {title}\n", "| contender | median s | runs | peak RSS MiB | "
             "time ÷ gdfit |", "|---|---:|---:|---:|---:|"]
    for name, rs in runs.items():
        med = statistics.median(r.seconds for r in rs)
        peak = max(r.peak_mib for r in rs)
        lines.append(f"| {name} | {med:.3f} | {len(rs)} | {peak:.0f} | {med / ref:.2f} |")
    return "\n".join(lines)


def write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    pacsv.write_csv(pa.table(columns), path,
                    write_options=pacsv.WriteOptions(quoting_style="none"))


def xy_file(folder: Path, rows: int, seed: int) -> Path:
    path = folder / f"xy-{rows}.csv"
    if not path.exists():
        rng = np.random.default_rng(seed)
        x = rng.normal(size=rows)
        write_csv(path, {"x": x, "y": 3.0 * x + 2.0 + rng.normal(size=rows)})
    return path


def wide_file(folder: Path, rows: int, seed: int) -> Path:
    path = folder / f"wide-{rows}.csv"
    if not path.exists():
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(rows, 8))
        cols = {f"x{j}": X[:, j] for j in range(8)}
        cols["y"] = X @ np.arange(1.0, 9.0) + 1.0 + rng.normal(size=rows)
        write_csv(path, cols)
    return path


def gdfit_cmd(*args: str) -> list[str]:
    exe = shutil.which("gdfit")
    return [exe, *args] if exe else [sys.executable, "-m", "gdfit", *args]


def python_cmd(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def bench_xy(folder: Path, rows: int, repeat: int, seed: int) -> str:
    path = xy_file(folder, rows, seed)
    contenders = {"gdfit": gdfit_cmd("fit", str(path), "--quiet")}
    if have("duckdb"):
        contenders["duckdb regr_slope"] = python_cmd(
            "import duckdb; print(duckdb.sql(\"SELECT regr_slope(y, x), regr_intercept(y, x) "
            f"FROM read_csv('{path}')\").fetchall())")
    if have("sklearn"):
        contenders["pandas + SGDRegressor"] = python_cmd(
            "import pandas as pd; from sklearn.linear_model import SGDRegressor; "
            f"df = pd.read_csv('{path}'); m = SGDRegressor(random_state=0)"
            ".fit(df[['x']].to_numpy(), df['y'].to_numpy()); print(m.coef_, m.intercept_)")
    size = path.stat().st_size / 2**20
    return table(f"{rows:,} rows of x,y ({size:.0f} MiB CSV)", alternate(contenders, repeat))


def bench_wide(folder: Path, rows: int, repeat: int, seed: int) -> str:
    path = wide_file(folder, rows, seed)
    contenders = {"gdfit": gdfit_cmd("fit", str(path), "--quiet"),
                  "pandas.read_csv alone": python_cmd(
                      f"import pandas as pd; print(pd.read_csv('{path}').shape)")}
    size = path.stat().st_size / 2**20
    return table(f"{rows:,} rows × 8 x columns ({size:.0f} MiB CSV)",
                 alternate(contenders, repeat))


def bench_memory(folder: Path, rows: int, repeat: int, seed: int) -> str:
    big, small = xy_file(folder, rows, seed), xy_file(folder, rows // 10, seed + 1)
    runs = alternate({"gdfit": gdfit_cmd("fit", str(big), "--quiet"),
                      "gdfit, 10× fewer rows": gdfit_cmd("fit", str(small), "--quiet")}, repeat)
    peak = {n: max(r.peak_mib for r in rs) for n, rs in runs.items()}
    ratio = peak["gdfit"] / peak["gdfit, 10× fewer rows"]
    return (f"\n### peak RSS: {rows:,} rows {peak['gdfit']:.0f} MiB, {rows // 10:,} rows "
            f"{peak['gdfit, 10× fewer rows']:.0f} MiB (ratio {ratio:.2f})")


def descent_rate(args: list[str]) -> tuple[float, int]:
    """Iterations per second of the descent (its own elapsed time, from the JSON)."""
    done = subprocess.run(gdfit_cmd(*args, "-f", "json"), capture_output=True, text=True,
                          check=False)
    if done.returncode not in (0, 3):
        raise RuntimeError(done.stderr)
    data = json.loads(done.stdout)
    return data["iterations"] / data["elapsed_s"], data["iterations"]


def bench_iterations(folder: Path, repeat: int, seed: int) -> str:
    tutorial = folder / "tutorial.csv"
    tutorial.write_text("x,y\n1,2\n2,4\n3,6\n")
    lines = ["\n### iterations per second on the statistics (progress on, stderr to /dev/null)",
             "", "| run | iterations | median it/s | range |", "|---|---:|---:|---:|"]
    cases: list[tuple[str, list[str]]] = [
        ("tutorial --step norm --alpha 0.0001 --norm-shrink 1 --scale none",
         ["fit", str(tutorial), "--step", "norm", "--alpha", "0.0001", "--norm-shrink", "1",
          "--max-iter", "100000", "--scale", "none", "--stall-iter", "0"])]
    for policy in ("exact", "backtracking"):
        cases.append((f"tutorial --step {policy} (--grad-tol 0)",
                      ["fit", str(tutorial), "--step", policy, "--max-iter", "100000",
                       "--grad-tol", "0", "--scale", "none", "--stall-iter", "0"]))
    rng = np.random.default_rng(seed)
    for d in (1, 2, 5, 10):
        X = rng.normal(size=(500, d))
        path = folder / f"d{d}.csv"
        cols = {f"x{j}": X[:, j] for j in range(d)}
        cols["y"] = X @ np.arange(1.0, d + 1.0) + rng.normal(size=500)
        write_csv(path, cols)
        cases.append((f"d = {d}, --step fixed --alpha 0.01",
                      ["fit", str(path), "--step", "fixed", "--alpha", "0.01", "--max-iter",
                       "50000", "--grad-tol", "0", "--stall-iter", "0"]))
    # Cases interleaved, repeat by repeat, so that a slow spell of a shared machine falls on
    # every case alike rather than on all the runs of one.
    rates: dict[str, list[tuple[float, int]]] = {label: [] for label, _ in cases}
    for _ in range(repeat):
        for label, args in cases:
            rates[label].append(descent_rate(args))
    for label, runs in rates.items():
        its = [r for r, _ in runs]
        lines.append(f"| {label} | {runs[0][1]} | {statistics.median(its):,.0f} | "
                     f"{min(its):,.0f}–{max(its):,.0f} |")
    return "\n".join(lines)


def bench_loop(repeat: int, seed: int) -> str:
    """Microseconds per iteration in this process, through ``gdfit.fit`` with a progress callback.

    The best of ``repeat`` runs of each case: on a shared machine the minimum is the figure that
    slow spells disturb least, so it is the one to compare between versions of the loop.
    """
    import gdfit
    from gdfit.steps import make_step
    from gdfit.stopping import build_extra_rules

    rng = np.random.default_rng(seed)
    cases: list[tuple[str, np.ndarray, np.ndarray, dict[str, object]]] = [
        ("tutorial, --step norm --alpha 0.0001 --norm-shrink 1 --scale none",
         np.array([[1.0], [2.0], [3.0]]), np.array([2.0, 4.0, 6.0]),
         {"step": make_step("norm", alpha=1e-4, shrink=1), "scale": "none"})]
    for d in (1, 2, 5, 10):
        X = rng.normal(size=(500, d))
        y = X @ np.arange(1.0, d + 1.0) + rng.normal(size=500)
        cases.append((f"d = {d}, --step fixed --alpha 0.01", X, y,
                      {"step": "fixed", "alpha": 0.01}))
    best = {label: math.inf for label, *_ in cases}
    for _ in range(repeat):  # cases interleaved, as in bench_iterations
        for label, X, y, options in cases:
            result = gdfit.fit(X, y, max_iter=20000, grad_tol=0.0, callback=lambda record: None,
                               extra_rules=build_extra_rules(stall_iter=0),
                               **options)  # type: ignore[arg-type]
            best[label] = min(best[label], result.elapsed / result.iterations)
    lines = [f"\n### the loop in one process: µs per iteration, best of {repeat} runs of 20000",
             "", "| run | µs per iteration | it/s |", "|---|---:|---:|"]
    for label, seconds in best.items():
        lines.append(f"| {label} | {seconds * 1e6:.2f} | {1 / seconds:,.0f} |")
    return "\n".join(lines)


def bench_rows(folder: Path, rows: int, repeat: int, seed: int) -> str:
    path = xy_file(folder, rows, seed + 1)
    args = ["fit", str(path), "--engine", "rows", "--step", "fixed", "--alpha", "0.01",
            "--max-iter", "200", "--grad-tol", "0", "--quiet"]
    per_iter = [1e3 / descent_rate(args)[0] for _ in range(repeat)]
    # The naive loop for comparison: fresh arrays every iteration.
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=rows), rng.normal(size=rows)
    w, b = 0.1, 0.2

    def naive() -> None:
        r = x * w + b - y
        _ = (r @ r / rows, 2 * (x @ r) / rows, 2 * r.sum() / rows)

    def timed(fn: Callable[[], None], n: int = 50) -> float:
        fn()
        start = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - start) / n * 1e3

    naive_ms = statistics.median(timed(naive) for _ in range(repeat))
    return (f"\n### rows engine on {rows:,} rows × 1 column: "
            f"{statistics.median(per_iter):.2f} ms per iteration (fixed step, whole "
            f"iteration); naive NumPy loss+gradient {naive_ms:.2f} ms")


def bench_startup(repeat: int) -> str:
    runs = alternate({"gdfit --version": gdfit_cmd("--version"),
                      "gdfit --help": gdfit_cmd("--help"),
                      "python -c pass": [sys.executable, "-c", "pass"],
                      "python -c 'import numpy'": python_cmd("import numpy")}, repeat)
    lines = ["\n### start-up", "", "| command | median s |", "|---|---:|"]
    for name, rs in runs.items():
        lines.append(f"| {name} | {statistics.median(r.seconds for r in rs):.3f} |")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = []
    for module in ("numpy", "pyarrow", "duckdb", "pandas", "sklearn"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except ImportError:
            pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} CPUs, {mem:.0f} GiB; Python "
            f"{platform.python_version()}; {', '.join(versions)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10× fewer rows, 2 repeats")
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows of the x,y file")
    parser.add_argument("--wide-rows", type=int, default=1_000_000, help="rows of the 8-x file")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each contender")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections: {', '.join(SECTIONS)}")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep the files")
    opts = parser.parse_args()
    if opts.quick:
        opts.rows, opts.wide_rows, opts.repeat = opts.rows // 10, opts.wide_rows // 10, 2
    wanted = set(opts.only.split(","))
    folder = Path(opts.keep or tempfile.mkdtemp(prefix="gdfit-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"machine: {machine()}")
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    try:
        steps: list[tuple[str, Callable[[], str]]] = [
            ("xy", lambda: bench_xy(folder, opts.rows, opts.repeat, opts.seed)),
            ("wide", lambda: bench_wide(folder, opts.wide_rows, opts.repeat, opts.seed)),
            ("memory", lambda: bench_memory(folder, opts.rows, opts.repeat, opts.seed)),
            ("iterations", lambda: bench_iterations(folder, opts.repeat, opts.seed)),
            ("loop", lambda: bench_loop(opts.repeat, opts.seed)),
            ("rows", lambda: bench_rows(folder, opts.rows // 10, opts.repeat, opts.seed)),
            ("startup", lambda: bench_startup(opts.repeat)),
        ]
        for name, step in steps:
            if name in wanted:
                print(step(), flush=True)
    finally:
        if not opts.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
