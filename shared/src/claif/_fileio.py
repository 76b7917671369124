"""Crash-safe file writes, careful reads and cross-process locks, for keys, config and sessions.

A reader sees either the old file or the new one, never half of one: data goes
to a temp file in the same folder, is fsynced, then renamed over the target.

Reads trust nothing about the file: :func:`read_regular_file` never blocks on a
FIFO, refuses devices and folders, and stops at a size cap while reading, so a
hostile path costs neither a hang nor the machine's memory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "UnsafeFileError",
    "atomic_write",
    "decode_utf8",
    "exclusive_lock",
    "make_private_dir",
    "parse_json",
    "read_regular_file",
]

# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
# O_NOCTTY: a terminal device must not become our controlling terminal.
_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_BINARY", 0)
)
_CHUNK = 1 << 20


class UnsafeFileError(OSError):
    """A file that exists but is refused: not a regular file, or larger than the cap."""


def read_regular_file(path: Path, *, max_bytes: int) -> bytes | None:
    """The bytes of the regular file at ``path``, or None if nothing is there.

    A FIFO, device, socket or folder (also behind a symlink) raises
    :class:`UnsafeFileError` before a byte is read, as does a file over
    ``max_bytes``; the size is checked while reading too, since a file can grow
    after ``fstat``. Other failures are the usual ``OSError``.
    """
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        return None
    try:
        _check_regular(os.fstat(fd), max_bytes)
        return _read_at_most(fd, max_bytes)
    finally:
        os.close(fd)


def _check_regular(info: os.stat_result, max_bytes: int) -> None:
    """Refuse anything but a regular file, and a file already known to be too big."""
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeFileError(errno.EINVAL, f"not a regular file ({_kind(info.st_mode)})")
    if info.st_size > max_bytes:
        raise _too_big(max_bytes)


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _read_at_most(fd: int, max_bytes: int) -> bytes:
    """Read to the end, but never more than ``max_bytes + 1``: one byte more means too big."""
    chunks: list[bytes] = []
    remaining = max_bytes + 1
    while remaining > 0:
        chunk = os.read(fd, min(remaining, _CHUNK))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        remaining -= len(chunk)
    raise _too_big(max_bytes)


def _too_big(max_bytes: int) -> UnsafeFileError:
    return UnsafeFileError(errno.EFBIG, f"over the {max_bytes} byte limit")


def decode_utf8(raw: bytes) -> str:
    """The bytes as UTF-8 text; the ValueError names the position, never the bytes found."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte {exc.start})") from None


def parse_json(raw: bytes) -> Any:
    """JSON from UTF-8 bytes; every failure, nesting too deep included, is a ValueError."""
    text = decode_utf8(raw)
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def make_private_dir(folder: Path) -> None:
    """Create ``folder`` (and parents) if missing; the folder itself becomes 0700."""
    if folder.is_dir():
        return
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # best effort: Windows has no POSIX modes
        os.chmod(folder, 0o700)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` all at once; on failure the old file stays intact."""
    make_private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), mode)  # the umask must not widen or narrow it
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; Windows cannot open a folder, so it skips this."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def exclusive_lock(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` across processes until the block ends.

    The lock file is left in place: deleting it would let a waiter and a newcomer
    lock two different files at once. A symlink in its place is refused
    (``O_NOFOLLOW``), so nobody can make us create or lock a file elsewhere.
    """
    make_private_dir(lock_path.parent)
    fd = _open_lock(lock_path)
    try:
        _lock(fd)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _open_lock(lock_path: Path) -> int:
    nofollow = getattr(os, "O_NOFOLLOW", 0)  # Windows has none, and no symlink tricks by users
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | nofollow, 0o600)
    except OSError as exc:
        if not os.path.islink(lock_path):
            raise
        raise UnsafeFileError(
            errno.ELOOP, f"the lock file {lock_path.name} is a symlink; remove it"
        ) from exc


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for ~10 s, then raises
                return
            except OSError as exc:
                if exc.errno != errno.EDEADLOCK:  # EDEADLOCK: still held, keep waiting
                    raise

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
