"""Careful reads of files we did not write, and the lock file's refusal of symlinks.

The helpers at the top make hostile files (a FIFO, a link to /dev/zero, a huge
sparse file, deeply nested text); the sessions, config and image tests use them too.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from claif._fileio import (
    UnsafeFileError,
    decode_utf8,
    exclusive_lock,
    parse_json,
    read_regular_file,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, devices and sparse files")
DEEP = 100_000


def make_fifo(path: Path) -> Path:
    """A named pipe with no writer: a plain open() for reading would wait forever."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def link_to_dev_zero(path: Path) -> Path:
    """A symlink to an endless device: a plain read() would fill the memory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/zero")
    return path


def make_sparse(path: Path, size: int = 100 * 1024**3) -> Path:
    """A file claiming ``size`` bytes (100 GiB by default) while using no disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def deep_json(depth: int = DEEP) -> str:
    """Arrays nested ``depth`` deep: json.loads would hit the recursion limit."""
    return "[" * depth + "]" * depth


def finishes(action: Callable[[], object], seconds: float = 10.0) -> BaseException | None:
    """Run ``action`` in a thread and fail if it is still running after ``seconds``.

    Returns what it raised, or None; a hang becomes a failed test, not a stuck suite.
    """
    raised: list[BaseException] = []

    def run() -> None:
        try:
            action()
        except BaseException as exc:  # noqa: BLE001 - handed to the test to assert on
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{action} still running after {seconds} s"
    return raised[0] if raised else None


def test_reads_a_regular_file(tmp_path):
    """A small regular file comes back whole."""
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    assert read_regular_file(path, max_bytes=5) == b"hello"


def test_missing_file_is_none(tmp_path):
    """A path with nothing there gives None rather than an error."""
    assert read_regular_file(tmp_path / "nope", max_bytes=10) is None


def test_file_over_the_cap_is_refused(tmp_path):
    """One byte over max_bytes raises UnsafeFileError saying the limit."""
    path = tmp_path / "f"
    path.write_bytes(b"123456")
    with pytest.raises(UnsafeFileError, match="over the 5 byte limit"):
        read_regular_file(path, max_bytes=5)


@posix_only
def test_fifo_is_refused_without_blocking(tmp_path):
    """A FIFO with no writer is refused at once instead of hanging the open."""
    fifo = make_fifo(tmp_path / "pipe")
    error = finishes(lambda: read_regular_file(fifo, max_bytes=10))
    assert isinstance(error, UnsafeFileError)
    assert "a FIFO" in str(error)


@posix_only
def test_link_to_dev_zero_is_refused(tmp_path):
    """A symlink to /dev/zero is refused as a device before anything is read."""
    link = link_to_dev_zero(tmp_path / "zero")
    with pytest.raises(UnsafeFileError, match="character device"):
        read_regular_file(link, max_bytes=10)


def test_folder_is_refused(tmp_path):
    """A folder is not a file to read."""
    with pytest.raises(OSError, match=r"not a regular file|Permission denied"):
        read_regular_file(tmp_path, max_bytes=10)


@posix_only
def test_huge_sparse_file_is_refused_quickly(tmp_path):
    """A 100 GiB sparse file is refused by its size, without reading it."""
    path = make_sparse(tmp_path / "huge")
    error = finishes(lambda: read_regular_file(path, max_bytes=1024), seconds=5)
    assert isinstance(error, UnsafeFileError)
    assert "over the 1024 byte limit" in str(error)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_size_is_checked_while_reading():
    """A file whose stat says 0 bytes but holds more (a /proc file) still meets the cap."""
    assert os.stat("/proc/self/status").st_size == 0
    with pytest.raises(UnsafeFileError, match="over the 16 byte limit"):
        read_regular_file(Path("/proc/self/status"), max_bytes=16)
    assert read_regular_file(Path("/proc/self/status"), max_bytes=1 << 20)


def test_deep_json_is_a_value_error():
    """JSON nested 100000 deep is a ValueError, not a RecursionError."""
    with pytest.raises(ValueError, match="nested too deeply") as caught:
        parse_json(deep_json().encode())
    assert caught.value.__cause__ is None  # no 1000-frame RecursionError chained on


def test_invalid_utf8_names_the_position_not_the_bytes():
    """Bad UTF-8 is a ValueError giving the byte offset, never the bytes themselves."""
    with pytest.raises(ValueError, match=r"not valid UTF-8 \(byte 3\)") as caught:
        decode_utf8(b'{"a\xff": 1}')
    assert "xff" not in str(caught.value)
    with pytest.raises(ValueError, match="UTF-8"):
        parse_json(b"\xfe\xff")


@posix_only
def test_symlinked_lock_file_is_refused(tmp_path):
    """A lock file replaced by a symlink is refused, and its target is never created."""
    target = tmp_path / "elsewhere"
    lock = tmp_path / "locks" / "x.lock"
    lock.parent.mkdir()
    lock.symlink_to(target)
    with pytest.raises(UnsafeFileError, match="symlink"), exclusive_lock(lock):
        pytest.fail("the lock was taken")
    assert not target.exists()


def test_lock_can_be_taken_again_after_release(tmp_path):
    """The same lock file can be taken again once released."""
    lock = tmp_path / "x.lock"
    for _ in range(2):
        with exclusive_lock(lock):
            assert lock.exists()
