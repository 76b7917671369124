"""The fake backend itself: real sockets, concurrency, clean shutdown, its hand-run mode."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys

import anyio
import httpx
import pytest

from claif_myprovider.testing import FakeBackend, FakeReply, closed_port


def test_closed_port_refuses_connections():
    """closed_port() gives a port where a connection is refused."""
    port = closed_port()
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", port), timeout=2),
    ):
        pass


def test_taken_port_fails_on_start():
    """Starting on a port already in use raises OSError instead of hanging."""
    with FakeBackend() as first, pytest.raises(OSError, match="in use"):
        FakeBackend(port=first.port).start()


def test_stop_with_a_stalled_stream_logs_nothing(caplog):
    """Stopping while a stream is stalled ends its connection without asyncio error logs."""
    caplog.set_level(logging.ERROR)
    with FakeBackend(default=FakeReply(stall=30.0)) as backend:
        body = {"model": "m", "messages": [], "stream": True}
        with (
            httpx.Client() as client,
            client.stream(
                "POST", f"{backend.url}/chat/completions", json=body, timeout=5
            ) as response,
        ):
            assert next(response.iter_lines()).startswith("data:")
            backend.stop()
    assert not [record for record in caplog.records if record.name == "asyncio"]


def test_records_requests_in_order(backend):
    """Every chat request is kept, with its headers and JSON body."""
    for word in ("one", "two"):
        httpx.post(
            f"{backend.url}/chat/completions", json={"model": word, "messages": []}, timeout=5
        )
    assert [r.json()["model"] for r in backend.chat_requests] == ["one", "two"]
    assert backend.chat_requests[0].headers["content-type"] == "application/json"


def test_unknown_route_is_404(backend):
    """A path the fake does not serve answers 404 with an OpenAI-style error."""
    response = httpx.get(f"{backend.url}/nope", timeout=5)
    assert response.status_code == 404
    assert "no route" in response.json()["error"]["message"]


async def test_serves_many_connections_at_once(backend):
    """Hundreds of simultaneous connections are all answered."""
    backend.default = FakeReply(text=["x"] * 5, interval=0.01)
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=None)

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def one() -> None:
            body = {"model": "m", "messages": [], "stream": True}
            async with client.stream(
                "POST", f"{backend.url}/chat/completions", json=body
            ) as response:
                await response.aread()
                statuses.append(response.status_code)

        async with anyio.create_task_group() as group:
            for _ in range(300):
                group.start_soon(one)
    assert statuses == [200] * 300
    assert backend.connections >= 300


def test_streams_thousands_of_chunks_fast(backend):
    """A 5,000-chunk reply is served as one write, well under a second."""
    backend.default = FakeReply(text=("tok ",) * 5000)
    body = {"model": "m", "messages": [], "stream": True}
    response = httpx.post(f"{backend.url}/chat/completions", json=body, timeout=10)
    events = [line for line in response.text.splitlines() if line.startswith("data:")]
    assert len(events) == 5000 + 3  # role chunk, 5000 text chunks, finish, [DONE]
    assert response.elapsed.total_seconds() < 1


def test_runs_by_hand_and_prints_its_url():
    """`python -m claif_myprovider.testing --port 0` prints its base URL and serves."""
    child = subprocess.Popen(
        [sys.executable, "-m", "claif_myprovider.testing", "--port", "0", "--chunks", "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/models", timeout=5).json()["data"][0]["id"] == "fake-model"
        body = {"model": "m", "messages": [], "stream": False}
        reply = httpx.post(f"{url}/chat/completions", json=body, timeout=5).json()
        assert reply["choices"][0]["message"]["content"] == "tok tok tok "
    finally:
        child.terminate()
        child.wait(timeout=10)
