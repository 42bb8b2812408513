"""Generate the sample data files bundled with gdfit.

Writes these CSV files into the folder this script lives in (``sample_data/``):

* ``tutorial.csv`` -- the tutorial's three points, y = 2x exactly.
* ``housing.csv``  -- 1000 synthetic house sales, four predictors on very different
  scales and a price target (thousands), linear plus Gaussian noise.
* ``sensor.csv``   -- 500 synthetic temperature-sensor readings (TMP36-style, 10 mV/degC,
  500 mV offset) with a reference temperature target, plus text columns
  (timestamp, station) that a fitter should ignore.
* ``collinear.csv`` -- 30 rows of two integer gauges that read the same quantity to ±1
  count (1 − corr ≈ 4e-13) and an integer target: nearly collinear columns, whose exact
  least-squares solution (a rational number, computable exactly) is very sensitive.
* ``parts/``       -- small files for the README's several-files examples: ``day-1.csv`` …
  ``day-3.csv`` (x, y: one line each, y = (k + 1)·x + k + noise on day k), ``day-4.csv``
  (its y is text) and ``other.csv`` (columns x, z instead of x, y).

Every file uses fixed seeds and fixed decimal formatting, so re-running the script
produces byte-identical files. Run from the repository root with::

    python sample_data/make_samples.py

The true generating coefficients are the module constants below and are repeated in
``sample_data/README.md``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

OUT_DIR: Path = Path(__file__).resolve().parent

# housing.csv: price_k = intercept + sum(coef * predictor) + N(0, noise_sd)
HOUSING_SEED: int = 20240501
HOUSING_ROWS: int = 1000
HOUSING_INTERCEPT: float = 120.0
HOUSING_COEFS: dict[str, float] = {
    "area_m2": 2.5,
    "rooms": 12.0,
    "age_years": -1.1,
    "distance_km": -3.0,
}
HOUSING_NOISE_SD: float = 45.0

# sensor.csv: temperature_c = intercept + slope * reading_mv + N(0, noise_sd)
SENSOR_SEED: int = 20240302
SENSOR_ROWS: int = 500
SENSOR_INTERCEPT: float = -50.0
SENSOR_SLOPE: float = 0.1
SENSOR_NOISE_SD: float = 0.8
SENSOR_STATIONS: tuple[str, ...] = ("north", "south", "east", "west", "harbor")
SENSOR_START: datetime = datetime(2024, 3, 1, tzinfo=timezone.utc)
SENSOR_STEP: timedelta = timedelta(minutes=30)

# parts/day-k.csv: y = (k + 1)·x + k + N(0, noise_sd), for k = 1, 2, 3
PARTS_SEED: int = 20240601
PARTS_ROWS: tuple[int, ...] = (40, 60, 50)
PARTS_NOISE_SD: float = 0.5


def fmt(value: float, decimals: int) -> str:
    """Format ``value`` with a fixed number of decimals, never printing ``-0.0``."""
    return f"{round(float(value), decimals) + 0.0:.{decimals}f}"


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write a UTF-8 CSV with ``\\n`` line endings (stable across platforms)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def truncated(draw: Callable[[int], np.ndarray], low: float, high: float, size: int) -> np.ndarray:
    """Draw ``size`` values from ``draw``, redrawing any outside ``[low, high]``.

    Redrawing (rather than clipping) avoids piles of identical values at the bounds.
    """
    values = draw(size)
    bad = (values < low) | (values > high)
    while bad.any():
        values[bad] = draw(int(bad.sum()))
        bad = (values < low) | (values > high)
    return values


def make_tutorial(out_dir: Path) -> Path:
    """Write the tutorial's three points (y = 2x, so w = 2, b = 0 exactly)."""
    path = out_dir / "tutorial.csv"
    write_csv(path, ["x", "y"], [["1", "2"], ["2", "4"], ["3", "6"]])
    return path


def make_housing(out_dir: Path) -> Path:
    """Write ``housing.csv``: four predictors on very different scales, price target."""
    rng = np.random.default_rng(HOUSING_SEED)
    n = HOUSING_ROWS

    # Predictors are rounded *before* computing the price, so the stated coefficients
    # describe exactly the numbers in the file (apart from the noise).
    area = np.round(
        truncated(lambda k: rng.lognormal(mean=np.log(95.0), sigma=0.38, size=k), 40.0, 250.0, n),
        1,
    )
    rooms = np.clip(np.rint(area / 32.0 + rng.normal(0.0, 0.8, size=n)), 1, 7).astype(int)
    age = np.rint(rng.uniform(0.0, 100.0, size=n)).astype(int)
    distance = np.round(
        truncated(lambda k: rng.gamma(shape=2.0, scale=4.5, size=k) + 0.5, 0.5, 30.0, n), 2
    )

    c = HOUSING_COEFS
    signal = (
        HOUSING_INTERCEPT
        + c["area_m2"] * area
        + c["rooms"] * rooms
        + c["age_years"] * age
        + c["distance_km"] * distance
    )
    price = signal + rng.normal(0.0, HOUSING_NOISE_SD, size=n)

    rows = (
        [fmt(a, 1), str(r), str(g), fmt(d, 2), fmt(p, 1)]
        for a, r, g, d, p in zip(area, rooms, age, distance, price, strict=True)
    )
    path = out_dir / "housing.csv"
    write_csv(path, ["area_m2", "rooms", "age_years", "distance_km", "price_k"], rows)
    return path


