"""A scripted HTTP/1.1 server on 127.0.0.1, in its own thread: the engine of providers' fakes.

It knows no vendor. A handler turns each request into an ``Exchange``: a
status, headers and steps (bytes to send, seconds to pause, ``CUT``, ``HOLD``
or a ``Repeat``). Running in a daemon thread with its own event loop, it serves
sync tests, async tests, scripts and benchmarks alike, with real sockets and
keep-alive. A provider's fake is then only its wire format::

    def handler(request: HttpRequest) -> Exchange:
        return Exchange(200, [("Content-Type", "text/event-stream")], [sse_event("hi")])

    with FakeHttpServer(handler) as server:
        ...  # point the provider at server.url

Only the standard library is used, so importing it loads no HTTP client.
"""

from __future__ import annotations

import asyncio
import enum
import gzip
import json
import re
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, Final, TypeAlias

__all__ = [
    "CUT",
    "Exchange",
    "FakeHttpServer",
    "HOLD",
    "HttpRequest",
    "Repeat",
    "Step",
    "closed_port",
    "gzip_bomb",
    "gzip_exchange",
    "sse_event",
]


class _Control(enum.Enum):
    CUT = "cut"
    HOLD = "hold"


CUT: Final = _Control.CUT
"""Step: drop the connection here, mid-body."""

HOLD: Final = _Control.HOLD
"""Step: send what came before, then never end the body, until the client hangs up."""


@dataclass(frozen=True)
class Repeat:
    """Step: send ``data`` over and over, ``interval`` seconds apart, until the client hangs up."""

    data: bytes
    interval: float = 0.0


# A step: bytes to send, a float to pause that many seconds, CUT, HOLD or a Repeat.
Step: TypeAlias = bytes | float | _Control | Repeat

MAX_HEADER_BYTES = 64 * 1024
BACKLOG = 4096
FLUSH_BYTES = 64 * 1024  # bytes steps are batched into writes of about this size
BOMB_PIECE = 1 << 20
BOMB_BYTES = 4 << 30  # what gzip_bomb inflates to by default: more than a test box should hold
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
_DEFLATE_END = b"\x03\x00"  # an empty final block


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

    ``steps`` may be a generator, consumed only as fast as the client reads.
    ``delay`` pauses before the status line, as a slow server does.
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    steps: Iterable[Step] = ()
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


def sse_event(data: str | bytes, event: str | None = None) -> bytes:
    """One server-sent event: a ``data:`` line per line of ``data``, then a blank line."""
    if event is not None and re.search("[\r\n]", event):
        raise ValueError(f"an SSE event name cannot contain a line break: {event!r}")
    raw = data.encode() if isinstance(data, str) else data
    lines = [b"data: " + line + b"\n" for line in re.split(rb"\r\n|\r|\n", raw)]
    head = [f"event: {event}\n".encode()] if event is not None else []
    return b"".join([*head, *lines, b"\n"])


def gzip_exchange(status: int, body: bytes, headers: Sequence[tuple[str, str]] = ()) -> Exchange:
    """``body`` gzip-compressed, with ``Content-Encoding: gzip`` and its length."""
    data = gzip.compress(body)
    sized = [*headers, ("Content-Encoding", "gzip"), ("Content-Length", str(len(data)))]
    return Exchange(status, sized, [data])


def gzip_bomb(
    status: int,
    head: bytes = b"",
    headers: Sequence[tuple[str, str]] = (),
    *,
    inflated: int = BOMB_BYTES,
) -> Exchange:
    """A small gzip body that inflates to ``head`` and then ``inflated`` bytes of spaces.

    About 1 KiB travels per MiB it inflates to (``inflated`` is rounded down to
    whole MiB), made as it is sent, never held inflated. Spaces, because JSON
    allows them after a value: a client parses nothing wrong until it has read it all.
    """
    pieces = inflated // BOMB_PIECE
    first, repeated = _deflated(head), _deflated(b" " * BOMB_PIECE)
    size = len(_GZIP_HEADER) + len(first) + pieces * len(repeated) + len(_DEFLATE_END) + 8
    sized = [*headers, ("Content-Encoding", "gzip"), ("Content-Length", str(size))]
    return Exchange(status, sized, _bomb_steps(head, first, repeated, pieces))


