"""MyProvider against a hostile server over real sockets: end markers, caps and wrong shapes
(issue 6, sections 2 to 4; disconnects and the overall deadline are in the conformance suite)."""

from __future__ import annotations

import json
import resource
import time
import tracemalloc

import anyio
import pytest

from claif.common import (
    ClaifError,
    ClaifOptions,
    Message,
    ProviderError,
    TransportError,
)
from claif_myprovider import MyProvider
from claif_myprovider.testing import FakeBackend, FakeFailure, FakeReply

ONE = ClaifOptions(max_retries=0)
MEMORY_LIMIT = 300 * 1024 * 1024
# Exceptions that mean a decoder crashed instead of refusing what it was sent.
CRASHES = (AttributeError, TypeError, ValueError, OverflowError, UnicodeError, KeyError)


async def drain(stream) -> list[Message]:
    return [message async for message in stream]


def pool_connections(provider: MyProvider) -> list:
    """httpcore's pooled connections of the provider (peeking: no public API shows them)."""
    assert provider._transport is not None
    return list(provider._transport._client._transport._pool.connections)


async def all_closed(backend: FakeBackend, within: float = 1.0) -> bool:
    """Whether the server sees every connection closed within ``within`` seconds."""
    with anyio.move_on_after(within):
        while backend.open_connections:  # noqa: ASYNC110 -- a count the server thread changes
            await anyio.sleep(0.01)
    return backend.open_connections == 0


def assert_typed(error: ClaifError) -> None:
    """The error was raised on purpose, not a crash that the call path wrapped."""
    assert not isinstance(error.__cause__, CRASHES), repr(error.__cause__)
    assert "the provider failed" not in str(error)


# -- the end marker ---------------------------------------------------------------------------


async def test_reply_completes_at_done_despite_keep_alive_comments(backend, provider):
    """A server sending keep-alive comments after [DONE] still gets its reply read at once."""
    backend.enqueue(FakeReply(text=["Hel", "lo"], after_done="comments"))
    started = time.monotonic()
    messages = await drain(provider.query("Hi", ONE))
    assert time.monotonic() - started < 0.5
    assert "".join(m.text for m in messages) == "Hello"
    assert messages[-1].metadata["finish_reason"] == "stop"
    assert pool_connections(provider) == []
    assert await all_closed(backend)


async def test_clean_reply_reuses_its_connection(backend, provider):
    """A reply whose body ends cleanly after [DONE] leaves its connection pooled for the next."""
    for _ in range(3):
        assert await drain(provider.query("Hi", ONE))
    assert backend.connections == 1
    assert len(pool_connections(provider)) == 1


# -- caps on what the server can make the client hold -----------------------------------------


