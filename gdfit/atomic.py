"""The one writer of every file gdfit writes: whole or not at all, never over an input.

Every output — ``--output``, ``--save``, ``--trace``, ``--plot-file``, ``gdfit predict -o`` —
goes through :func:`atomic_write` (text) or :func:`atomic_write_bytes` (images), which follow
these rules:

* **Never over an input.** A target that is the same file as an input of the run — compared by
  (device, inode), so through symbolic and hard links and however the path is spelled — is
  refused, even with ``--force`` (exit 2). Standard input counts when it is a file
  (``gdfit fit - -o data.csv < data.csv``).
* **Never over an existing file without ``--force``** (exit 2).
* **Regular files appear whole.** The bytes go to a hidden temporary file beside the target
  (``.NAME.XXXX.tmp``, on the same file system), are flushed and fsync'ed, get their mode, and
  only then the temporary file is renamed over the target (:func:`os.replace`). Any exception,
  Ctrl-C or SIGTERM on the way removes the temporary file, and an existing target is left as it
  was. A symbolic link to a file is kept: the file it points to is replaced (a dangling link
  creates the file it names).
* **The same mode everywhere**: 0o666 less the umask for a new file, the old file's mode for a
  replaced one.
* **Devices and FIFOs are written into, never renamed over**: ``-o /dev/null``, a named pipe, a
  terminal, ``/dev/stdout`` (an open descriptor, ``/dev/fd/N``, is written through that
  descriptor, so ``>>`` keeps appending). Nothing is replaced, so no ``--force`` is needed, and
  such a write cannot be atomic. Block devices, sockets and directories are refused.
* **Every operating-system error is one line**, ``cannot write PATH: reason`` (no such
  directory, permission denied, read-only file system, no space left on device, …), as
  :class:`~gdfit.errors.OutputError` (exit 1).

:func:`check_output` and :func:`check_outputs` apply the same checks before any work is done;
the writers apply them again when they open the file and just before the rename.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import IO, Any, BinaryIO, TextIO, cast

from gdfit.errors import OptionError, OutputError

STDIN = "-"
PathLike = str | os.PathLike[str]

# /dev/stdout, /dev/fd/3, /proc/self/fd/1: a descriptor this process already has open.
_DESCRIPTOR = re.compile(rf"/(?:dev/fd|proc/self/fd|proc/{os.getpid()}/fd)/(\d+)")
_STANDARD = {"/dev/stdin": 0, "/dev/stdout": 1, "/dev/stderr": 2}


# ---------------------------------------------------------------------------------------------
# Where a path leads


@dataclass(frozen=True)
class _Plan:
    """How to write one target: through a descriptor, into a device or FIFO, or by a rename."""

    path: str               # as the user spelled it, for messages
    real: str               # the file to create or replace (symbolic links followed)
    descriptor: int | None  # write through this open descriptor (/dev/stdout, /dev/fd/N)
    direct: bool            # a character device or FIFO: open it and write into it


def _reason(exc: OSError) -> str:
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def _descriptor(path: str) -> int | None:
    """The descriptor that ``path`` names (``/dev/stdout``, ``/dev/fd/N``, ``/proc/self/fd/N``),
    following symbolic links hop by hop; None for any other path."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on symbolic links
        if current in _STANDARD:
            return _STANDARD[current]
        found = _DESCRIPTOR.fullmatch(current)
        if found:
            return int(found.group(1))
        if not os.path.islink(current):
            return None
        current = os.path.normpath(os.path.join(os.path.dirname(current),
                                                os.readlink(current)))
    return None


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def input_identities(inputs: Iterable[PathLike]) -> dict[tuple[int, int], str]:
    """(device, inode) → name of every input that is a regular file, standard input (``-``)
    included when it is one (``< data.csv``). Terminals, pipes, missing files and URLs are
    skipped: writing to them destroys no data (and a terminal is often stdin and stdout)."""
    found: dict[tuple[int, int], str] = {}
    for name in inputs:
        text = os.fspath(name)
        try:
            st = os.fstat(sys.stdin.fileno()) if text == STDIN else os.stat(text)
        except (OSError, ValueError, AttributeError):  # no such file, no stdin, a URL
            continue
        if stat.S_ISREG(st.st_mode):
            found.setdefault(_identity(st), "standard input" if text == STDIN else text)
    return found


def _refuse_input(path: str, st: os.stat_result, inputs: dict[tuple[int, int], str]) -> None:
    name = inputs.get(_identity(st))
    if name is None:
        return
    same = "" if os.path.abspath(name) == os.path.abspath(path) else \
        f" (the same file as {name})"
    raise OptionError(f"{path}: is an input of this run{same}; gdfit never writes over an "
                      "input, even with --force")


