"""Atomic output: a file appears whole, or not at all.

The text goes to a temporary file in the target's own directory (so that the final rename
stays on one file system), is flushed and fsync'ed, and only then renamed over the target
with :func:`os.replace`. Any exception on the way, Ctrl-C included, removes the temporary
file, so an interrupted run never leaves a half-written model or result behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TextIO

from gdfit.errors import DataError, OptionError


def check_writable(path: str | os.PathLike[str], *, force: bool = False,
                   option: str = "--force") -> None:
    """Fail early, before any work is done, when `path` cannot be written.

    Raises
    ------
    OptionError
        `path` exists and `force` is False (the message names `option`), or it is a directory.
    DataError
        Its directory does not exist.
    """
    target = os.fspath(path)
    if os.path.isdir(target):
        raise OptionError(f"{target}: is a directory; give a file name")
    if os.path.lexists(target) and not force:
        raise OptionError(f"{target}: already exists; use {option} to overwrite it")
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise DataError(f"{target}: cannot write: no such directory {directory}")


def _mode_for(target: str) -> int:
    """Permissions for the new file: the old file's, else the usual 0o666 less the umask."""
    try:
        return os.stat(target).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


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
def atomic_write(path: str | os.PathLike[str], *, force: bool = False,
                 option: str = "--force", encoding: str = "utf-8") -> Iterator[TextIO]:
    """Open a text file that appears at `path` only when the block ends without an exception.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    force : bool
        Replace `path` when it exists; otherwise an existing file is an error.
    option : str
        The option that sets `force`, named in the error message.
    encoding : str
        Text encoding.

    Yields
    ------
    TextIO
        The temporary file, opened for writing (newlines written as ``\\n``).

    Raises
    ------
    OptionError
        `path` exists and `force` is False (checked before and again after writing).
    DataError
        The file cannot be written (no such directory, permission denied, disk full).
    """
    target = os.fspath(path)
    check_writable(target, force=force, option=option)
    directory = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                                   dir=directory)
    except OSError as exc:
        raise DataError(f"{target}: cannot write ({exc.strerror or exc})") from None
    try:
        with terminate_as_interrupt():
            with os.fdopen(fd, "w", encoding=encoding, newline="\n") as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, _mode_for(target))
            if not force and os.path.lexists(target):  # appeared while we were writing
                raise OptionError(f"{target}: already exists; use {option} to overwrite it")
            os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
            raise DataError(f"{target}: cannot write ({exc.strerror or exc})") from None
        raise
    _sync_directory(directory)


def write_text_atomic(path: str | os.PathLike[str], text: str, *, force: bool = False,
                      option: str = "--force") -> None:
    """Write `text` to `path` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, force=force, option=option) as fh:
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