async def failure_in_bounded_memory(provider: MyProvider, options: ClaifOptions) -> ClaifError:
    """The query fails within 3 s, its memory peak (traced and RSS) staying under the limit."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(ClaifError) as caught:
            await drain(provider.query("Hi", options))
        traced_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 3
    assert traced_peak < MEMORY_LIMIT
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before < MEMORY_LIMIT
    return caught.value


async def test_endless_line_ends_at_the_event_cap(backend, provider):
    """An SSE line that never ends is a TransportError naming the 16 MiB cap, in bounded memory."""
    backend.enqueue(FakeReply(endless_line=True))
    error = await failure_in_bounded_memory(provider, ONE)
    assert isinstance(error, TransportError)
    assert "16 MiB cap" in str(error)
    assert "max_event_bytes" in str(error)
    assert await all_closed(backend)


@pytest.mark.parametrize("stream", [False, True])
async def test_gzip_bomb_body_ends_at_the_cap(backend, provider, stream):
    """A 200 body inflating to 4 GiB is a TransportError naming the cap, streamed or not."""
    backend.enqueue(FakeReply(gzip_bomb=True))
    error = await failure_in_bounded_memory(provider, ONE.replace(stream=stream))
    assert isinstance(error, TransportError)
    assert "16 MiB cap" in str(error)
    assert await all_closed(backend)


async def test_gzip_bomb_error_body_is_cut_short(backend, provider):
    """An error body inflating to 4 GiB is cut short: status and message kept, memory bounded."""
    backend.enqueue(
        FakeFailure(500, json.dumps({"error": {"message": "exploded"}}), gzip_bomb=True)
    )
    error = await failure_in_bounded_memory(provider, ONE)
    assert type(error) is ProviderError
    assert error.status == 500
    assert "exploded" in str(error)
    assert await all_closed(backend)


@pytest.mark.parametrize("stream", [True, False])
async def test_multi_megabyte_reply_passes_the_default_cap(backend, provider, stream):
    """A 3 MB event (or body) is far below the default cap and arrives whole."""
    backend.enqueue(FakeReply(text=["x" * 3_000_000]))
    messages = await drain(provider.query("Hi", ONE.replace(stream=stream)))
    assert len("".join(m.text for m in messages)) == 3_000_000


# -- valid JSON of the wrong shape ------------------------------------------------------------

WRONG_SHAPES = {
    "delta a string": {"choices": [{"delta": "oops"}]},
    "delta a number": {"choices": [{"delta": 7}]},
    "delta a list": {"choices": [{"delta": [1]}]},
    "tool_calls a number": {"choices": [{"delta": {"tool_calls": 5}}]},
    "tool_calls [5]": {"choices": [{"delta": {"tool_calls": [5]}}]},
    "function a list": {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": [1]}]}}]},
    "content a number": {"choices": [{"delta": {"content": 42}}]},
    "content parts not objects": {"choices": [{"delta": {"content": [1, 2]}}]},
    "choices a dict": {"choices": {"0": {"delta": {"content": "x"}}}},
    "choices [5]": {"choices": [5]},
    "a list": [1, 2],
    "a string": "text",
}


@pytest.mark.parametrize("payload", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
async def test_wrong_shaped_chunk_is_a_transport_error(backend, provider, payload):
    """Valid JSON of the wrong shape in a stream is a TransportError quoting it, never a crash."""
    backend.enqueue(FakeReply(raw_events=[json.dumps(payload)]))
    with pytest.raises(TransportError, match="malformed chunk") as caught:
        await drain(provider.query("Hi", ONE))
    assert_typed(caught.value)


@pytest.mark.parametrize("payload", WRONG_SHAPES.values(), ids=WRONG_SHAPES.keys())
async def test_wrong_shaped_body_is_a_transport_error(backend, provider, payload):
    """The same shapes as a whole stream=False body (a server that ignores stream) fail alike."""
    backend.enqueue(FakeFailure(200, json.dumps(payload)))
    with pytest.raises(TransportError, match="malformed") as caught:
        await drain(provider.query("Hi", ONE.replace(stream=False)))
    assert_typed(caught.value)


GARBAGE_USAGE = {
    "usage a word": '{"choices": [], "usage": "many"}',
    "usage 1e400": '{"choices": [], "usage": 1e400}',
    "counts garbage": '{"choices": [], "usage": {"prompt_tokens": 1e400, "completion_tokens": []}}',
    "counts negative": '{"choices": [], "usage": {"prompt_tokens": -1, "completion_tokens": 1.5}}',
}


@pytest.mark.parametrize("raw", GARBAGE_USAGE.values(), ids=GARBAGE_USAGE.keys())
async def test_garbage_usage_is_ignored(backend, provider, raw):
    """Usage that is not a sane token count is left out of the reply, which still arrives."""
    text = '{"choices": [{"delta": {"content": "ok"}}]}'
    backend.enqueue(FakeReply(raw_events=[text, raw], usage=None))
    messages = await drain(provider.query("Hi", ONE))
    assert "".join(m.text for m in messages) == "ok"
    assert "usage" not in messages[-1].metadata


async def test_lone_surrogates_become_replacement_characters(backend, provider):
    """A lone surrogate escaped in JSON content arrives as U+FFFD, printable and encodable."""
    raw = '{"choices": [{"delta": {"content": "a\\ud800b\\udfffc"}}]}'
    backend.enqueue(FakeReply(raw_events=[raw]))
    messages = await drain(provider.query("Hi", ONE))
    text = "".join(m.text for m in messages)
    assert text == "a\ufffdb\ufffdc"
    text.encode("utf-8")
