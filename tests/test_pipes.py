"""The installed ``gdfit`` in real shell pipelines: stdin, closed pipes, signals, colour,
environment defaults, shell completion."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gdfit.cli import app

GDFIT = shutil.which("gdfit")
needs_exe = pytest.mark.skipif(GDFIT is None, reason="the gdfit executable is not installed")
runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"
HOUSING = SAMPLES / "housing.csv"
WAIT = 120  # seconds; a safety net against a hang, never an assertion on speed


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without gdfit's and Rich's switches."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("GDFIT_") and k not in ("FORCE_COLOR", "NO_COLOR", "COLUMNS",
                                                       "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
    env.update(extra)
    return env


def gdfit(*args: str | Path, env: dict[str, str] | None = None, input: str | None = None,
          cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    assert GDFIT is not None
    return subprocess.run([GDFIT, *map(str, args)], capture_output=True, text=True,
                          input=input, env=env or clean_env(), cwd=cwd, timeout=WAIT)


def bash(script: str, cwd: Path, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=cwd,
                          env=env or clean_env(), timeout=WAIT)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.json"
    done = gdfit("fit", HOUSING, "--save", path, "-q")
    assert done.returncode == 0, done.stderr
    return path


@pytest.fixture
def big_csv(tmp_path: Path) -> Path:
    """Enough rows that the output overflows any pipe buffer."""
    rng = np.random.default_rng(3)
    X = rng.uniform(40, 250, size=(20000, 4))
    path = tmp_path / "big.csv"
    np.savetxt(path, np.column_stack([X, X @ [2, 10, -1, -3]]), delimiter=",", fmt="%.6f",
               header="area_m2,rooms,age_years,distance_km,price_k", comments="")
    return path


@needs_exe
def test_stdin_to_json_to_a_parser(tmp_path: Path) -> None:
    done = bash(f"set -o pipefail; cat {HOUSING} | gdfit fit - --format json | "
                f"{sys.executable} -c 'import json,sys; d = json.load(sys.stdin); "
                "print(d[\"source\"], d[\"n_obs\"])'", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "<stdin> 1000\n"


@needs_exe
def test_predict_into_head_exits_quietly(tmp_path: Path, model: Path, big_csv: Path) -> None:
    done = bash(f"gdfit predict {model} {big_csv} | head -1; echo \"status ${{PIPESTATUS[0]}}\"",
                tmp_path)
    first, status = done.stdout.splitlines()
    assert first == "area_m2,rooms,age_years,distance_km,price_k,prediction,residual"
    assert done.stderr == ""  # no traceback, no "Exception ignored", no message
    assert status in ("status 0", "status 1")  # 1: the reader went away, as documented


@needs_exe
@pytest.mark.parametrize("command", [
    "gdfit predict {model} {big} --format jsonl -q",
    "gdfit fit --each-file {big} {big} {big} --format jsonl -q",
    "gdfit show {model}",
    # a trace written into a pipe (it said "cannot write /dev/stdout: broken pipe", exit 1)
    "gdfit fit {big} --step fixed --max-iter 20000 --grad-tol 0 -q --trace /dev/stdout",
])
def test_other_output_into_head(tmp_path: Path, model: Path, big_csv: Path, command: str
                                ) -> None:
    line = command.format(model=model, big=big_csv)
    done = bash(f"{line} | head -1 >/dev/null; echo ${{PIPESTATUS[0]}}", tmp_path)
    assert done.stderr == ""
    assert done.stdout.strip() in ("0", "1")


@needs_exe
def test_predict_reads_standard_input(tmp_path: Path, model: Path) -> None:
    done = bash(f"head -3 {HOUSING} | gdfit predict {model} - --format jsonl", tmp_path)
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 2 and set(rows[0]) >= {"area_m2", "prediction", "residual"}


def wait_for_progress(proc: subprocess.Popen[str], iteration: int) -> None:
    """Read the progress table on stderr until it reaches `iteration`."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        first = line.split()[0] if line.split() else ""
        if first.isdigit() and int(first) >= iteration:
            return
    raise AssertionError("the fit ended before it reached the iteration: " + "".join(seen))


LONG_FIT = ("fit", str(HOUSING), "--step", "fixed", "--alpha", "1e-9", "--grad-tol", "0",
            "--max-iter", "1000000000", "--every", "1000")


