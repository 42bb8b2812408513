"""Readable at any width: at 20 to 200 columns every table keeps each number and each row's key
whole (columns are dropped, or the rows stacked), and a pipe gets the whole table."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import termios
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console, RenderableType

import gdfit
from gdfit.basis import ColumnBasis
from gdfit.batch import fit_dataset, fit_each_file
from gdfit.cli.common import print_renderable
from gdfit.cli.compare import comparison_table
from gdfit.cli.output import batch_table
from gdfit.cli.steps_cmd import policy_info, steps_table
from gdfit.comparison import compare
from gdfit.io import read_dataset
from gdfit.layout import Column, FittedTable
from gdfit.layout_lines import Fields
from gdfit.render import result_table
from gdfit.render_stats import stats_table
from gdfit.stats import summarise
from gdfit.steps import STEP_POLICIES

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
HOUSING = SAMPLES / "housing.csv"
SENSOR = SAMPLES / "sensor.csv"
WIDTHS = (20, 40, 60, 80, 120, 200)
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?(?![\w.])")


def render(renderable: RenderableType, width: int | None) -> str:
    """What a terminal of ``width`` columns shows (None: what a pipe gets)."""
    buffer = io.StringIO()
    if width is None:
        print_renderable(buffer, renderable)
    else:
        Console(file=buffer, width=width, color_system=None, force_terminal=False,
                highlight=False).print(renderable)
    return buffer.getvalue()


def numbers(text: str) -> set[str]:
    return set(NUMBER.findall(text))


def _housing() -> tuple[np.ndarray, np.ndarray, list[str]]:
    data = read_dataset(str(HOUSING))
    return data.X, data.y, list(data.features)


def compare_table() -> RenderableType:
    X, y, names = _housing()
    rows = compare(X, y, features=names, target="price_k")
    return comparison_table(rows, "sample_data/housing.csv",
                            {"max_iter": 100000, "grad_tol": 1e-12}, "standard")


def fit_table() -> RenderableType:
    X, y, names = _housing()
    return result_table(gdfit.fit(X, y, features=names, target="price_k"),
                        "sample_data/housing.csv")


def stats() -> RenderableType:
    X, y, names = _housing()
    result = gdfit.fit(X, y, features=names, target="price_k")
    return stats_table(summarise(ColumnBasis(X, names), y, result))


def each_file_table(tmp_path: Path) -> RenderableType:
    rng = np.random.default_rng(1)
    paths = []
    for day, n in ((1, 40), (2, 60), (3, 50)):
        x = rng.uniform(0, 10, n)
        y = day * x + day + rng.normal(0, 0.5, n)
        path = tmp_path / f"day-{day}.csv"
        np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y", comments="")
        paths.append(str(path))
    (tmp_path / "day-4.csv").write_text("x,y\n1,a\n2,b\n")
    here = os.getcwd()
    os.chdir(tmp_path)  # the sources are then named as a user in that folder names them
    try:
        return batch_table(list(fit_each_file([Path(p).name for p in paths] + ["day-4.csv"])))
    finally:
        os.chdir(here)


def group_table() -> RenderableType:
    return batch_table(list(fit_dataset(read_dataset(str(SENSOR), by=["station"]))))


def policies_table() -> RenderableType:
    return steps_table([policy_info(cls) for cls in STEP_POLICIES.values()])


TABLES: dict[str, Callable[..., RenderableType]] = {
    "compare": compare_table, "fit": fit_table, "stats": stats,
    "each-file": each_file_table, "group-by": group_table, "steps": policies_table}
KEYS = {
    "compare": ["cg", "bb", "nesterov", "wolfe", "exact", "trust-region", "backtracking",
                "lipschitz"],
    "fit": ["w[area_m2]", "w[rooms]", "w[age_years]", "w[distance_km]"],
    "stats": ["(Intercept)", "area_m2", "distance_km"],
    "each-file": ["day-1.csv", "day-2.csv", "day-3.csv", "day-4.csv"],
    "group-by": ["harbor", "west", "south", "east", "north"],
    "steps": list(STEP_POLICIES),
}


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, RenderableType]:
    tmp = tmp_path_factory.mktemp("parts")
    return {name: make(tmp) if name == "each-file" else make() for name, make in TABLES.items()}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_number_and_key_stays_whole_at_any_width(tables: dict[str, RenderableType],
                                                       name: str, width: int) -> None:
    full = render(tables[name], None)
    shown = render(tables[name], width)
    assert numbers(full) <= numbers(shown), sorted(numbers(full) - numbers(shown))
    words = set(re.split(r"\s+|[│┃|]", shown))
    for key in KEYS[name]:
        assert key in words, (key, shown)
    assert "…" not in shown
    too_long = [line for line in shown.splitlines() if cell_len(line.rstrip()) > width]
    assert not too_long, too_long


@pytest.mark.parametrize("name", sorted(TABLES))
def test_a_pipe_gets_every_column(tables: dict[str, RenderableType], name: str) -> None:
    full = render(tables[name], None)
    header = {"compare": "policy", "fit": "gradient descent", "stats": "Estimate",
              "each-file": "status", "group-by": "status", "steps": "formula"}[name]
    heads = [line for line in full.splitlines() if header in line]
    assert len(heads) == 1  # one table, not split or stacked
    assert "─" in full or "━" in full


def test_a_table_too_wide_is_split_with_its_keys_repeated(
        tables: dict[str, RenderableType]) -> None:
    at_80 = render(tables["compare"], 80)
    heads = [line for line in at_80.splitlines() if "policy" in line]
    assert len(heads) == 2  # two tables, each with the rank and the policy
    for kept in ("#", "iterations", "MSE − min", "stop"):
        assert kept in heads[0]
    for later in ("∇f evals", "f evals", "time", "MSE"):
        assert re.search(rf"┃ +{later} ┃", heads[1]) and not re.search(rf"┃ +{later} ┃",
                                                                       heads[0])
    assert sum(line.count("│ cg ") for line in at_80.splitlines()) == 2


def test_very_narrow_terminals_stack_each_row() -> None:
    table = FittedTable([Column("name", justify="left", key=True), Column("value")],
                        [["alpha", "1.23456789012"], ["beta", "-9.87654321098e-07"]])
    text = render(table, 19)
    assert text.splitlines()[0] == "alpha"
    assert "1.23456789012" in text and "-9.87654321098e-07" in text


def test_fields_put_labels_above_values_when_narrow() -> None:
    fields = Fields([("iterations", "4  (5 function, 5 gradient evaluations)"),
                     ("MSE", "1945.7336   RMSE 44.11047")])
    wide, narrow = render(fields, 80), render(fields, 20)
    assert wide.splitlines()[0].startswith("iterations  4")
    assert narrow.splitlines()[0].strip() == "iterations"
    assert numbers(wide) == numbers(narrow)


# --- the command on a real terminal (a pseudo-terminal of a given size) ----------------------

GDFIT = shutil.which("gdfit")
TIME = re.compile(r"\d+(?:\.\d+)? m?s\b")


def on_terminal(width: int, *args: str) -> str:
    """Run gdfit on a pseudo-terminal ``width`` columns wide; return what it showed."""
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 40, width, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "FORCE_COLOR")}
    env.update(NO_COLOR="1", TERM="xterm")
    proc = subprocess.Popen([GDFIT or "gdfit", *args], stdin=child, stdout=child,
                            stderr=child, env=env, close_fds=True)
    os.close(child)
    chunks = []
    while True:
        ready, _, _ = select.select([main], [], [], 120)
        if not ready:
            break
        try:
            data = os.read(main, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=120)
    os.close(main)
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)


@pytest.mark.skipif(GDFIT is None, reason="the gdfit command is not installed")
@pytest.mark.parametrize("args", [
    ["compare", str(HOUSING), "-q"], ["fit", str(HOUSING), "-q"],
    ["fit", str(SAMPLES / "tutorial.csv"), "--explain", "--max-iter", "2", "--scale", "none"],
])
@pytest.mark.parametrize("width", [20, 80])
def test_the_command_fits_its_terminal(args: list[str], width: int) -> None:
    done = subprocess.run([GDFIT or "gdfit", *args], capture_output=True, text=True)
    piped = done.stdout + done.stderr  # notes and --explain wrap at spaces on a terminal
    shown = on_terminal(width, *args)
    assert numbers(TIME.sub("", piped)) <= numbers(TIME.sub("", shown))
    assert all(cell_len(line.rstrip()) <= width for line in shown.splitlines()), shown
