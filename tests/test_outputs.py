"""Every file the commands write (-o, --save, --trace, --plot-file, predict -o, show -o): never
over an input, never over a file without --force, devices and FIFOs written into, one mode,
and OS errors as one line with exit 1 (the writer itself is tested in test_atomic.py)."""

from __future__ import annotations

import csv
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import gdfit.atomic as atomic
import gdfit.plot as plot_mod
from gdfit.cli import app
from gdfit.errors import ExitCode
from gdfit.history import HISTORY_LIMIT

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
GDFIT = shutil.which("gdfit")
needs_exe = pytest.mark.skipif(GDFIT is None, reason="the gdfit executable is not installed")
WAIT = 120  # seconds; a safety net against a hang, never an assertion on speed


def run(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def last_line(err: str) -> str:
    return err.strip().splitlines()[-1]


def umasked() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def hidden(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


@pytest.fixture
def sensor(tmp_path: Path) -> Path:
    path = tmp_path / "sensor.csv"
    shutil.copy(SAMPLES / "sensor.csv", path)
    return path


@pytest.fixture
def model(tmp_path: Path, sensor: Path) -> Path:
    path = tmp_path / "model.json"
    code, _, err = run("fit", sensor, "--x", "reading_mv", "--save", path, "-q")
    assert code == 0, err
    return path


# ---- an input is never written over, even with --force -----------------------------------

def needs_matplotlib(option: str) -> None:
    if option == "--plot-file":
        pytest.importorskip("matplotlib")


@pytest.mark.parametrize("option", ["--trace", "--save", "--output", "--plot-file"])
@pytest.mark.parametrize("force", [[], ["--force"]])
def test_fit_refuses_to_write_over_its_input(sensor: Path, option: str, force: list[str]
                                             ) -> None:
    needs_matplotlib(option)
    before = sensor.read_bytes()
    target = sensor
    if option == "--plot-file":  # a picture's name for the data file
        target = sensor.parent / "sensor.png"
        target.symlink_to(sensor.name)
    code, out, err = run("fit", sensor, "-q", option, target, *force)
    assert code == ExitCode.USAGE_ERROR and out == ""
    assert last_line(err).startswith(f"gdfit: error: {target}: is an input of this run")
    assert "even with --force" in err
    assert sensor.read_bytes() == before and hidden(sensor.parent) == []


@pytest.mark.parametrize("option", ["--trace", "--plot-file"])
def test_compare_refuses_to_write_over_its_input(sensor: Path, option: str) -> None:
    needs_matplotlib(option)
    before = sensor.read_bytes()
    target = sensor.parent / "same.png"
    os.link(sensor, target)  # a hard link: another name, the same file
    code, _, err = run("compare", sensor, "--steps", "exact", option, target, "--force", "-q")
    assert code == ExitCode.USAGE_ERROR and "is an input of this run" in err
    assert sensor.read_bytes() == before


def test_a_glob_expanded_to_the_inputs_is_checked(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("a.csv", "b.csv"):
        shutil.copy(SAMPLES / "tutorial.csv", folder / name)
    before = (folder / "a.csv").read_bytes()
    code, _, err = run("fit", str(folder / "*.csv"), "-q", "--trace", f"{folder}/./a.csv",
                       "--force")
    assert code == ExitCode.USAGE_ERROR
    assert last_line(err) == (f"gdfit: error: {folder}/./a.csv: is an input of this run; gdfit "
                              "never writes over an input, even with --force")
    assert (folder / "a.csv").read_bytes() == before


def test_the_check_comes_before_any_data_is_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("x,y\n1,oops\n")  # reading it would fail with exit 1
    code, _, err = run("fit", bad, "--save", bad, "--force")
    assert code == ExitCode.USAGE_ERROR and "is an input of this run" in err
    assert bad.read_text() == "x,y\n1,oops\n"


def test_predict_and_show_do_not_write_over_the_model_or_the_data(model: Path, sensor: Path
                                                                   ) -> None:
    saved = model.read_bytes()
    for args in (("predict", model, sensor, "-o", model, "--force"),
                 ("predict", model, sensor, "-o", sensor, "--force"),
                 ("show", model, "-o", model, "--force")):
        code, _, err = run(*args)
        assert code == ExitCode.USAGE_ERROR, args
        assert "is an input of this run" in last_line(err), args
    assert model.read_bytes() == saved and hidden(model.parent) == []


@needs_exe
def test_standard_input_is_an_input_too(sensor: Path) -> None:
    assert GDFIT is not None
    before = sensor.read_bytes()
    with open(sensor, "rb") as stdin:
        done = subprocess.run([GDFIT, "fit", "-", "-q", "-f", "csv", "-o", str(sensor),
                               "--force"], stdin=stdin, capture_output=True, text=True,
                              timeout=WAIT)
    assert done.returncode == ExitCode.USAGE_ERROR
    assert f"{sensor}: is an input of this run (the same file as standard input)" in done.stderr
    assert sensor.read_bytes() == before


@pytest.mark.parametrize("option", ["--trace", "--save", "--plot-file"])
def test_dash_is_not_a_file_name_for_files_only_options(sensor: Path, option: str) -> None:
    code, out, err = run("fit", sensor, "-q", option, "-")
    assert code == ExitCode.USAGE_ERROR and out == ""
    assert last_line(err) == f"gdfit: error: {option} needs a file name"


def test_two_outputs_may_not_name_one_file(sensor: Path, tmp_path: Path) -> None:
    code, _, err = run("fit", sensor, "-q", "--trace", tmp_path / "t.csv", "-o",
                       tmp_path / "t.csv")
    assert code == ExitCode.USAGE_ERROR and "--output and --trace name the same file" in err
    assert not (tmp_path / "t.csv").exists()


# ---- existing files need --force, for every output ---------------------------------------

@pytest.mark.parametrize("command", ["fit", "compare"])
@pytest.mark.parametrize("option, name", [("--trace", "t.csv"), ("--plot-file", "p.png")])
def test_trace_and_plot_file_need_force_to_replace(sensor: Path, tmp_path: Path, command: str,
                                                   option: str, name: str) -> None:
    needs_matplotlib(option)
    target = tmp_path / name
    target.write_text("precious")
    args = [command, sensor, "-q", option, target]
    if command == "compare":
        args += ["--steps", "exact"]
    code, out, err = run(*args)
    assert code == ExitCode.USAGE_ERROR and out == ""
    assert last_line(err) == f"gdfit: error: {target}: already exists; use --force to overwrite it"
    assert target.read_text() == "precious"
    code, _, err = run(*args, "--force")
    assert code == 0, err
    assert target.read_bytes() != b"precious" and hidden(tmp_path) == []


# ---- devices and FIFOs are written into ---------------------------------------------------

@pytest.fixture
def null_device(tmp_path: Path) -> Path:
    """A private /dev/null (the same device, 1:3), so that a writer that renames over it can
    fail this test without breaking the machine's /dev/null."""
    path = tmp_path / "null"
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (OSError, AttributeError) as exc:
        pytest.skip(f"cannot make a device node here: {exc}")
    return path


@pytest.mark.parametrize("option", ["--trace", "--output", "--save"])
def test_a_null_device_is_written_into_without_force(sensor: Path, option: str,
                                                     null_device: Path) -> None:
    code, _, err = run("fit", sensor, "--x", "reading_mv", "-q", option, null_device)
    assert code == 0, err
    assert stat.S_ISCHR(os.lstat(null_device).st_mode)
    assert hidden(null_device.parent) == []


def test_a_fifo_gets_the_trace(sensor: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    code, _, err = run("fit", sensor, "--x", "reading_mv", "-q", "--trace", fifo)
    reader.join(WAIT)
    assert code == 0, err
    rows = list(csv.DictReader(got[0].splitlines()))
    assert rows[0]["iteration"] == "0" and stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sensor.csv", "trace.fifo"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_exit_1(sensor: Path) -> None:
    code, _, err = run("fit", sensor, "-q", "-f", "json", "-o", "/dev/full")
    assert code == ExitCode.DATA_ERROR
    assert last_line(err) == "gdfit: error: cannot write /dev/full: no space left on device"


@needs_exe
def test_dev_stdout_writes_through_the_open_descriptor(sensor: Path, tmp_path: Path) -> None:
    assert GDFIT is not None
    log = tmp_path / "log.txt"
    log.write_text("previous line\n")
    with open(log, "a") as out:  # as `>> log.txt` opens it
        done = subprocess.run([GDFIT, "fit", str(sensor), "-q", "-f", "csv", "-o",
                               "/dev/stdout"], stdout=out, stderr=subprocess.PIPE, text=True,
                              timeout=WAIT)
    assert done.returncode == 0, done.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "previous line" and lines[1].startswith("source,")
    assert hidden(tmp_path) == []


# ---- modes --------------------------------------------------------------------------------

def test_every_output_gets_the_same_mode(sensor: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    names = {"--trace": "t.csv", "--plot-file": "p.png", "--save": "m.json", "-o": "r.json"}
    args = [a for option, name in names.items() for a in (option, tmp_path / name)]
    code, _, err = run("fit", sensor, "--x", "reading_mv", "-q", "-f", "json", *args)
    assert code == 0, err
    for name in names.values():
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == umasked(), name
    (tmp_path / "p.png").chmod(0o640)
    code, _, err = run("fit", sensor, "--x", "reading_mv", "-q", "--plot-file",
                       tmp_path / "p.png", "--force")
    assert code == 0, err
    assert stat.S_IMODE((tmp_path / "p.png").stat().st_mode) == 0o640  # kept when replaced


# ---- OS errors: exit 1, one line, nothing partial, the old file unchanged -----------------

def fail_with(monkeypatch: pytest.MonkeyPatch, where: str, code: int) -> None:
    module, name = where.split(".")

    def fail(*args: object, **kw: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(getattr(atomic, module), name, fail)


@pytest.mark.parametrize("option, name", [("--plot-file", "p.png"), ("--trace", "t.csv"),
                                          ("--save", "m.json"), ("--output", "r.json")])
@pytest.mark.parametrize("where, code, reason", [
    ("tempfile.mkstemp", errno.EROFS, "read-only file system"),
    ("os.fsync", errno.ENOSPC, "no space left on device"),
    ("tempfile.mkstemp", errno.EACCES, "permission denied"),
])
def test_os_errors_are_exit_1_and_leave_the_old_file(sensor: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     option: str, name: str, where: str,
                                                     code: int, reason: str) -> None:
    needs_matplotlib(option)
    target = tmp_path / name
    target.write_bytes(b"old")
    fail_with(monkeypatch, where, code)
    status, _, err = run("fit", sensor, "--x", "reading_mv", "-q", option, target, "--force")
    assert status == ExitCode.DATA_ERROR, err
    assert last_line(err) == f"gdfit: error: cannot write {target}: {reason}"
    assert "Traceback" not in err
    assert target.read_bytes() == b"old" and hidden(tmp_path) == []


class FillingUp:
    """A file that runs out of space after `room` characters (ENOSPC, as a full disk)."""

    def __init__(self, fh: Any, room: int) -> None:
        self.fh, self.room = fh, room

    def write(self, data: Any) -> int:
        self.room -= len(data)
        if self.room < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return int(self.fh.write(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fh, name)

    def __enter__(self) -> FillingUp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.fh.close()


def test_a_disk_that_fills_up_during_a_traced_fit_is_exit_1(
        sensor: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **kw: FillingUp(real(*a, **kw), 50_000))
    trace = tmp_path / "t.csv"
    code, out, err = run("fit", sensor, "--x", "reading_mv", "--step", "fixed", "--alpha",
                         "1e-3", "--grad-tol", "0", "--max-iter", "5000", "--trace", trace)
    assert code == ExitCode.DATA_ERROR and out == ""
    assert last_line(err) == f"gdfit: error: cannot write {trace}: no space left on device"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sensor.csv"]


def test_a_missing_folder_or_a_folder_as_target_is_exit_1(sensor: Path, tmp_path: Path) -> None:
    for option in ("--trace", "--save", "-o"):
        code, _, err = run("fit", sensor, "-q", option, tmp_path / "no" / "f.csv")
        assert code == ExitCode.DATA_ERROR
        assert last_line(err) == (f"gdfit: error: cannot write {tmp_path / 'no' / 'f.csv'}: "
                                  f"no such directory {tmp_path / 'no'}")
        code, _, err = run("fit", sensor, "-q", option, tmp_path, "--force")
        assert code == ExitCode.DATA_ERROR
        assert last_line(err) == f"gdfit: error: cannot write {tmp_path}: it is a directory; " \
            "give a file name"


def test_a_fit_that_fails_leaves_no_trace_file(tmp_path: Path) -> None:
    data = tmp_path / "const.csv"
    data.write_text("x,k,y\n1,5,2\n2,5,4\n3,5,6.5\n4,5,8\n")  # k is constant: no fit
    code, _, err = run("fit", data, "--trace", tmp_path / "t.csv")
    assert code == ExitCode.DATA_ERROR and "constant" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["const.csv"]


# ---- bounded memory: the trace streams every row, the plot keeps a bounded history --------

def test_a_long_run_traces_every_row_and_plots_a_bounded_history(
        sensor: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kept: list[int] = []
    real = plot_mod.series_of

    def spy(label, result, problem):  # type: ignore[no-untyped-def]
        kept.append(len(result.history))
        return real(label, result, problem)

    monkeypatch.setattr(plot_mod, "series_of", spy)
    iterations = 3 * HISTORY_LIMIT
    trace = tmp_path / "t.csv"
    code, out, err = run("fit", sensor, "--x", "reading_mv", "--step", "fixed", "--alpha",
                         "1e-3", "--grad-tol", "0", "--loss-tol", "0", "--max-iter",
                         str(iterations), "--trace", trace, "--plot", "-f", "json")
    assert code == 0, err
    with open(trace, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["iteration"]) for r in rows] == list(range(iterations + 1))
    assert float(rows[-1]["w_reading_mv"]) == json.loads(out)["w"][0]
    assert kept and kept[0] <= HISTORY_LIMIT + 1
    assert f"wrote {iterations + 1} iterations to {trace}" in err


@needs_exe
def test_sigterm_during_a_traced_fit_writes_the_rows_so_far(tmp_path: Path) -> None:
    assert GDFIT is not None
    trace = tmp_path / "t.csv"
    proc = subprocess.Popen([GDFIT, "fit", str(SAMPLES / "housing.csv"), "--step", "fixed",
                             "--alpha", "1e-9", "--grad-tol", "0", "--max-iter", "100000000",
                             "--trace", str(trace), "-q", "-f", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + WAIT
    while not hidden(tmp_path) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)  # wait for the temporary trace file: the descent is running
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    result = json.loads(out)
    with open(trace, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert result["status"] == "interrupted" and rows
    # Every iteration up to the one reported, the last row being that iterate.
    assert [int(r["iteration"]) for r in rows] == list(range(result["iterations"] + 1))
    assert [float(rows[-1][f"w_{f}"]) for f in result["features"]] == result["w"]
    assert hidden(tmp_path) == []
