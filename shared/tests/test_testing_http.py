"""claif.testing.http: the scripted HTTP server, through real sockets from the standard library."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import logging
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator

import pytest

from claif.testing import http as fake_http
from claif.testing.http import (
    CUT,
    HOLD,
    Exchange,
    FakeHttpServer,
    HttpRequest,
    Repeat,
    closed_port,
    gzip_bomb,
    gzip_exchange,
    sse_event,
)

Handler = Callable[[HttpRequest], Exchange]


def text(body: bytes, status: int = 200) -> Exchange:
    """A plain response with its length."""
    return Exchange(status, [("Content-Length", str(len(body)))], [body])


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], FakeHttpServer]]:
    """Start a server for a handler; every one started is stopped after the test."""
    started: list[FakeHttpServer] = []

    def start(handler: Handler) -> FakeHttpServer:
        server = FakeHttpServer(handler)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def connect() -> Iterator[Callable[[FakeHttpServer], http.client.HTTPConnection]]:
    """Open client connections to a server; every one opened is closed after the test."""
    opened: list[http.client.HTTPConnection] = []

    def open_one(server: FakeHttpServer) -> http.client.HTTPConnection:
        opened.append(http.client.HTTPConnection(server.host, server.port, timeout=5))
        return opened[-1]

    yield open_one
    for conn in opened:
        conn.close()


def raw_request(server: FakeHttpServer, head: bytes = b"GET / HTTP/1.1\r\n\r\n") -> socket.socket:
    """A raw socket that has sent ``head``, for reading the response byte by byte."""
    sock = socket.create_connection((server.host, server.port), timeout=5)
    sock.sendall(head)
    return sock


def read_until(sock: socket.socket, marker: bytes) -> bytes:
    seen = b""
    while marker not in seen:
        data = sock.recv(65536)
        assert data, f"connection closed before {marker!r}"
        seen += data
    return seen


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_all_is_sorted_and_public():
    """__all__ is sorted and names only things the module defines."""
    assert fake_http.__all__ == sorted(fake_http.__all__)
    assert all(hasattr(fake_http, name) for name in fake_http.__all__)


def test_import_loads_no_test_runner_or_http_client():
    """claif.testing.http loads neither pytest nor httpx, and claif.testing loads it only on use."""
    code = (
        "import sys, claif.testing; lazy = 'claif.testing.http' not in sys.modules\n"
        "import claif.testing.http\n"
        "print(lazy, sorted(m for m in ('pytest', 'httpx', 'anyio') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "True []"


def test_closed_port_refuses_connections():
    """closed_port() gives a port where a connection is refused."""
    port = closed_port()
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=2),
    ):
        pass


def test_taken_port_fails_on_start(serve):
    """Starting on a port already in use raises OSError instead of hanging."""
    first = serve(lambda request: text(b"x"))
    with pytest.raises(OSError, match="in use"):
        FakeHttpServer(lambda request: text(b"x"), port=first.port).start()


def test_handler_sees_the_request(serve, connect):
    """The handler gets method, path without query, lower-case headers and the body."""
    seen: list[HttpRequest] = []

    def handler(request: HttpRequest) -> Exchange:
        seen.append(request)
        return text(b"ok")

    server = serve(handler)
    conn = connect(server)
    conn.request("POST", "/v1/x?debug=1", body=b'{"a": 1}', headers={"X-Thing": "yes"})
    assert conn.getresponse().read() == b"ok"
    (request,) = seen
    assert (request.method, request.path, request.headers["x-thing"]) == ("POST", "/v1/x", "yes")
    assert request.json() == {"a": 1}


def test_keep_alive_reuses_one_connection(serve, connect):
    """Requests on one client connection are all served on one TCP connection."""
    server = serve(lambda request: text(request.path.encode()))
    conn = connect(server)
    for path in ("/one", "/two", "/three"):
        conn.request("GET", path)
        assert conn.getresponse().read() == path.encode()
    assert server.connections == 1


def test_without_content_length_the_body_is_chunked(serve, connect):
    """Steps without a Content-Length header go out chunked and arrive whole."""
    server = serve(lambda request: Exchange(200, [], [b"Hel", b"lo", 0.01, b"!"]))
    conn = connect(server)
    conn.request("GET", "/")
    response = conn.getresponse()
    assert response.getheader("Transfer-Encoding") == "chunked"
    assert response.read() == b"Hello!"


def test_cut_drops_the_connection_mid_body(serve, connect):
    """CUT closes the connection where it stands, so the client reads an incomplete body."""
    server = serve(lambda request: Exchange(200, [("Content-Length", "10")], [b"abc", CUT]))
    conn = connect(server)
    conn.request("GET", "/")
    with pytest.raises(http.client.IncompleteRead):
        conn.getresponse().read()


def test_delay_holds_back_the_status_line(serve, connect):
    """An Exchange's delay passes before the status line is sent."""
    server = serve(lambda request: Exchange(204, [("Content-Length", "0")], delay=0.3))
    conn = connect(server)
    started = time.monotonic()
    conn.request("GET", "/")
    assert conn.getresponse().status == 204
    assert time.monotonic() - started >= 0.3


def test_unknown_status_gets_a_reason_phrase(serve, connect):
    """A status outside the standard list is still sent, with the phrase Unknown."""
    server = serve(lambda request: text(b"", status=599))
    conn = connect(server)
    conn.request("GET", "/")
    response = conn.getresponse()
    assert (response.status, response.reason) == (599, "Unknown")


