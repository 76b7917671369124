"""A small HTTP/1.1 server on asyncio streams, in its own thread: the fake backend's engine.

It knows nothing of chat completions. A handler turns each request into an
``Exchange``: a status, headers, and steps (bytes to send, seconds to pause, or a
cut). Running in a thread with its own event loop, it serves sync tests, async
tests, scripts and benchmarks alike, with real sockets and keep-alive.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, TypeAlias

__all__ = ["CUT", "Exchange", "HttpRequest", "ServerThread", "Step", "closed_port"]

# A step: bytes to send, a float to pause that many seconds, or CUT to drop the connection.
CUT = None
Step: TypeAlias = bytes | float | None

MAX_HEADER_BYTES = 64 * 1024
BACKLOG = 4096


@dataclass(frozen=True)
class HttpRequest:
    """One request as the server received it; header names are lower-case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (an empty body is None)."""
        return json.loads(self.body) if self.body else None


@dataclass
class Exchange:
    """A response: without ``content-length`` in headers, steps are sent chunked.

    ``delay`` pauses before the status line, as a slow server does.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    steps: Sequence[Step] = ()
    delay: float = 0.0

    @property
    def chunked(self) -> bool:
        return not any(name.lower() == "content-length" for name, _ in self.headers)


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, for connection-refused tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
    return port


def _head(exchange: Exchange) -> bytes:
    try:
        reason = HTTPStatus(exchange.status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {exchange.status} {reason}"]
    lines += [f"{name}: {value}" for name, value in exchange.headers]
    if exchange.chunked:
        lines.append("Transfer-Encoding: chunked")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class ServerThread:
    """Serves ``handler`` on host:port from a daemon thread until ``stop()``."""

    def __init__(
        self, handler: Callable[[HttpRequest], Exchange], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._stopping: asyncio.Event | None = None
        self._failure: BaseException | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> int:
        """Start serving; returns the bound port once it accepts connections."""
        self._thread = threading.Thread(target=self._run, name="claif-fake-backend", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            raise self._failure
        return self.port

    def stop(self) -> None:
        """Stop serving and drop every open connection; safe to call twice."""
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except OSError as exc:  # the port is taken: reported to start()
            self._failure = exc
            self._started.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(
            self._serve, self.host, self.port, backlog=BACKLOG, limit=MAX_HEADER_BYTES
        )
        self.port = server.sockets[0].getsockname()[1]
        self._started.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._exchange(reader, writer):
                continue
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return  # the client hung up mid-exchange: normal for timeout and cancel tests
        except asyncio.CancelledError:
            # stop() cancels the handlers it owns; ending quietly, because asyncio's
            # stream callback would log a cancelled handler as an unhandled error.
            return
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False when the connection must end."""
        request = await _read_request(reader)
        if request is None:
            return False
        exchange = self.handler(request)
        if not await _send(writer, exchange):
            return False
        return request.headers.get("connection", "").lower() != "close"


async def _read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None  # a clean close between requests
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    body = await reader.readexactly(length) if length else b""
    return HttpRequest(method=method, path=target.partition("?")[0], headers=headers, body=body)


async def _send(writer: asyncio.StreamWriter, exchange: Exchange) -> bool:
    """Write the response step by step; False if it was cut on purpose."""
    if exchange.delay:
        await asyncio.sleep(exchange.delay)
    buffer = bytearray(_head(exchange))
    for step in exchange.steps:
        if isinstance(step, bytes):
            buffer += _frame(step) if exchange.chunked else step
            continue
        await _flush(writer, buffer)
        if step is CUT:
            writer.close()
            return False
        await asyncio.sleep(step)
    if exchange.chunked:
        buffer += b"0\r\n\r\n"
    await _flush(writer, buffer)
    return True


def _frame(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


async def _flush(writer: asyncio.StreamWriter, buffer: bytearray) -> None:
    if buffer:
        writer.write(bytes(buffer))
        buffer.clear()
    await writer.drain()
