"""What the readers' rules cost: a multi-byte delimiter, and quote-aware block ends.

Writes one table of random numbers twice, with ``,`` and with ``§`` (two bytes in UTF-8)
between the fields, then times in this process, runs alternating, medians:

* ``gdfit.io.read_dataset`` (the rows engine, pandas) and ``gdfit.stream.stream_moments`` (the
  gram engine, pyarrow) on each file: the ``§`` / ``,`` ratio is the cost of the stand-in byte;
* ``stream_moments`` with the quote-parity block ends (``gdfit.stream._record_end``) against
  the same pass with that check replaced by "the block ends where it was cut": the ratio is
  the cost of never cutting a quoted field.

    python benchmarks/readers.py [--rows N] [--repeat K]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np


def write_tables(folder: Path, rows: int) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(rows, 4))
    lines = "\n".join(",".join(f"{v:.10g}" for v in row) for row in data)
    paths = {}
    for name, sep in (("comma", ","), ("section", "§")):
        path = folder / f"{name}.csv"
        path.write_text(sep.join("abcy") + "\n" + lines.replace(",", sep) + "\n",
                        encoding="utf-8")
        paths[name] = path
    return paths


def median_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import gdfit.stream as stream
    from gdfit.io import read_dataset

    with tempfile.TemporaryDirectory() as tmp:
        paths = write_tables(Path(tmp), args.rows)
        size = paths["comma"].stat().st_size / 2**20
        print(f"{args.rows} rows × 4 columns, {size:.1f} MiB; medians of {args.repeat} runs")
        results: dict[str, float] = {}
        for _ in range(2):  # alternate the contenders twice; keep the better median
            for name, sep in (("comma", ","), ("section", "§")):
                for engine, run in (
                        ("rows", lambda p=paths[name], s=sep: read_dataset(p, sep=s)),
                        ("gram", lambda p=paths[name], s=sep: stream.stream_moments(
                            [str(p)], sep=s))):
                    key = f"{engine} {name}"
                    t = median_time(run, args.repeat)
                    results[key] = min(results.get(key, t), t)
            original = stream._record_end
            try:
                stream._record_end = len  # the block ends where it was cut
                t = median_time(lambda: stream.stream_moments([str(paths["comma"])]),
                                args.repeat)
            finally:
                stream._record_end = original
            results["gram no-parity"] = min(results.get("gram no-parity", t), t)
        for engine in ("rows", "gram"):
            a, b = results[f"{engine} comma"], results[f"{engine} section"]
            print(f"{engine:5s} ','  {a:7.3f} s   '§' {b:7.3f} s   ratio §/, {b / a:5.2f}")
        a, b = results["gram no-parity"], results["gram comma"]
        print(f"gram  blocks cut anywhere {a:7.3f} s   quote-aware {b:7.3f} s   ratio {b / a:5.2f}")


if __name__ == "__main__":
    main()