def _kind(mode: int) -> str | None:
    """What a file that gdfit refuses to write is (None when it writes it)."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISREG(mode) or stat.S_ISCHR(mode) or stat.S_ISFIFO(mode):
        return None
    return "not a regular file"


def _plan(path: PathLike, *, force: bool, inputs: Iterable[PathLike], option: str) -> _Plan:
    """Check ``path`` against the rules (see the module docstring) and say how to write it."""
    target = os.fspath(path)
    if not target:
        raise OptionError("an output file name is empty")
    known = input_identities(inputs)
    fd = _descriptor(target)
    if fd is not None:
        try:
            opened = os.fstat(fd)
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {_reason(exc)}") from None
        _refuse_input(target, opened, known)
        return _Plan(target, target, fd, False)
    st: os.stat_result | None
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        if isinstance(exc, NotADirectoryError):
            return _missing_directory(target)
        raise OutputError(f"cannot write {target}: {_reason(exc)}") from None
    real = os.path.realpath(target)
    if st is not None:
        _refuse_input(target, st, known)
        kind = _kind(st.st_mode)
        if kind == "a directory":
            raise OutputError(f"cannot write {target}: it is a directory; give a file name")
        if kind is not None:
            raise OutputError(f"cannot write {target}: it is {kind}; gdfit writes only to "
                              "regular files, character devices (such as /dev/null) and FIFOs")
        if not stat.S_ISREG(st.st_mode):
            return _Plan(target, real, None, True)
        if not force:
            raise OptionError(f"{target}: already exists; use {option} to overwrite it")
    directory = os.path.dirname(real)
    if not os.path.isdir(directory):
        return _missing_directory(target)
    if not os.access(directory, os.W_OK | os.X_OK):  # say so now, not after the work
        read_only = hasattr(os, "statvfs") and bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
        raise OutputError(f"cannot write {target}: "
                          f"{'read-only file system' if read_only else 'permission denied'}")
    return _Plan(target, real, None, False)


def _missing_directory(target: str) -> _Plan:
    directory = os.path.dirname(target) or "."
    if os.path.isdir(directory):  # a symbolic link to a missing place: say which
        directory = os.path.dirname(os.path.realpath(target))
    elif os.path.exists(directory):
        raise OutputError(f"cannot write {target}: {directory} is not a directory")
    raise OutputError(f"cannot write {target}: no such directory {directory}")


def check_output(path: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = (),
                 option: str = "--force") -> None:
    """Fail before any work is done when ``path`` may not or cannot be written.

    Parameters
    ----------
    path : str or os.PathLike
        The output file.
    force : bool
        Whether an existing regular file may be replaced.
    inputs : iterable of str
        The run's inputs (paths, ``-`` for standard input, model files): ``path`` must not be
        any of them.
    option : str
        The option that sets ``force``, named in the message.

    Raises
    ------
    OptionError
        ``path`` is an input (whatever ``force`` says), or exists and ``force`` is False.
    OutputError
        ``path`` is a directory, block device or socket, or its directory does not exist.
    """
    _plan(path, force=force, inputs=inputs, option=option)


def check_outputs(outputs: Sequence[tuple[str, PathLike | None]], *, force: bool = False,
                  inputs: Iterable[PathLike] = (), option: str = "--force") -> None:
    """:func:`check_output` for each ``(option, path)`` given (None and ``-`` are skipped), and
    no two of them naming the same file."""
    inputs = list(inputs)
    seen: dict[str, str] = {}
    for name, path in outputs:
        if path is None or os.fspath(path) == STDIN:
            continue
        target = os.fspath(path)
        if not target:
            raise OptionError(f"{name} needs a file name, got an empty one")
        plan = _plan(target, force=force, inputs=inputs, option=option)
        key = f"fd:{plan.descriptor}" if plan.descriptor is not None else plan.real
        if key in seen:
            raise OptionError(f"{seen[key]} and {name} name the same file")
        seen[key] = name


# ---------------------------------------------------------------------------------------------
# Writing


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C (a KeyboardInterrupt) inside the block.

    By default SIGTERM ends Python at once, skipping every ``finally``; this lets the
    clean-up code run. Outside the main thread signal handlers cannot be set, and the block
    runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block is done, then deliver them.

    For a few steps that must happen together (write a block of rows *and* count it): a
    signal in between would otherwise leave the count wrong and a row written twice or not at
    all. Outside the main thread no handler can be set, and none runs there anyway.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
    for signum in dict.fromkeys(held):
        signal.raise_signal(signum)  # now, to the handler that was in force


class _Guarded:
    """A file object whose write errors say which output failed (an :class:`OutputError`).

    The guard sits above the file's buffers, so a Ctrl-C that lands in it never leaves them
    half-updated: each write either reached the buffer or did not.
    """

    def __init__(self, fh: IO[Any], target: str) -> None:
        self._fh = fh
        self._target = target

    def write(self, data: Any) -> int:
        try:
            return int(self._fh.write(data))
        except BrokenPipeError:  # a pipe's reader went away (| head): quiet, as for stdout
            raise
        except OSError as exc:
            raise OutputError(f"cannot write {self._target}: {_reason(exc)}") from None

    def writelines(self, lines: Iterable[Any]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._fh.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(f"cannot write {self._target}: {_reason(exc)}") from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)


def _opened(fd: int, binary: bool, encoding: str | None) -> IO[Any]:
    if binary:
        return os.fdopen(fd, "wb")
    return os.fdopen(fd, "w", encoding=encoding, newline="\n")


def _mode_for(real: str) -> int:
    """Permissions for the file: the old file's, else the usual 0o666 less the umask."""
    try:
        return stat.S_IMODE(os.stat(real).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def _open_output(path: PathLike, *, binary: bool, force: bool, inputs: Iterable[PathLike],
                 option: str, encoding: str | None) -> Iterator[IO[Any]]:
    inputs = list(inputs)
    plan = _plan(path, force=force, inputs=inputs, option=option)
    if plan.descriptor is not None or plan.direct:
        yield from _write_into(plan, binary, encoding)
        return
    directory = os.path.dirname(plan.real)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(plan.real)}.", suffix=".tmp",
                                   dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write {plan.path}: {_reason(exc)}") from None
    try:
        with terminate_as_interrupt():
            try:
                fh = _opened(fd, binary, encoding)
            except BaseException:
                os.close(fd)
                raise
            try:
                yield cast(IO[Any], _Guarded(fh, plan.path))
            except BaseException:
                with contextlib.suppress(Exception):  # flushing may fail again: disk full
                    fh.close()
                raise
            try:
                with fh:
                    fh.flush()
                    os.fsync(fh.fileno())
                os.chmod(tmp, _mode_for(plan.real))
                # Again, just before the rename: the target may have appeared (or become an
                # input) while we wrote.
                again = _plan(plan.path, force=force, inputs=inputs, option=option)
                if again.descriptor is not None or again.direct:
                    raise OutputError(f"cannot write {plan.path}: it stopped being a regular "
                                      "file while gdfit wrote it")
                os.replace(tmp, again.real)
            except OSError as exc:
                raise OutputError(f"cannot write {plan.path}: {_reason(exc)}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _sync_directory(directory)


def _write_into(plan: _Plan, binary: bool, encoding: str | None) -> Iterator[IO[Any]]:
    """Write into a device, a FIFO or an open descriptor (no temporary file, no rename)."""
    try:
        if plan.descriptor is not None:
            if plan.descriptor in (1, 2):  # what Python buffered goes first
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
            fh = _opened(os.dup(plan.descriptor), binary, encoding)
        else:
            fh = _opened(os.open(plan.real, os.O_WRONLY), binary, encoding)
    except OSError as exc:
        raise OutputError(f"cannot write {plan.path}: {_reason(exc)}") from None
    try:
        yield cast(IO[Any], _Guarded(fh, plan.path))
        try:
            fh.flush()
        except OSError as exc:
            raise OutputError(f"cannot write {plan.path}: {_reason(exc)}") from None
    finally:
        with contextlib.suppress(Exception):
            fh.close()


@contextlib.contextmanager
def atomic_write(path: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = (),
                 option: str = "--force", encoding: str = "utf-8") -> Iterator[TextIO]:
    """Open a text output that appears at ``path`` only when the block ends without an exception.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    force : bool
        Replace ``path`` when it is an existing file; otherwise that is an error.
    inputs : iterable of str
        The run's inputs, which ``path`` must not be (see :func:`check_output`).
    option : str
        The option that sets ``force``, named in the error message.
    encoding : str
        Text encoding.

    Yields
    ------
    TextIO
        The file to write (newlines written as ``\\n``).

    Raises
    ------
    OptionError
        ``path`` is an input, or exists and ``force`` is False (checked when opening and again
        before the rename).
    OutputError
        The file cannot be written (no such directory, permission denied, read-only file
        system, disk full, a directory or socket, …).
    """
    with _open_output(path, binary=False, force=force, inputs=inputs, option=option,
                      encoding=encoding) as fh:
        yield cast(TextIO, fh)


@contextlib.contextmanager
def atomic_write_bytes(path: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = (),
                       option: str = "--force") -> Iterator[BinaryIO]:
    """:func:`atomic_write` for binary files (images)."""
    with _open_output(path, binary=True, force=force, inputs=inputs, option=option,
                      encoding=None) as fh:
        yield cast(BinaryIO, fh)


def write_text_atomic(path: PathLike, text: str, *, force: bool = False,
                      inputs: Iterable[PathLike] = (), option: str = "--force") -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, force=force, inputs=inputs, option=option) as fh:
        fh.write(text)


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable; not every system can open a directory, so best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
