"""The fake backend's OpenAI side: routes, recorded requests, hostile replies, hand-run mode.

The HTTP server under it is core's claif.testing.http, tested in shared/tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from claif_myprovider.testing import FakeBackend, FakeFailure, FakeReply


@contextmanager
def streamed(backend: FakeBackend, read_timeout: float = 5.0) -> Iterator[httpx.Response]:
    """A streamed chat completion from the backend, open for reading."""
    body = {"model": "m", "messages": [], "stream": True}
    timeout = httpx.Timeout(5.0, read=read_timeout)
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("POST", f"{backend.url}/chat/completions", json=body) as response,
    ):
        yield response


def inflated_start(response: httpx.Response, size: int = 1 << 20) -> bytes:
    """The first ``size`` bytes the gzip body inflates to, reading no more than that takes."""
    inflater, out = zlib.decompressobj(31), b""
    for raw in response.iter_raw(1024):
        out += inflater.decompress(raw)
        if len(out) >= size:
            break
    return out[:size]


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
        if child.stdout is not None:
            child.stdout.close()


def read_through_done(lines: Iterator[str]) -> list[str]:
    """The ``data:`` payloads up to and including ``[DONE]``."""
    payloads = []
    for line in lines:
        if line.startswith("data: "):
            payloads.append(line.removeprefix("data: "))
        if line == "data: [DONE]":
            return payloads
    raise AssertionError("the stream ended without [DONE]")


def test_hold_after_done_never_ends_the_body(backend):
    """after_done="hold" sends [DONE], then neither more bytes nor the end of the body."""
    backend.enqueue(FakeReply(after_done="hold"))
    with streamed(backend, read_timeout=0.5) as response:
        lines = response.iter_lines()
        read_through_done(lines)
        with pytest.raises(httpx.ReadTimeout):
            next(line for line in lines if line)


def test_comments_after_done_keep_coming(backend):
    """after_done="comments" sends a keep-alive comment every 0.1 s after [DONE], without end."""
    backend.enqueue(FakeReply(after_done="comments"))
    with streamed(backend) as response:
        lines = response.iter_lines()
        read_through_done(lines)
        started = time.monotonic()
        comments = [line for line in (next(lines) for _ in range(8)) if line]
        assert comments == [": keep-alive"] * 4
        assert time.monotonic() - started >= 0.25


def test_endless_line_never_ends(backend):
    """endless_line follows the text with one data: line that grows past 1 MiB without ending."""
    backend.enqueue(FakeReply(text=["Hi"], endless_line=True))
    with streamed(backend) as response:
        seen = b""
        for chunk in response.iter_raw(65536):
            seen += chunk
            if len(seen) > 2 << 20:
                break
    head, _, line = seen.rpartition(b"\n")
    assert b'"content":"Hi"' in head
    assert b"[DONE]" not in seen
    assert line.startswith(b"data: ")
    assert len(line) > 1 << 20


def test_raw_events_are_sent_verbatim_in_place_of_the_text(backend):
    """raw_events go out as data: payloads as written, between the role chunk and the finish."""
    wrong = ['{"choices":[{"delta":"string"}]}', "not json at all"]
    backend.enqueue(FakeReply(text=["unused"], raw_events=wrong))
    with streamed(backend) as response:
        payloads = read_through_done(response.iter_lines())
    assert payloads[1:3] == wrong
    assert json.loads(payloads[3])["choices"][0]["finish_reason"] == "stop"
    assert "unused" not in "".join(payloads)


def test_gzip_bomb_reply_answers_even_a_stream_with_padded_json(backend):
    """A gzip_bomb reply is one gzip JSON body, a few MB long, padded with spaces once inflated."""
    backend.enqueue(FakeReply(text=["Hi"], gzip_bomb=True))
    with streamed(backend) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert int(response.headers["content-length"]) < 8 << 20
        start = inflated_start(response)
    reply, spaces = json.JSONDecoder().raw_decode(start.decode())
    assert reply["choices"][0]["message"]["content"] == "Hi"
    assert start[spaces:].strip() == b""


def test_gzip_bomb_failure_keeps_its_status_and_body(backend):
    """A gzip_bomb failure keeps its status and error JSON, then inflates into spaces."""
    backend.enqueue(FakeFailure(500, b'{"e": 1}', gzip_bomb=True))
    with streamed(backend) as response:
        assert response.status_code == 500
        assert inflated_start(response, 4096) == b'{"e": 1}'.ljust(4096)
