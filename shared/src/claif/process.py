"""Running a vendor's command-line tool as a child process, one attempt at a time.

What every subprocess provider needs, written once:

- the binary found from a setting or ``PATH``, or a ConfigurationError that
  says how to install it (nothing is ever installed automatically);
- the prompt given on standard input as an in-memory file the child reads to
  its end, so no pipe can deadlock and prompts far beyond the argv limit work;
- standard output read line by line as it arrives, each line capped;
- standard error drained while output is read, its tail kept (bounded) for
  error messages, so a child that floods it never blocks;
- the child in a process group of its own that is always ended and reaped:
  SIGTERM to the group, a grace period, then SIGKILL, shielded from
  cancellation; also when a grandchild keeps standard output open after the
  child has exited.

No task group or cancel scope stays open between two reads, so a provider may
yield Messages from inside ``async with start_child(...)`` under any deadline.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .bounds import DEFAULT_MAX_EVENT_BYTES, oversized
from .common.errors import ConfigurationError, TransportError

__all__ = ["ChildProcess", "find_executable", "start_child"]

READ_CHUNK = 256 * 1024
PIPE_SIZE = 1024 * 1024
STDERR_TAIL_BYTES = 64 * 1024
TERM_GRACE = 2.0  # seconds between SIGTERM and SIGKILL
EXIT_GRACE = 0.2  # seconds a grandchild may hold standard output after the child exited


def find_executable(
    name: str, configured: str | os.PathLike[str] | None, *, install_hint: str, provider: str
) -> str:
    """The path of the tool: ``configured`` (a path or a name on PATH), else ``name`` on PATH.

    A missing tool is a ConfigurationError that names where it looked and how
    to install it.
    """
    wanted = os.fspath(configured) if configured else name
    if os.sep in wanted or (os.altsep and os.altsep in wanted):
        path = Path(wanted).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        state = "is not executable" if path.is_file() else "does not exist"
        raise ConfigurationError(f"{path} {state}; {install_hint}", provider=provider)
    found = shutil.which(wanted)
    if found is None:
        raise ConfigurationError(
            f"the {wanted!r} command was not found on PATH; {install_hint}", provider=provider
        )
    return found


async def start_child(
    argv: Sequence[str],
    *,
    stdin: bytes = b"",
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    provider: str,
    max_line_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    stderr_tail_bytes: int = STDERR_TAIL_BYTES,
    term_grace: float = TERM_GRACE,
) -> ChildProcess:
    """Start ``argv`` in its own process group with ``stdin`` as its whole standard input.

    Use the result with ``async with``: leaving the block ends and reaps the
    child and its group, whatever happened inside. Values of the environment
    whose names say they are secrets are masked in claif's output from now
    on: the child may quote them back.
    """
    import anyio

    from .logs import register_secret_environment

    register_secret_environment(os.environ if env is None else env)
    source = _input_file(stdin)
    output, child_end = _output_pipe()
    try:
        process = await anyio.open_process(
            list(argv),
            stdin=source,
            stdout=child_end,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    except BaseException as exc:
        os.close(output)
        if isinstance(exc, FileNotFoundError):
            raise ConfigurationError(
                f"cannot start {argv[0]}: {_missing(argv[0], cwd)} not found", provider=provider
            ) from exc
        if isinstance(exc, OSError):
            raise TransportError(
                f"cannot start {argv[0]}: {exc.strerror or exc}", provider=provider
            ) from exc
        raise
    finally:
        source.close()  # the child has its own descriptors
        os.close(child_end)
    return ChildProcess(process, output, provider, max_line_bytes, stderr_tail_bytes, term_grace)


def _output_pipe() -> tuple[int, int]:
    """A pipe for the child's stdout, as large as the system allows, our end non-blocking.

    Node-based CLIs exit without flushing what a full pipe could not take yet;
    a pipe of up to 1 MiB (Linux's default limit) lets their writes complete.
    """
    import fcntl

    ours, theirs = os.pipe()
    os.set_blocking(ours, False)
    if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux
        with contextlib.suppress(OSError):
            fcntl.fcntl(theirs, fcntl.F_SETPIPE_SZ, _pipe_max_size())
    return ours, theirs


def _pipe_max_size() -> int:
    try:
        with open("/proc/sys/fs/pipe-max-size", encoding="ascii") as handle:
            return min(int(handle.read()), PIPE_SIZE)
    except (OSError, ValueError):
        return PIPE_SIZE


def _missing(program: str, cwd: str | os.PathLike[str] | None) -> str:
    """What a failed start could not find: the working directory, else the program."""
    return os.fspath(cwd) if cwd is not None and not os.path.isdir(cwd) else program


def _input_file(data: bytes) -> IO[bytes]:
    """A readable file holding ``data``: in memory where Linux allows, else unlinked at once."""
    if hasattr(os, "memfd_create"):
        descriptor = os.memfd_create("claif-stdin", 0)
        handle = os.fdopen(descriptor, "w+b")
    else:  # pragma: no cover - other systems
        handle = tempfile.TemporaryFile()  # noqa: SIM115 -- returned open, closed by the caller
    handle.write(data)
    handle.flush()
    handle.seek(0)
    return handle


class ChildProcess:
    """A running child: its output lines, its exit code, the tail of what it said on stderr."""

    def __init__(
        self,
        process: Any,
        output: int,
        provider: str,
        max_line_bytes: int,
        stderr_tail_bytes: int,
        term_grace: float,
    ) -> None:
        self.process = process
        self.output = output  # our end of the stdout pipe, non-blocking
        self.pid: int = process.pid
        self.provider = provider
        self.max_line_bytes = max_line_bytes
        self.term_grace = term_grace
        self._buffer = bytearray()
        self._scanned = 0  # bytes of the buffer known to hold no line break
        self._eof = False
        self._stderr = bytearray()
        self._stderr_cap = stderr_tail_bytes
        self._stderr_eof = False
        self._closed = False

    async def __aenter__(self) -> ChildProcess:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def returncode(self) -> int | None:
        return self.process.returncode  # type: ignore[no-any-return]

    async def next_line(self) -> bytes | None:
        """The next line of standard output without its line break; None once it has ended.

        stderr is drained meanwhile; a line longer than ``max_line_bytes`` is a
        TransportError naming the cap.
        """
        while True:
            line = self._take_line()
            if line is not None:
                return line
            if self._eof:
                if self._buffer:
                    rest = bytes(self._buffer)
                    self._buffer.clear()
                    return rest
                return None
            await self._read_more()

    async def wait(self) -> int:
        """The exit code, once the child has exited (its output may still be unread)."""
        import anyio

        async with anyio.create_task_group() as group:
            group.start_soon(self._drain_stderr_until_cancelled)
            code = await self.process.wait()
            group.cancel_scope.cancel()
        return int(code)

    async def exited(self, within: float) -> int | None:
        """The exit code if the child exits within ``within`` seconds, else None.

        After a complete reply a CLI still saves its state and exits; waiting a
        moment for that keeps ``close()`` from cutting it short.
        """
        import anyio

        with anyio.move_on_after(within):
            return await self.wait()
        return None

    def stderr_tail(self, limit: int = 2000) -> str:
        """The last ``limit`` characters the child wrote on stderr, trimmed, keys redacted."""
        from .logs import redact

        text = self._stderr.decode("utf-8", "replace").strip()
        if len(text) > limit:
            text = "..." + text[-limit:].lstrip()
        return redact(text)

    async def close(self) -> None:
        """End the child and its group (SIGTERM, grace, SIGKILL) and reap it; shielded, once."""
        import anyio

        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self.process.returncode is None:
                self._signal_group(signal.SIGTERM)
                with anyio.move_on_after(self.term_grace):
                    await self.process.wait()
                if self.process.returncode is None:
                    self._signal_group(signal.SIGKILL)
                    await self.process.wait()
            self._signal_group(signal.SIGKILL)  # grandchildren left behind go too
            anyio.notify_closing(self.output)
            os.close(self.output)
            await self.process.aclose()

    def kill(self) -> None:
        """SIGKILL the whole group now, from any task: a reader then sees the output end.

        The owner's ``async with`` still reaps the child; this only stops it.
        """
        self._signal_group(signal.SIGKILL)

    def _take_line(self) -> bytes | None:
        end = self._buffer.find(b"\n", self._scanned)
        if end < 0:
            self._scanned = len(self._buffer)
            if self._scanned > self.max_line_bytes:
                raise oversized("one output line", self.max_line_bytes, provider=self.provider)
            return None
        if end > self.max_line_bytes:
            raise oversized("one output line", self.max_line_bytes, provider=self.provider)
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        self._scanned = 0
        return line[:-1] if line.endswith(b"\r") else line

    async def _read_more(self) -> None:
        """Read one chunk of stdout, draining stderr and watching for an exit meanwhile."""
        import anyio

        chunk: bytes | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(self._drain_stderr_until_cancelled)
            group.start_soon(self._free_stdout_after_exit)
            chunk = await self._receive()
            group.cancel_scope.cancel()
        if chunk:
            self._buffer += chunk
        else:
            self._eof = True

    async def _receive(self) -> bytes:
        """The next bytes of stdout, or b"" at its end."""
        import anyio

        while True:
            try:
                return os.read(self.output, READ_CHUNK)
            except BlockingIOError:
                await anyio.wait_readable(self.output)
            except OSError:  # closed under us: the same as its end
                return b""

    async def _drain_stderr_until_cancelled(self) -> None:
        import anyio

        if self._stderr_eof or self.process.stderr is None:
            await anyio.sleep_forever()
        while True:
            try:
                chunk = await self.process.stderr.receive(READ_CHUNK)
            except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
                self._stderr_eof = True
                await anyio.sleep_forever()
            self._stderr += chunk
            if len(self._stderr) > self._stderr_cap:
                del self._stderr[: len(self._stderr) - self._stderr_cap]

    async def _free_stdout_after_exit(self) -> None:
        """Once the child has exited, whatever still holds its stdout open is killed."""
        import anyio

        await self.process.wait()
        await anyio.sleep(EXIT_GRACE)
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, signum: int) -> None:
        if sys.platform == "win32":  # pragma: no cover - no process groups there
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)