def _deflated(data: bytes) -> bytes:
    """Raw deflate of ``data`` ending on a full flush, so such pieces can follow each other."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FULL_FLUSH)


def _bomb_steps(head: bytes, first: bytes, repeated: bytes, pieces: int) -> Iterator[Step]:
    yield _GZIP_HEADER + first
    for _ in range(pieces):
        yield repeated
    # The checksum is worked out only for a client that reads this far (about 0.3 s a GiB).
    crc, piece = zlib.crc32(head), b" " * BOMB_PIECE
    for _ in range(pieces):
        crc = zlib.crc32(piece, crc)
    total = len(head) + pieces * BOMB_PIECE
    yield _DEFLATE_END + struct.pack("<II", crc, total & 0xFFFFFFFF)


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


class FakeHttpServer:
    """Serves ``handler`` on host:port from a daemon thread, from ``start()`` until ``stop()``.

    ``connections`` counts TCP connections accepted, so tests can see reuse;
    ``open_connections`` those still being served, so tests can see one end.
    """

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

    @property
    def url(self) -> str:
        """``http://host:port``, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    @property
    def open_connections(self) -> int:
        """Connections accepted and not yet closed."""
        return len(self._tasks)

    def start(self) -> int:
        """Start serving; returns the bound port once it accepts connections."""
        self._thread = threading.Thread(target=self._run, name="claif-fake-http", daemon=True)
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

    def __enter__(self) -> FakeHttpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

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
        except (ConnectionError, asyncio.IncompleteReadError):
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
        try:
            request = await _read_request(reader)
        except _BadRequest as exc:
            await _send(reader, writer, exc.exchange())
            return False
        if request is None:
            return False
        exchange = self.handler(request)
        if not await _send(reader, writer, exchange):
            return False
        return request.headers.get("connection", "").lower() != "close"


class _BadRequest(Exception):
    """A request the server cannot read: answered with ``status`` and the connection closed."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status

    def exchange(self) -> Exchange:
        body = f"{self}\n".encode()
        headers = [("Content-Length", str(len(body))), ("Connection", "close")]
        return Exchange(self.status, headers, [body])


async def _read_request(reader: asyncio.StreamReader) -> HttpRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise
        return None  # a clean close between requests
    except asyncio.LimitOverrunError as exc:
        raise _BadRequest(431, "request head too large") from exc
    lines = head.decode("latin-1").split("\r\n")
    words = lines[0].split(" ")
    if len(words) != 3 or not all(words) or not words[2].startswith("HTTP/1."):
        raise _BadRequest(400, f"bad request line {lines[0][:80]!r}")
    method, target, _version = words
    headers = _headers(lines[1:])
    if "transfer-encoding" in headers:
        raise _BadRequest(411, "a request body needs a Content-Length")
    length = headers.get("content-length", "0") or "0"
    if not length.isdigit():
        raise _BadRequest(400, f"bad Content-Length {length[:80]!r}")
    body = await reader.readexactly(int(length)) if int(length) else b""
    return HttpRequest(method=method, path=target.partition("?")[0], headers=headers, body=body)


def _headers(lines: list[str]) -> dict[str, str]:
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    return headers


async def _send(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, exchange: Exchange
) -> bool:
    """Write the response step by step; False if the connection must end after it."""
    if exchange.delay:
        await asyncio.sleep(exchange.delay)
    buffer = bytearray(_head(exchange))
    for step in exchange.steps:
        if isinstance(step, bytes):
            buffer += _frame(step) if exchange.chunked else step
            if len(buffer) >= FLUSH_BYTES:
                await _flush(writer, buffer)
            continue
        await _flush(writer, buffer)
        if step is CUT:
            writer.close()
            return False
        if step is HOLD:
            await _until_hangup(reader)
            return False
        if isinstance(step, Repeat):
            await _repeat(writer, step, exchange.chunked)
        else:
            await asyncio.sleep(step)
    if exchange.chunked:
        buffer += b"0\r\n\r\n"
    await _flush(writer, buffer)
    return True


async def _until_hangup(reader: asyncio.StreamReader) -> None:
    """Wait, discarding anything the client sends, until it closes the connection."""
    while await reader.read(FLUSH_BYTES):
        continue


async def _repeat(writer: asyncio.StreamWriter, step: Repeat, chunked: bool) -> None:
    """Write ``step.data`` until writing fails because the client has gone."""
    data = _frame(step.data) if chunked else step.data
    while True:
        writer.write(data)
        await writer.drain()
        await asyncio.sleep(step.interval)  # also lets stop() and other connections run


def _frame(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


async def _flush(writer: asyncio.StreamWriter, buffer: bytearray) -> None:
    if buffer:
        writer.write(bytes(buffer))
        buffer.clear()
    await writer.drain()
    await asyncio.sleep(0)  # a long generator of steps must not starve stop() or other clients
