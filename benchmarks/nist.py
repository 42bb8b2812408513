"""Certified accuracy: gdfit on the eleven NIST StRD linear-regression datasets.

Runs ``gdfit fit`` in-process through its command line (the code path a user gets, JSON
output) with its defaults and with ``--precise``, and prints per dataset the smallest LRE
(log relative error, -log10|est − cert|/|cert|, capped at 15) over the parameter estimates,
over their standard deviations, and for the residual SD and R², beside the same figures for
``numpy.linalg.lstsq`` on the raw design (raw powers of x, a column of ones; standard
deviations from its pseudo-inverse).

    python benchmarks/nist.py [--data DIR] [--check]

DIR defaults to $GDFIT_NIST_DIR, else the copy shipped in sample_data/nist. With --check
the exit status is 1 when a target is missed: default fit estimates ≥ 6 on all but Filip;
--precise estimates ≥ 9 (Filip ≥ 7) and standard deviations, residual SD and R² ≥ 8.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_DIR = Path(__file__).absolute().parents[1] / "sample_data" / "nist"
CAP = 15.0


def lre(estimate: float | None, certified: str) -> float:
    """NIST's log relative error, capped at 15 digits (0 when the estimate is missing)."""
    if estimate is None or not math.isfinite(estimate):
        return 0.0
    cert = float(certified)
    err = abs(estimate - cert) / abs(cert) if cert != 0 else abs(estimate)
    return CAP if err == 0 else max(0.0, min(CAP, -math.log10(err)))


@dataclass(frozen=True)
class Scores:
    """Smallest LREs of one run."""

    estimates: float
    std_devs: float
    residual_sd: float
    r2: float
    seconds: float = math.nan
    status: str = ""
    engine: str = ""


def cli_args(name: str, spec: dict, root: Path, precise: bool) -> list[str]:
    """The ``gdfit fit`` arguments for one dataset."""
    design = spec["design"]
    args = ["fit", str(root / spec["csv"]), "--y", "y", "--format", "json", "--quiet"]
    if design["kind"] == "poly":
        args += ["--poly", str(design["degree_or_num_predictors"])]
    if not design["intercept"]:
        args.append("--no-intercept")
    if precise:
        args.append("--precise")
    return args


def score(spec: dict, est: list[float | None], sds: list[float | None], rsd: float | None,
          r2: float | None, **extra: object) -> Scores:
    """Compare one fit (parameters in NIST's order: B0 first) with the certified values."""
    params = spec["parameters"]
    return Scores(
        estimates=min(lre(e, p["estimate"]) for e, p in zip(est, params, strict=True)),
        std_devs=min(lre(s, p["std_dev"]) for s, p in zip(sds, params, strict=True)),
        residual_sd=lre(rsd, spec["residual_standard_deviation"]),
        r2=lre(r2, spec["r_squared"]), **extra)  # type: ignore[arg-type]


def run_gdfit(name: str, spec: dict, root: Path, precise: bool) -> Scores:
    """gdfit through its command line, in-process."""
    from typer.testing import CliRunner

    from gdfit.cli import app

    start = time.perf_counter()
    outcome = CliRunner().invoke(app, cli_args(name, spec, root, precise))
    seconds = time.perf_counter() - start
    if outcome.exit_code not in (0, 3):
        raise RuntimeError(f"{name}: gdfit exited with {outcome.exit_code}: {outcome.output}")
    data = json.loads(outcome.stdout)
    stats = data["stats"]
    rows = stats["parameters"]  # intercept first, like NIST's B0
    return score(spec, [r["estimate"] for r in rows], [r["std_error"] for r in rows],
                 stats["residual_sd"], stats["r2"], seconds=seconds, status=data["status"],
                 engine=data.get("engine") or "")