@needs_exe
def test_ctrl_c_leaves_no_model_file(tmp_path: Path) -> None:
    assert GDFIT is not None
    target = tmp_path / "model.json"
    proc = subprocess.Popen([GDFIT, *LONG_FIT, "--save", str(target), "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env(), cwd=tmp_path)
    wait_for_progress(proc, 2000)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 130
    assert json.loads(out)["status"] == "interrupted"  # the best iterate so far is still reported
    assert "no model was saved" in err and "Traceback" not in err
    assert os.listdir(tmp_path) == []  # neither the model nor a temporary file


@needs_exe
def test_sigterm_leaves_no_model_file(tmp_path: Path) -> None:
    assert GDFIT is not None
    target = tmp_path / "model.json"
    proc = subprocess.Popen([GDFIT, *LONG_FIT, "--save", str(target)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env(), cwd=tmp_path)
    wait_for_progress(proc, 2000)
    proc.terminate()
    proc.communicate(timeout=WAIT)
    assert proc.returncode in (-signal.SIGTERM, 130, 143)
    assert os.listdir(tmp_path) == []


@needs_exe
def test_sigterm_while_writing_output_removes_the_temporary_file(tmp_path: Path,
                                                                 model: Path) -> None:
    """predict --output from a pipe that stays open: the temporary file exists while
    gdfit waits for rows; SIGTERM must remove it and leave no output file."""
    assert GDFIT is not None
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = subprocess.Popen([GDFIT, "predict", str(model), "-", "--output",
                             str(out_dir / "pred.csv")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=clean_env())
    assert proc.stdin is not None
    proc.stdin.write(HOUSING.read_text()[:2000])
    proc.stdin.flush()
    seen = threading.Event()

    def watch() -> None:
        while proc.poll() is None and not seen.is_set():
            if any(p.name.endswith(".tmp") for p in out_dir.iterdir()):
                seen.set()
            seen.wait(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    watcher.join(WAIT)
    assert seen.is_set(), "the temporary file never appeared"
    proc.terminate()
    _, err = proc.communicate(timeout=WAIT)
    assert proc.returncode == 130 and "interrupted" in err
    assert os.listdir(out_dir) == []


@needs_exe
def test_jsonl_is_flushed_as_each_fit_finishes(tmp_path: Path) -> None:
    """The first file's line arrives while gdfit still waits for the second file (stdin)."""
    assert GDFIT is not None
    proc = subprocess.Popen([GDFIT, "fit", "--each-file", str(HOUSING), "-", "--format",
                             "jsonl", "-q"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=clean_env())
    assert proc.stdin is not None and proc.stdout is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()))  # type: ignore[union-attr]
    reader.start()
    reader.join(WAIT)
    assert lines and json.loads(lines[0])["source"] == str(HOUSING)
    assert proc.poll() is None  # still waiting for standard input
    out, _ = proc.communicate("x,y\n1,2\n2,4.5\n3,6\n", timeout=WAIT)
    assert proc.returncode == 0
    assert json.loads(out)["source"] == "<stdin>"


@needs_exe
def test_no_colour_codes_in_a_pipe(tmp_path: Path, model: Path) -> None:
    env = clean_env(TERM="xterm")
    for args in (("fit", HOUSING), ("fit", SAMPLES / "sensor.csv", "--group-by", "station"),
                 ("show", model)):
        done = gdfit(*args, env=env)
        assert done.returncode == 0, done.stderr
        assert "\x1b[" not in done.stdout and "\x1b[" not in done.stderr
        assert done.stdout.strip()


def invoke(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """In-process, for what needs no real process: the environment, files, notes."""
    base = {k: None for k in os.environ if k.startswith("GDFIT_")}
    result = runner.invoke(app, [str(a) for a in args], env={**base, **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_environment_defaults_and_options_win() -> None:
    env = {"GDFIT_FORMAT": "json", "GDFIT_STEP": "backtracking"}
    code, out, err = invoke("fit", HOUSING, "-q", env=env)
    assert code == 0, err
    assert json.loads(out)["step"].startswith("backtracking")
    code, out, _ = invoke("fit", HOUSING, "-q", "--format", "jsonl", "--step", "exact", env=env)
    assert code == 0
    result = json.loads(out)  # one line: jsonl, not the indented json of GDFIT_FORMAT
    assert out.count("\n") == 1 and result["step"] == "exact"
    code, _, err = invoke("fit", HOUSING, "-q", env={"GDFIT_FORMAT": "xml"})
    assert code == 2 and "xml" in err


def test_output_file_and_force(tmp_path: Path) -> None:
    target = tmp_path / "result.json"
    code, out, _ = invoke("fit", HOUSING, "-q", "--format", "json", "--output", target)
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["n_obs"] == 1000
    code, _, err = invoke("fit", HOUSING, "-q", "--output", target)
    assert code == 2 and "already exists; use --force" in err
    code, _, _ = invoke("fit", HOUSING, "-q", "--format", "csv", "--output", target, "--force")
    assert code == 0 and target.read_text().startswith("source,")
    assert sorted(os.listdir(tmp_path)) == ["result.json"]


def test_quiet_and_verbose() -> None:
    code, _, err = invoke("fit", HOUSING, "-q", "-v")
    assert code == 2 and "--quiet and --verbose" in err
    code, _, err = invoke("fit", HOUSING, "-q", "--format", "json")
    assert code == 0 and err == ""
    code, out, err = invoke("fit", SAMPLES / "sensor.csv", "--group-by", "station", "-v",
                            "--format", "jsonl")
    assert code == 0
    assert err.count("converged after") == 5 and len(out.splitlines()) == 5


@needs_exe
def test_shell_completion(tmp_path: Path) -> None:
    env = clean_env(_GDFIT_COMPLETE="complete_bash", COMP_WORDS="gdfit pr", COMP_CWORD="1")
    done = bash("gdfit", tmp_path, env=env)
    assert done.stdout.split() == ["predict"]
    env.update(COMP_WORDS="gdfit fit --each", COMP_CWORD="2")
    assert bash("gdfit", tmp_path, env=env).stdout.split() == ["--each-file"]
    done = bash("gdfit --show-completion", tmp_path)
    assert done.returncode == 0
    assert "complete -o default -F _gdfit_completion gdfit" in done.stdout
    home = tmp_path / "home"
    home.mkdir()
    done = bash("gdfit --install-completion", tmp_path, env=clean_env(HOME=str(home)))
    assert done.returncode == 0, done.stderr
    assert (home / ".bash_completions" / "gdfit.sh").is_file()
    assert "gdfit.sh" in (home / ".bashrc").read_text()