def make_sensor(out_dir: Path) -> Path:
    """Write ``sensor.csv``: one numeric predictor (mV), two text columns, temperature."""
    rng = np.random.default_rng(SENSOR_SEED)
    n = SENSOR_ROWS

    times = [SENSOR_START + i * SENSOR_STEP for i in range(n)]
    hours = np.arange(n) * (SENSOR_STEP.total_seconds() / 3600.0)
    stations = rng.choice(len(SENSOR_STATIONS), size=n)

    # Air temperature: a daily cycle peaking mid-afternoon, a slow warming trend,
    # per-station climate offsets and weather noise. This only sets the spread of
    # the readings; the regression target is defined from the reading below.
    station_offset = np.array([-3.0, 2.5, 0.5, -1.0, 1.5])[stations]
    air = (
        8.0
        + 7.0 * np.sin(2.0 * np.pi * (hours - 9.0) / 24.0)
        + 0.4 * hours / 24.0
        + station_offset
        + rng.normal(0.0, 2.0, size=n)
    )
    reading = np.round(500.0 + 10.0 * air + rng.normal(0.0, 3.0, size=n), 1)
    temperature = (
        SENSOR_INTERCEPT + SENSOR_SLOPE * reading + rng.normal(0.0, SENSOR_NOISE_SD, size=n)
    )

    rows = (
        [t.strftime("%Y-%m-%dT%H:%M:%SZ"), SENSOR_STATIONS[s], fmt(r, 1), fmt(y, 2)]
        for t, s, r, y in zip(times, stations, reading, temperature, strict=True)
    )
    path = out_dir / "sensor.csv"
    write_csv(path, ["timestamp", "station", "reading_mv", "temperature_c"], rows)
    return path


def make_parts(out_dir: Path) -> Path:
    """Write ``parts/``: three files of one x, y data set, one with a text y, one other."""
    rng = np.random.default_rng(PARTS_SEED)
    folder = out_dir / "parts"
    folder.mkdir(exist_ok=True)
    for k, n in enumerate(PARTS_ROWS, start=1):
        x = np.round(rng.uniform(0.0, 10.0, size=n), 2)
        y = (k + 1) * x + k + rng.normal(0.0, PARTS_NOISE_SD, size=n)
        write_csv(folder / f"day-{k}.csv", ["x", "y"],
                  ([fmt(a, 2), fmt(b, 2)] for a, b in zip(x, y, strict=True)))
    levels = ("low", "high")
    write_csv(folder / "day-4.csv", ["x", "y"],
              ([fmt(a, 2), levels[int(a > 5.0)]] for a in np.round(rng.uniform(0, 10, 8), 2)))
    write_csv(folder / "other.csv", ["x", "z"],
              ([fmt(a, 2), fmt(2.0 * a, 2)] for a in np.round(rng.uniform(0, 10, 8), 2)))
    return folder


COLLINEAR_SEED: int = 20261207
COLLINEAR_ROWS: int = 30


def make_collinear(out_dir: Path) -> Path:
    """Write ``collinear.csv``: gauge_2 = gauge_1 ± 1, flow = gauge_1 + gauge_2 + noise,
    all integers (so the file's values are exact in binary)."""
    rng = np.random.default_rng(COLLINEAR_SEED)
    g1 = rng.integers(1_000_000, 4_000_000, size=COLLINEAR_ROWS)
    g2 = g1 + rng.integers(-1, 2, size=COLLINEAR_ROWS)
    flow = g1 + g2 + rng.integers(-500, 501, size=COLLINEAR_ROWS)
    path = out_dir / "collinear.csv"
    write_csv(path, ["gauge_1", "gauge_2", "flow"],
              ([str(a), str(b), str(c)] for a, b, c in zip(g1, g2, flow, strict=True)))
    return path


def main(out_dir: Path = OUT_DIR) -> None:
    """(Re)write every sample file into ``out_dir``."""
    for maker in (make_tutorial, make_housing, make_sensor, make_parts, make_collinear):
        path = maker(out_dir)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
