"""Output on a stream that cannot encode Unicode (``PYTHONIOENCODING=ascii``, ``LANG=C``): JSON
with ASCII escapes (the same data), tables and messages with ASCII names; never a crash."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gdfit.ascii import NAMES, ascii_only, encodes

GDFIT = shutil.which("gdfit")
pytestmark = pytest.mark.skipif(GDFIT is None, reason="the gdfit command is not installed")
SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
HOUSING = str(SAMPLES / "housing.csv")
SENSOR = str(SAMPLES / "sensor.csv")
ASCII = {"PYTHONIOENCODING": "ascii"}
C_LOCALE = {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


def gdfit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GDFIT_", "PYTHONIO", "LC_")) and k not in ("LANG", "COLUMNS")}
    return subprocess.run([GDFIT or "gdfit", *args], capture_output=True, check=False,
                          env={**base, **(env or {})}, timeout=120)


def _ascii(data: bytes) -> str:
    return data.decode("ascii")  # raises if a non-ASCII byte got through


@pytest.mark.parametrize("env", [ASCII, C_LOCALE], ids=["PYTHONIOENCODING=ascii", "LANG=C"])
def test_json_is_the_same_data_in_ascii(env: dict[str, str]) -> None:
    plain = gdfit("fit", HOUSING, "-f", "json", "-q")
    limited = gdfit("fit", HOUSING, "-f", "json", "-q", env=env)
    assert limited.returncode == 0, limited.stderr
    text = _ascii(limited.stdout)
    assert "\\u2264" in text  # the ≤ of the message, escaped
    mine, theirs = json.loads(text), json.loads(plain.stdout)
    for volatile in ("elapsed_s",):
        mine.pop(volatile), theirs.pop(volatile)
    assert mine == theirs


@pytest.mark.parametrize("args", [
    ["fit", HOUSING, "-q"],
    ["fit", HOUSING, "--stats", "-q"],
    ["fit", HOUSING, "--max-iter", "3", "--every", "1"],  # progress on stderr; exit 3
    ["compare", HOUSING, "-q"],
    ["fit", SENSOR, "--group-by", "station", "-q"],
    ["steps"],
    ["fit", "--help"],
    ["--help"],
    ["fit", HOUSING, "--plot", "--max-iter", "5", "-q"],
    ["fit", HOUSING, "--explain", "--max-iter", "1", "-q"],
])
def test_tables_and_messages_fall_back_to_ascii(args: list[str]) -> None:
    done = gdfit(*args, env=ASCII)
    assert done.returncode in (0, 3), done.stderr
    out, err = _ascii(done.stdout), _ascii(done.stderr)
    assert "Traceback" not in err and "internal error" not in err
    assert out.strip()
    if args[0] == "fit" and "--help" not in args:
        assert "+--" in out or "|" in out  # Rich's ASCII box
        assert "w[area_m2]" in out or "w_reading_mv" in out


def test_json_formats_of_every_command_are_ascii(tmp_path: Path) -> None:
    model = tmp_path / "model.json"
    assert gdfit("fit", HOUSING, "--save", str(model), "-q").returncode == 0
    for args in (["compare", HOUSING, "-f", "json", "-q"], ["steps", "-f", "json"],
                 ["show", str(model), "-f", "json"], ["fit", SENSOR, "-g", "station",
                                                      "-f", "jsonl", "-q"],
                 ["predict", str(model), HOUSING, "-f", "jsonl"]):
        done = gdfit(*args, env=ASCII)
        assert done.returncode == 0, (args, done.stderr)
        for line in (_ascii(done.stdout).splitlines() if "jsonl" in args else
                     [_ascii(done.stdout)]):
            json.loads(line)


def test_error_messages_use_ascii_names() -> None:
    done = gdfit("fit", HOUSING, "--max-iter", "-1", env=ASCII)
    assert done.returncode == 2
    assert _ascii(done.stderr).startswith(
        "gdfit: error: --max-iter must be a whole number >= 0, got -1\n")


def test_the_names_are_ascii_and_the_probe_works() -> None:
    assert all(name.isascii() for name in NAMES.values())

    class Stream:
        def __init__(self, encoding: str) -> None:
            self.encoding = encoding

    assert encodes(Stream("utf-8")) and not encodes(Stream("ascii"))  # type: ignore[arg-type]
    assert ascii_only(Stream("ascii")) and not ascii_only(Stream("utf-8"))  # type: ignore[arg-type]
