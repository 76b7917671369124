"""HTTP and OpenAI-format failures become the right claif error; no httpx error escapes.

The backend-neutral faults (auth, rate limits, retries, cuts, stalls, cleanup) are
checked by core's conformance suite, run in test_myprovider_package.py.
"""

from __future__ import annotations

import time

import anyio
import pytest

from claif.common import (
    AuthenticationError,
    ClaifError,
    ClaifOptions,
    ClaifTimeoutError,
    Message,
    NotFoundError,
    ProviderError,
    TransportError,
)
from claif_myprovider import MyProvider
from claif_myprovider.testing import FakeFailure, FakeReply


async def drain(stream) -> list[Message]:
    return [message async for message in stream]


async def fails_with(provider, error_type, options=None) -> ClaifError:
    """One attempt (max_retries=0) fails with ``error_type``; the error is returned."""
    single = (options or ClaifOptions()).replace(max_retries=0)
    with pytest.raises(error_type) as caught:
        await drain(provider.query("Hi", single))
    return caught.value


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(403, AuthenticationError), (404, NotFoundError)],
)
async def test_status_maps_to_error_with_server_message(backend, provider, status, error_type):
    """403 is an auth error and 404 not-found, each with the server's status and message."""
    backend.enqueue(FakeFailure.json_error(status, "model 'nope' does not exist"))
    error = await fails_with(provider, error_type)
    assert error.status == status
    assert "model 'nope' does not exist" in str(error)
    assert not error.retryable


async def test_wrong_key_is_an_authentication_error(backend):
    """A server that checks keys answers a wrong one with AuthenticationError."""
    backend.api_key = "right"
    async with MyProvider(base_url=backend.url, api_key="wrong") as provider:
        await fails_with(provider, AuthenticationError)


async def test_any_status_with_headers(backend, provider):
    """An unusual status with custom headers maps by status, not by body text."""
    backend.enqueue(
        FakeFailure(418, "rate limited, authentication failed", {"X-Why": "tea"}, "text/plain")
    )
    error = await fails_with(provider, ProviderError)
    assert type(error) is ProviderError
    assert error.status == 418
    assert not error.retryable


async def test_html_error_page_on_a_stream_request(backend, provider):
    """An HTML 502 page answering a stream request is a status error, not a parser crash."""
    backend.enqueue(FakeFailure.html_page(502))
    error = await fails_with(provider, ProviderError)
    assert error.status == 502
    assert "<html>" not in str(error)


async def test_html_body_with_status_200(backend, provider):
    """A 200 that is not an event stream is a TransportError quoting the body."""
    backend.enqueue(FakeFailure(200, "<html>captive portal</html>", content_type="text/html"))
    error = await fails_with(provider, TransportError)
    assert "expected an event stream" in str(error)
    assert "captive portal" in str(error)


async def test_in_stream_error_is_a_provider_error(backend, provider):
    """An {"error": ...} event inside a 200 stream raises ProviderError with its message."""
    backend.enqueue(FakeReply(text=["a", "b"], error_at=2, error="CUDA out of memory"))
    seen: list[str] = []

    async def collect() -> None:
        async for message in provider.query("Hi"):
            seen.append(message.text)

    with pytest.raises(ProviderError, match="CUDA out of memory"):
        await collect()
    assert seen == ["a"]


async def test_in_stream_error_without_streaming(backend, provider):
    """An {"error": ...} body with status 200 on stream=False is a ProviderError too."""
    backend.enqueue(FakeReply(error_at=0, error="bad things"))
    await fails_with(provider, ProviderError, ClaifOptions(stream=False))


async def test_malformed_chunk_is_quoted(backend, provider):
    """A malformed chunk is a TransportError quoting its start."""
    backend.enqueue(FakeReply(text=["a", "b"], malformed_at=2))
    error = await fails_with(provider, TransportError)
    assert "malformed chunk" in str(error)
    assert '{"choices"' in str(error)


async def test_malformed_whole_body(backend, provider):
    """A broken JSON body on stream=False is a TransportError, not a crash."""
    backend.enqueue(FakeReply(malformed_at=0))
    error = await fails_with(provider, TransportError, ClaifOptions(stream=False))
    assert "not JSON" in str(error)


async def test_cut_whole_body(backend, provider):
    """A connection dropped mid-body on stream=False is a TransportError."""
    backend.enqueue(FakeReply(cut_after=0))
    await fails_with(provider, TransportError, ClaifOptions(stream=False))


async def test_stall_hits_the_idle_timeout(backend):
    """A server that goes quiet mid-stream trips the idle timeout, fast."""
    backend.enqueue(FakeReply(text=["a", "b"], stall=30.0, stall_after=2))
    async with MyProvider(base_url=backend.url, idle_timeout=0.3) as provider:
        started = time.monotonic()
        error = await fails_with(provider, ClaifTimeoutError)
    assert time.monotonic() - started < 5
    assert "idle" in str(error)


async def test_slow_headers_hit_the_idle_timeout(backend):
    """A server that never sends its status line is a timeout too."""
    backend.enqueue(FakeFailure(500, delay=30.0))
    async with MyProvider(base_url=backend.url, idle_timeout=0.3) as provider:
        await fails_with(provider, ClaifTimeoutError)


async def test_overall_deadline_from_options(backend, provider):
    """options.timeout bounds the whole reply even while events keep trickling in."""
    backend.enqueue(FakeReply(text=["x"] * 100, interval=0.05))
    started = time.monotonic()
    error = await fails_with(provider, ClaifTimeoutError, ClaifOptions(timeout=0.5))
    assert 0.4 < time.monotonic() - started < 3
    assert "0.5s" in str(error)


async def test_max_retries_zero_makes_one_attempt(backend, provider):
    """With max_retries=0, provider.query sends exactly one request."""
    backend.enqueue(FakeFailure.json_error(503, "busy"), FakeReply())
    await fails_with(provider, ProviderError)
    assert len(backend.chat_requests) == 1


async def test_query_after_a_cancelled_stream_gets_a_fresh_connection(backend, provider):
    """After a stream is cancelled mid-body the provider still works, on a new connection."""
    backend.enqueue(FakeReply(text=["a"], stall=30.0, stall_after=2))
    with anyio.move_on_after(0.3):
        await drain(provider.query("Hi"))
    assert await drain(provider.query("Hi"))
    assert backend.connections == 2


async def test_health_reports_failure_without_raising(backend, provider):
    """health() reports a failing backend as ok=False with the reason."""
    backend.enqueue_models(FakeFailure.json_error(500, "down"))
    health = await provider.health()
    assert not health.ok
    assert "down" in health.detail


async def test_models_error_is_mapped(backend, provider):
    """models() raises mapped errors, such as AuthenticationError on 401."""
    backend.enqueue_models(FakeFailure.json_error(401, "no"))
    with pytest.raises(AuthenticationError):
        await provider.models()
