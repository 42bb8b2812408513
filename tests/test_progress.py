"""The progress table: as wide as the terminal, names whole, nothing for quick fits, one line
for a run of unchanged rows."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console
from typer.testing import CliRunner

from gdfit.cli import app
from gdfit.render_progress import QUIET_UNTIL, ProgressPrinter
from gdfit.result import IterRecord

runner = CliRunner()
HOUSING = str(Path(__file__).resolve().parents[1] / "sample_data" / "housing.csv")
FEATURES = ["area_m2", "rooms", "age_years", "distance_km"]
HEADER = "loss (MSE)"


def record(k: int, loss: float = 100.0, w: float = 1.0) -> IterRecord:
    return IterRecord(k, loss, 0.5, 0.01, np.full(4, w), 3.0)


def terminal(width: int) -> tuple[Console, io.StringIO]:
    screen = io.StringIO()
    return Console(file=screen, width=width, force_terminal=True, color_system=None), screen


def feed(printer: ProgressPrinter, records: list[IterRecord]) -> None:
    for rec in records:
        printer(rec)
    printer.finish()


@pytest.mark.parametrize("width", [20, 40, 60, 80, 120, 200])
def test_the_table_fits_the_terminal_and_never_shortens_a_name(width: int) -> None:
    console, screen = terminal(width)
    feed(ProgressPrinter(console, FEATURES, True), [record(k, 1e4 / (k + 1), -1.2345678e-5)
                                                    for k in (0, 1, 2, 5, 10, 20, 50)])
    lines = screen.getvalue().splitlines()
    assert lines[0].split()[:3] == ["iter", "loss", "(MSE)"]
    rows = [ln for ln in lines if ln.strip()[:1].isdigit()]
    assert [ln.split()[0] for ln in rows] == ["0", "1", "2", "5", "10", "20", "50"]
    for line in [lines[0], *rows]:
        assert cell_len(line) <= width, line
    shown = [name for name in (f"w[{f}]" for f in FEATURES) if name in lines[0]]
    hidden = [name for name in (f"w[{f}]" for f in FEATURES) if name not in lines[0]]
    note = " ".join(lines[1:lines.index(rows[0])])  # between the header and the rows
    if hidden:  # named under the header, whole
        assert "not shown" in note and all(name in note.split() or f"{name}," in note.split()
                                           or f"{name})" in note.split() for name in hidden)
    else:
        assert note == ""
    assert "…" not in screen.getvalue()
    if width >= 120:
        assert len(shown) == 4 and " b" in lines[0]


def test_a_file_or_pipe_gets_every_column() -> None:
    console = Console(file=io.StringIO(), width=40, force_terminal=False)
    feed(ProgressPrinter(console, FEATURES, True), [record(k) for k in range(12)])
    head = console.file.getvalue().splitlines()[0]  # type: ignore[attr-defined]
    assert all(f"w[{f}]" in head for f in FEATURES) and "‖∇f‖" in head and "step" in head


def test_quick_fits_print_no_table() -> None:
    console, screen = terminal(120)
    feed(ProgressPrinter(console, FEATURES, True), [record(k, 100 - k) for k in range(5)])
    assert screen.getvalue() == ""
    feed(ProgressPrinter(console, FEATURES, True, every=1), [record(0)])
    assert HEADER in screen.getvalue()  # --every asks for it


def test_a_longer_fit_prints_the_rows_held_back() -> None:
    console, screen = terminal(120)
    printer = ProgressPrinter(console, FEATURES, True)
    for k in (0, 1, 2, 5, 10):
        printer(record(k, 100 - k))
    assert screen.getvalue() == ""
    printer(record(QUIET_UNTIL + 10, 50))
    printer.finish()
    rows = [ln.split()[0] for ln in screen.getvalue().splitlines()[1:]]
    assert rows == ["0", "1", "2", "5", "10", "20"]


def test_unchanged_rows_collapse_into_one_line() -> None:
    console, screen = terminal(120)
    records = [record(k, 100.0 / (k + 1)) for k in (0, 1, 2, 5, 10, 20)]
    records += [record(k, 100.0 / 21) for k in (50, 100, 200, 500, 1000, 2000, 5000, 10000,
                                                20000, 50000)]
    records.append(record(60000, 1.0))
    records += [record(k, 1.0) for k in (100000,)]
    feed(ProgressPrinter(console, FEATURES, True), records)
    lines = screen.getvalue().splitlines()[1:]
    assert [ln.split()[0] for ln in lines] == ["0", "1", "2", "5", "10", "20", "50000",
                                               "60000", "100000"]
    assert lines[6].split(None, 1)[1] == "no change since iteration 20"
    assert lines[8].split(None, 1)[1] == "no change since iteration 60000"


def test_the_command_skips_the_table_for_a_quick_fit_and_shows_it_for_a_long_one() -> None:
    quick = runner.invoke(app, ["fit", HOUSING])  # conjugate gradient: 4 iterations
    assert quick.exit_code == 0 and "chosen automatically" in quick.stderr
    assert HEADER not in quick.stderr
    longer = runner.invoke(app, ["fit", HOUSING, "--step", "bb"])
    head = next(line for line in longer.stderr.splitlines() if HEADER in line)
    assert all(f"w[{f}]" in head for f in FEATURES)  # stderr is not a terminal: every column
    asked = runner.invoke(app, ["fit", HOUSING, "--every", "1"])
    rows = [ln.split()[0] for ln in asked.stderr.splitlines() if ln.strip()[:1].isdigit()]
    assert rows == ["0", "1", "2", "3", "4"]


def test_a_stalled_run_prints_one_line_for_its_unchanged_rows() -> None:
    done = runner.invoke(app, ["fit", HOUSING, "--step", "norm", "--alpha", "0.001",
                               "--max-iter", "3000", "--grad-tol", "0"])
    lines = [ln for ln in done.stderr.splitlines() if ln.strip()[:1].isdigit()]
    numbers = [ln.split()[1:] for ln in lines if "no change" not in ln]
    assert len(numbers) == len({tuple(n) for n in numbers})  # no two rows alike
    assert lines[-1].split(None, 1)[1].startswith("no change since iteration")


@pytest.mark.parametrize("width", [20, 40, 60, 80, 120, 200])
def test_the_bar_keeps_the_count_and_the_loss_whole(width: int) -> None:
    from rich.progress import Progress

    from gdfit.cli.progress import bar_columns

    console, screen = terminal(width)
    bar = Progress(*bar_columns(width, 100000), console=console, auto_refresh=False)
    task = bar.add_task("trust-region", total=100000, loss="")
    bar.update(task, completed=12345, loss=f"{-1.23456789e-5:.6g}")
    console.print(bar.get_renderable())
    shown = screen.getvalue()
    assert "12345/100000" in shown and "…" not in shown
    assert all(cell_len(line.rstrip()) <= width for line in shown.splitlines())
    if width >= 40:
        assert "loss -1.23457e-05" in shown
    if width >= 120:
        assert "trust-region" in shown and "ETA" in shown
