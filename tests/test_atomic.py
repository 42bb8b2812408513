"""One writer for every file gdfit writes (gdfit.atomic): what it refuses, what it writes into,
the modes it gives, and how it fails (the library side; the commands are in test_outputs.py)."""

from __future__ import annotations

import errno
import os
import signal
import socket
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import gdfit.atomic as atomic
from gdfit.atomic import atomic_write, atomic_write_bytes, check_output, check_outputs
from gdfit.atomic import write_text_atomic as write
from gdfit.errors import ExitCode, OptionError, OutputError


def umasked(mode: int = 0o666) -> int:
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    path.write_text("x,y\n1,2\n")
    return path


# ---- an input is never written over ------------------------------------------------------

def spellings(data: Path) -> dict[str, str]:
    """Other names of the file `data`: ./x, absolute, a symlink, a hard link, a dotted path."""
    folder = data.parent
    (folder / "link.csv").symlink_to(data.name)
    os.link(data, folder / "hard.csv")
    (folder / "sub").mkdir()
    return {"same": str(data), "relative": os.path.relpath(data),
            "dot": f"./{os.path.relpath(data)}",
            "dotdot": str(folder / "sub" / ".." / data.name),
            "symlink": str(folder / "link.csv"), "hardlink": str(folder / "hard.csv")}


@pytest.mark.parametrize("spelling", ["same", "relative", "dot", "dotdot", "symlink", "hardlink"])
@pytest.mark.parametrize("force", [False, True])
def test_a_path_naming_an_input_is_refused_even_with_force(data: Path, spelling: str,
                                                           force: bool) -> None:
    target = spellings(data)[spelling]
    with pytest.raises(OptionError, match="is an input of this run") as caught:
        check_output(target, force=force, inputs=[str(data)])
    assert caught.value.exit_code == ExitCode.USAGE_ERROR
    assert "even with --force" in str(caught.value) and target in str(caught.value)
    with pytest.raises(OptionError, match="is an input"):
        write(target, "model", force=force, inputs=[str(data)])
    assert data.read_text() == "x,y\n1,2\n"


def test_the_input_named_otherwise_is_named_in_the_message(data: Path) -> None:
    link = data.parent / "other.csv"
    link.symlink_to(data)
    with pytest.raises(OptionError) as caught:
        check_output(link, force=True, inputs=["in.csv", str(data)])
    assert str(caught.value) == (f"{link}: is an input of this run (the same file as {data}); "
                                 "gdfit never writes over an input, even with --force")


def test_an_input_that_appears_while_writing_is_still_refused(data: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with pytest.raises(OptionError, match="is an input"), atomic_write(
            target, force=True, inputs=[str(data)]) as fh:
        fh.write("new")
        target.unlink(missing_ok=True)
        os.link(data, target)  # the target became the input under our feet
    assert data.read_text() == "x,y\n1,2\n" and listing(tmp_path) == ["data.csv", "out.csv"]


def test_other_inputs_do_not_matter_and_missing_inputs_are_ignored(data: Path,
                                                                  tmp_path: Path) -> None:
    write(tmp_path / "out.csv", "ok", inputs=[str(data), str(tmp_path / "nope.csv"), "-",
                                             "s3://bucket/key.csv"])
    assert (tmp_path / "out.csv").read_text() == "ok"


def test_two_outputs_naming_one_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}")
    (tmp_path / "b.json").symlink_to("a.json")
    with pytest.raises(OptionError, match="--save and --output name the same file"):
        check_outputs([("--save", str(tmp_path / "a.json")),
                       ("--output", str(tmp_path / "b.json"))], force=True)
    with pytest.raises(OptionError, match="--trace and --output name the same file"):
        check_outputs([("--trace", str(tmp_path / "new.csv")), ("--save", None),
                       ("--output", f"{tmp_path}/./new.csv")])
    check_outputs([("--trace", str(tmp_path / "t.csv")), ("--output", "-"), ("--save", "-")])


# ---- existing files ----------------------------------------------------------------------