def test_streams_thousands_of_steps_fast(serve, connect):
    """5,000 byte steps are batched into few writes and served well under a second."""
    server = serve(lambda request: Exchange(200, [], [sse_event("tok")] * 5000))
    conn = connect(server)
    started = time.monotonic()
    conn.request("GET", "/")
    body = conn.getresponse().read()
    assert body.count(b"data: tok\n\n") == 5000
    assert time.monotonic() - started < 1


async def test_serves_many_connections_at_once(serve):
    """Hundreds of simultaneous connections are all answered."""
    server = serve(lambda request: Exchange(200, [], [b"x", 0.05, b"y"]))

    async def one() -> bytes:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        writer.write(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        answer = await reader.read()
        writer.close()
        return answer

    answers = await asyncio.gather(*(one() for _ in range(300)))
    assert all(answer.startswith(b"HTTP/1.1 200 OK") for answer in answers)
    assert server.connections == 300


def test_stop_with_a_stalled_stream_logs_nothing(serve, caplog):
    """Stopping while a response is paused ends its connection without asyncio error logs."""
    caplog.set_level(logging.ERROR)
    server = serve(lambda request: Exchange(200, [], [b"first", 30.0, b"never"]))
    with raw_request(server) as sock:
        read_until(sock, b"first")
        server.stop()
        assert sock.recv(100) == b""
    assert not [record for record in caplog.records if record.name == "asyncio"]


@pytest.mark.parametrize(
    "head",
    [
        b"\x16\x03\x01garbage\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
)
def test_unreadable_request_gets_an_error_and_the_server_lives_on(serve, connect, head):
    """A request the server cannot parse gets a 4xx and a close; the next client is served."""
    server = serve(lambda request: text(b"fine"))
    with raw_request(server, head) as sock:
        answer = read_until(sock, b"\r\n\r\n")
    assert answer.split(b" ")[1] in (b"400", b"411")
    conn = connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"fine"


def test_hold_never_ends_the_body(serve):
    """After HOLD the terminating chunk never comes; the connection ends when the client leaves."""
    server = serve(lambda request: Exchange(200, [], [b"partial", HOLD, b"never"]))
    with raw_request(server) as sock:
        read_until(sock, b"partial\r\n")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(100)
    wait_until(lambda: server.open_connections == 0)


def test_repeat_runs_until_the_client_hangs_up(serve, connect):
    """A Repeat step writes until the client disconnects; the server then serves others."""
    server = serve(lambda request: Exchange(200, [], [b"data: ", Repeat(b"x" * 4096)]))
    with raw_request(server) as sock:
        received = 0
        while received < 1 << 20:
            received += len(sock.recv(65536))
    wait_until(lambda: server.open_connections == 0)
    server.handler = lambda request: text(b"still here")
    conn = connect(server)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"still here"


def test_repeat_paces_by_its_interval(serve):
    """A Repeat with an interval sends its bytes that many seconds apart."""
    server = serve(lambda request: Exchange(200, [], [Repeat(b": ping\n\n", interval=0.1)]))
    started = time.monotonic()
    with raw_request(server) as sock:
        seen = b""
        while seen.count(b": ping") < 4:
            seen += sock.recv(1024)
    assert time.monotonic() - started >= 0.3


def test_sse_event_frames_each_line():
    """Each line of data becomes its own data: line, after the event name, then a blank line."""
    assert sse_event("a\nb\r\nc", event="delta") == b"event: delta\ndata: a\ndata: b\ndata: c\n\n"
    assert sse_event(b'{"x": 1}') == b'data: {"x": 1}\n\n'
    assert sse_event("") == b"data: \n\n"


def test_sse_event_refuses_a_line_break_in_the_name():
    """An event name with a line break would forge another field, so it is refused."""
    with pytest.raises(ValueError, match="line break"):
        sse_event("x", event="a\ndata: forged")


def test_gzip_exchange_decodes_with_gzip(serve, connect):
    """gzip_exchange sends a gzip body with Content-Encoding and the compressed length."""
    body = json.dumps({"hello": "world" * 100}).encode()
    server = serve(lambda request: gzip_exchange(200, body, [("Content-Type", "application/json")]))
    conn = connect(server)
    conn.request("GET", "/")
    response = conn.getresponse()
    raw = response.read()
    assert response.getheader("Content-Encoding") == "gzip"
    assert int(response.getheader("Content-Length")) == len(raw) < len(body)
    assert gzip.decompress(raw) == body


def test_gzip_bomb_is_a_valid_gzip_body(serve, connect):
    """A small gzip_bomb inflates to its head and then spaces, with a correct length and trailer."""
    head = b'{"error": "boom"}'
    server = serve(lambda request: gzip_bomb(500, head, inflated=3 << 20))
    conn = connect(server)
    conn.request("GET", "/")
    response = conn.getresponse()
    raw = response.read()
    assert (response.status, response.getheader("Content-Encoding")) == (500, "gzip")
    assert int(response.getheader("Content-Length")) == len(raw)
    assert gzip.decompress(raw) == head + b" " * (3 << 20)


def test_default_gzip_bomb_is_small_on_the_wire_and_huge_inflated(serve):
    """The default bomb declares a few MB, is made as it is sent, and inflates 500-fold and more."""
    assert int(dict(gzip_bomb(200).headers)["Content-Length"]) < 8 << 20
    server = serve(lambda request: gzip_bomb(200))
    inflater, inflated, received = zlib.decompressobj(31), 0, 0
    with raw_request(server) as sock:
        data = read_until(sock, b"\r\n\r\n").partition(b"\r\n\r\n")[2]
        while inflated < 64 << 20:
            received += len(data)
            inflated += len(inflater.decompress(data))
            data = sock.recv(1024)
    assert received < inflated // 500
    wait_until(lambda: server.open_connections == 0)