def run_lstsq(spec: dict, root: Path) -> Scores:
    """numpy.linalg.lstsq on the raw design."""
    import pandas as pd

    frame = pd.read_csv(root / spec["csv"])
    y = frame["y"].to_numpy(dtype=np.float64)
    X = frame.drop(columns="y").to_numpy(dtype=np.float64)
    design = spec["design"]
    if design["kind"] == "poly":
        degree = design["degree_or_num_predictors"]
        X = np.column_stack([X[:, 0] ** k for k in range(1, degree + 1)])
    V = np.column_stack([np.ones(len(y)), X]) if design["intercept"] else X
    start = time.perf_counter()
    beta = np.linalg.lstsq(V, y, rcond=None)[0]
    n, p = V.shape
    rss = float(np.sum((y - V @ beta) ** 2))
    sigma = math.sqrt(rss / (n - p))
    pinv = np.linalg.pinv(V)
    sds = sigma * np.sqrt(np.sum(pinv**2, axis=1))
    tss = float(np.sum((y - y.mean()) ** 2)) if design["intercept"] else float(y @ y)
    seconds = time.perf_counter() - start
    return score(spec, list(beta), list(sds), sigma, 1 - rss / tss, seconds=seconds)


def targets_met(name: str, default: Scores, precise: Scores) -> list[str]:
    """The targets of issue 4 this dataset misses."""
    missed = []
    if name != "Filip" and default.estimates < 6:
        missed.append(f"{name}: default estimates LRE {default.estimates:.1f} < 6")
    need = 7 if name == "Filip" else 9
    if precise.estimates < need:
        missed.append(f"{name}: --precise estimates LRE {precise.estimates:.1f} < {need}")
    for what in ("std_devs", "residual_sd", "r2"):
        if getattr(precise, what) < 8:
            missed.append(f"{name}: --precise {what} LRE {getattr(precise, what):.1f} < 8")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get(
        "GDFIT_NIST_DIR", DEFAULT_DIR)), help="folder with certified.json and csv/")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    options = parser.parse_args()
    root = options.data.absolute()
    certified = json.loads((root / "certified.json").read_text())
    names = [k for k in certified if not k.startswith("_")]
    shown = os.path.relpath(root) if root.is_relative_to(Path.cwd()) else str(root)
    print(f"NIST StRD linear regression, data from {shown}")
    print("gdfit runs: gdfit fit CSV --y y [--poly K] [--no-intercept] --format json --quiet"
          "   (default)  … --precise   (precise)")
    print("LRE = -log10(|est - cert| / |cert|), capped at 15; each cell is the minimum over "
          "the estimates / their SDs; times include the CLI's own work in-process\n")
    head = (f"{'dataset':9} │ {'run':8} │ {'estim.':>6} {'SDs':>6} {'res.SD':>6} {'R²':>6} │ "
            f"{'status':9} {'engine':6} {'time':>8}")
    print(head)
    print("─" * len(head))
    missed: list[str] = []
    total = time.perf_counter()
    for name in names:
        spec = certified[name]
        results = [("lstsq", run_lstsq(spec, root)),
                   ("default", run_gdfit(name, spec, root, precise=False)),
                   ("precise", run_gdfit(name, spec, root, precise=True))]
        for label, s in results:
            print(f"{name if label == 'lstsq' else '':9} │ {label:8} │ {s.estimates:6.2f} "
                  f"{s.std_devs:6.2f} {s.residual_sd:6.2f} {s.r2:6.2f} │ {s.status:9} "
                  f"{s.engine:6} {s.seconds * 1e3:6.0f} ms")
        missed += targets_met(name, results[1][1], results[2][1])
    print(f"\ntotal {time.perf_counter() - total:.1f} s")
    print("targets: default estimates ≥ 6 (all but Filip); --precise estimates ≥ 9 (Filip ≥ 7),"
          " SDs, residual SD and R² ≥ 8")
    print("all targets met" if not missed else "MISSED:\n  " + "\n  ".join(missed))
    return 1 if (missed and options.check) else 0


if __name__ == "__main__":
    sys.exit(main())