def test_an_existing_file_needs_force(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(OptionError, match=r"out\.json: already exists; use --force to overwrite"):
        check_output(target)
    with pytest.raises(OptionError, match="already exists"):
        write(target, "new")
    assert target.read_text() == "old"
    write(target, "new", force=True)
    assert target.read_text() == "new" and listing(tmp_path) == ["out.json"]


def test_a_file_that_appears_while_writing_is_not_replaced_without_force(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with pytest.raises(OptionError, match="already exists"), atomic_write(target) as fh:
        fh.write("mine")
        target.write_text("someone else's")
    assert target.read_text() == "someone else's" and listing(tmp_path) == ["out.json"]


def test_a_symlink_to_a_file_replaces_the_file_and_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "model.json"
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "model.json"
    link.symlink_to(real)
    with pytest.raises(OptionError, match="already exists"):
        write(link, "new")
    write(link, "new", force=True)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new" and stat.S_IMODE(real.stat().st_mode) == 0o640
    assert listing(tmp_path / "real") == ["model.json"] and listing(tmp_path) == ["model.json",
                                                                                   "real"]


def test_a_dangling_symlink_creates_the_file_it_names(tmp_path: Path) -> None:
    link = tmp_path / "out.csv"
    link.symlink_to("made.csv")
    write(link, "hello")
    assert link.is_symlink() and (tmp_path / "made.csv").read_text() == "hello"


# ---- modes -------------------------------------------------------------------------------

def test_new_files_get_0666_less_the_umask_text_and_binary(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "x")
    with atomic_write_bytes(tmp_path / "b.png") as fh:
        fh.write(b"\x89PNG")
    for name in ("a.txt", "b.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == umasked(), name


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "p.png"
    target.write_bytes(b"old")
    target.chmod(0o604)
    with atomic_write_bytes(target, force=True) as fh:
        fh.write(b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o604 and target.read_bytes() == b"new"


# ---- not regular files: written into, or refused -----------------------------------------

def test_a_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write(fifo, "through the pipe\n")  # no --force needed: nothing is replaced
    reader.join(10)
    assert got == ["through the pipe\n"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and listing(tmp_path) == ["pipe"]


def test_dev_null_is_written_into_without_force() -> None:
    write(os.devnull, "nothing")
    with atomic_write_bytes(os.devnull) as fh:
        fh.write(b"nothing")
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_device_is_a_clean_error() -> None:
    with pytest.raises(OutputError) as caught:
        write("/dev/full", "x" * 100_000)
    assert str(caught.value) == "cannot write /dev/full: no space left on device"
    assert caught.value.exit_code == ExitCode.DATA_ERROR


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(OutputError, match=r"cannot write .*/s: it is a socket; gdfit writes "
                           "only to regular files, character devices"):
            check_output(path, force=True)
    finally:
        server.close()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_a_block_device_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    target = tmp_path / "disk"
    real_stat = os.stat

    def fake_stat(path: object, *args: object, **kw: object) -> os.stat_result:
        st = real_stat(path, *args, **kw)  # type: ignore[arg-type]
        if os.fspath(path) == str(target):  # type: ignore[arg-type]
            fields = list(st)
            fields[0] = stat.S_IFBLK | 0o660
            return os.stat_result(fields)
        return st

    target.write_text("")
    monkeypatch.setattr(atomic.os, "stat", fake_stat)
    with pytest.raises(OutputError, match="it is a block device"):
        check_output(target, force=True)


def test_a_directory_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as caught:
        check_output(tmp_path, force=True)
    assert str(caught.value) == f"cannot write {tmp_path}: it is a directory; give a file name"
    assert caught.value.exit_code == ExitCode.DATA_ERROR


def test_a_missing_folder_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"cannot write .*out\.json: no such directory .*no$"):
        write(tmp_path / "no" / "out.json", "x")
    (tmp_path / "f").write_text("")  # a file where a folder should be
    with pytest.raises(OutputError) as caught:
        write(tmp_path / "f" / "out.json", "x")
    assert str(caught.value) == (f"cannot write {tmp_path / 'f' / 'out.json'}: "
                                 f"{tmp_path / 'f'} is not a directory")
    (tmp_path / "link.json").symlink_to(tmp_path / "gone" / "x.json")
    with pytest.raises(OutputError, match=r"link\.json: no such directory .*/gone$"):
        write(tmp_path / "link.json", "x")


# ---- OS errors: exit 1, nothing partial, the old file unchanged --------------------------

def failing(monkeypatch: pytest.MonkeyPatch, where: str, code: int) -> None:
    """Make the os or tempfile function `where` fail with errno `code`."""
    module, name = where.split(".")

    def fail(*args: object, **kw: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(getattr(atomic, module), name, fail)


@pytest.mark.parametrize("where, code, reason", [
    ("os.fsync", errno.ENOSPC, "no space left on device"),
    ("os.replace", errno.EROFS, "read-only file system"),
    ("tempfile.mkstemp", errno.EACCES, "permission denied"),
    ("tempfile.mkstemp", errno.EROFS, "read-only file system"),
    ("os.chmod", errno.EPERM, "operation not permitted"),
])
@pytest.mark.parametrize("existing", [False, True])
@pytest.mark.parametrize("binary", [False, True])
def test_os_errors_leave_nothing_behind_and_the_old_file_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, code: int, reason: str,
        existing: bool, binary: bool) -> None:
    target = tmp_path / "out.png"
    if existing:
        target.write_bytes(b"old")
    failing(monkeypatch, where, code)
    with pytest.raises(OutputError) as caught:
        if binary:
            with atomic_write_bytes(target, force=True) as fh:
                fh.write(b"new")
        else:
            write(target, "new", force=True)
    assert str(caught.value) == f"cannot write {target}: {reason}"
    assert listing(tmp_path) == (["out.png"] if existing else [])
    if existing:
        assert target.read_bytes() == b"old"


class FillingUp:
    """A file object that runs out of space after `room` bytes (ENOSPC, as a full disk)."""

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


@pytest.mark.parametrize("existing", [False, True])
def test_a_disk_that_fills_up_midway_is_an_output_error(tmp_path: Path, existing: bool,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "t.csv"
    if existing:
        target.write_text("old")
    real = os.fdopen
    monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **kw: FillingUp(real(*a, **kw), 10))
    with pytest.raises(OutputError) as caught, atomic_write(target, force=True) as fh:
        fh.write("first\n")
        fh.write("x" * 100)
    assert str(caught.value) == f"cannot write {target}: no space left on device"
    assert listing(tmp_path) == (["t.csv"] if existing else [])
    assert not existing or target.read_text() == "old"


def test_the_callers_own_os_error_is_not_called_a_write_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), atomic_write(tmp_path / "out.csv") as fh:
        fh.write("x")
        open(tmp_path / "missing-input.csv")  # raises
    assert listing(tmp_path) == []
    with pytest.raises(FileNotFoundError), atomic_write(os.devnull) as fh:  # written into
        fh.write("x")
        open(tmp_path / "missing-input.csv")


@pytest.mark.parametrize("stop", [RuntimeError, KeyboardInterrupt])
def test_an_exception_or_ctrl_c_while_writing_leaves_nothing(tmp_path: Path,
                                                             stop: type[BaseException]) -> None:
    target = tmp_path / "out.json"
    with pytest.raises(stop), atomic_write(target) as fh:
        fh.write("half of it")
        raise stop
    assert listing(tmp_path) == []
    target.write_text("old")
    with pytest.raises(stop), atomic_write(target, force=True) as fh:
        fh.write("new")
        raise stop
    assert target.read_text() == "old" and listing(tmp_path) == ["out.json"]


def test_the_temporary_file_is_beside_the_target_and_hidden(tmp_path: Path) -> None:
    with atomic_write(tmp_path / "out.csv") as fh:
        fh.write("x")
        names = listing(tmp_path)
    assert len(names) == 1 and names[0].startswith(".out.csv.") and names[0].endswith(".tmp")
    assert listing(tmp_path) == ["out.csv"]


def test_an_unwritable_folder_is_refused_before_any_work(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # As root, permissions do not stop a write: ask os.access what a user would hear.
    monkeypatch.setattr(atomic.os, "access", lambda *a, **kw: False)
    with pytest.raises(OutputError) as caught:
        check_output(tmp_path / "out.csv")
    assert str(caught.value) == f"cannot write {tmp_path / 'out.csv'}: permission denied"

    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(atomic.os, "statvfs", lambda path: ReadOnly())
    with pytest.raises(OutputError, match=r"out\.csv: read-only file system$"):
        check_output(tmp_path / "out.csv")
    write(os.devnull, "a device needs no writable folder")


def test_an_open_descriptor_is_written_through_and_keeps_its_offset(tmp_path: Path,
                                                                    data: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("previous\n")
    with open(log, "a") as fh:  # as a shell's >> would open it
        write(f"/dev/fd/{fh.fileno()}", "new\n")  # no --force: nothing is replaced
    assert log.read_text() == "previous\nnew\n" and listing(tmp_path) == ["data.csv", "log.txt"]
    with open(data, "a") as fh, pytest.raises(OptionError, match="is an input"):
        write(f"/dev/fd/{fh.fileno()}", "model", inputs=[str(data)])
    assert data.read_text() == "x,y\n1,2\n"
    with pytest.raises(OutputError, match=r"cannot write /dev/fd/999: bad file descriptor"):
        write("/dev/fd/999", "x")


def test_interrupts_deferred_holds_ctrl_c_until_the_block_is_done() -> None:
    done: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        with atomic.interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)  # a handler would run here
            done.append("the block ran to its end")
    assert done == ["the block ran to its end"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with atomic.interrupts_deferred():
        done.append("no signal, nothing raised")
    assert len(done) == 2
