"""MyProviderHarness: each behaviour of the suite's vocabulary really happens on the wire."""

from __future__ import annotations

import time

import anyio
import pytest

from claif.common import (
    AuthenticationError,
    ClaifError,
    ClaifOptions,
    ClaifTimeoutError,
    ImageBlock,
    Message,
    ProviderError,
    RateLimitError,
    Role,
    TextBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
    TransportError,
)
from claif.testing import SentRequest, fast_retries
from claif.testing.conformance import TINY_PNG
from claif_myprovider.testing import MyProviderHarness

ONCE = ClaifOptions(max_retries=0, timeout=5.0)


async def drain(stream) -> list[Message]:
    return [message async for message in stream]


def text(messages: list[Message]) -> str:
    return "".join(message.text for message in messages)


@pytest.fixture
def harness(backend) -> MyProviderHarness:
    return MyProviderHarness(backend)


@pytest.fixture
async def provider(harness):
    made = harness.make_provider()
    try:
        yield made
    finally:
        await made.disconnect()


async def fails(provider, error_type, options=ONCE) -> ClaifError:
    with pytest.raises(error_type) as caught:
        await drain(provider.query("hi", options))
    return caught.value


async def text_then_error(provider, error_type, options=ONCE) -> tuple[str, ClaifError]:
    """The text that arrived before the query failed with ``error_type``, and the error."""
    seen: list[str] = []

    async def read() -> None:
        async for message in provider.query("hi", options):
            seen.append(message.text)

    with pytest.raises(error_type) as caught:
        await read()
    return "".join(seen), caught.value


def test_providers_get_the_small_cap_and_idle_timeout(harness, backend):
    """make_provider points at the backend with a 64 KiB event cap and a 5 s idle timeout."""
    settings = harness.make_provider().settings
    assert (settings.base_url, settings.max_event_bytes) == (backend.url, 64 * 1024)
    assert settings.idle_timeout == 5.0


async def test_reply_streams_the_parts_without_usage(harness, provider):
    """reply streams its parts as the given model and reports no token usage."""
    harness.reply(["Hel", "lo"], model="m-1")
    messages = await drain(provider.query("hi", ONCE))
    assert [message.text for message in messages if message.text] == ["Hel", "lo"]
    assert messages[-1].metadata["model"] == "m-1"
    assert "usage" not in messages[-1].metadata


async def test_reply_with_usage_reports_the_counts(harness, provider):
    """reply_with_usage reports exactly the token counts asked for."""
    harness.reply_with_usage(["a"], model="m", input_tokens=7, output_tokens=3)
    usage = (await drain(provider.query("hi", ONCE)))[-1].metadata["usage"]
    assert usage == {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}


async def test_reply_with_tool_call_calls_the_tool(harness, provider):
    """reply_with_tool_call answers with one whole call of the tool and no text."""
    harness.reply_with_tool_call("add", {"a": 2}, model="m")
    messages = await drain(provider.query("hi", ONCE))
    assert text(messages) == ""
    [call] = [use for message in messages for use in message.tool_uses]
    assert (call.tool_name, call.parameters) == ("add", {"a": 2})


async def test_auth_failure_is_a_401(harness, provider):
    """auth_failure answers 401, an AuthenticationError."""
    harness.auth_failure()
    assert (await fails(provider, AuthenticationError)).status == 401


@pytest.mark.parametrize("seconds", [2.0, 0.5])
async def test_rate_limited_carries_retry_after(harness, provider, seconds):
    """rate_limited answers 429 whose Retry-After gives back the seconds asked for."""
    harness.rate_limited(seconds)
    assert (await fails(provider, RateLimitError)).retry_after == seconds


async def test_server_errors_come_before_the_reply(harness, provider):
    """server_error_then_success fails with 500 then 503, then answers on the third request."""
    harness.server_error_then_success(2, ["fine"], model="m")
    assert (await fails(provider, ProviderError)).status == 500
    assert (await fails(provider, ProviderError)).status == 503
    assert text(await drain(provider.query("hi", ONCE))) == "fine"


async def test_server_errors_are_retried_through(harness, provider):
    """With retries left the call path rides out the scripted errors: three requests, one reply."""
    harness.server_error_then_success(2, ["fine"], model="m")
    with fast_retries() as clock:
        assert text(await drain(provider.query("hi", ONCE.replace(max_retries=2)))) == "fine"
    assert len(clock.waits) == 2
    assert len(harness.requests()) == 3


async def test_stall_sends_the_parts_then_nothing(harness, provider):
    """stall yields its parts, then stays silent until the call's timeout ends it."""
    harness.stall(["a"], model="m")
    started = time.monotonic()
    seen, _ = await text_then_error(provider, ClaifTimeoutError, ONCE.replace(timeout=0.5))
    assert seen == "a"
    assert 0.4 < time.monotonic() - started < 2


async def test_stall_holds_its_connection_until_the_client_leaves(harness, provider):
    """A stalled reply keeps its connection open; disconnecting the provider closes it."""
    harness.stall([], model="m")
    with anyio.move_on_after(0.3):
        await drain(provider.query("hi", ONCE))
    await provider.disconnect()
    await until_closed(harness)


async def test_cut_mid_stream_drops_the_connection_after_the_parts(harness, provider):
    """cut_mid_stream delivers its parts, then a TransportError for the lost rest."""
    harness.cut_mid_stream(["par", "tial"], model="m")
    seen, _ = await text_then_error(provider, TransportError)
    assert seen == "partial"


async def test_malformed_chunk_is_a_transport_error(harness, provider):
    """malformed_chunk sends broken JSON, a TransportError."""
    harness.malformed_chunk()
    assert "malformed chunk" in str(await fails(provider, TransportError))


async def test_error_in_stream_follows_the_parts(harness, provider):
    """error_in_stream delivers its parts, then an error event: a ProviderError, not transport."""
    harness.error_in_stream(["a"], model="m")
    seen, error = await text_then_error(provider, ProviderError)
    assert seen == "a"
    assert not isinstance(error, TransportError)


async def test_no_end_marker_is_a_cut_reply(harness, provider):
    """no_end_marker ends the body without finish or [DONE]: a TransportError, not a short reply."""
    harness.no_end_marker(["a", "b"], model="m")
    await fails(provider, TransportError)


async def test_end_marker_then_hang_still_completes(harness, provider):
    """end_marker_then_hang sends [DONE] and holds the body open; the reply completes at once."""
    harness.end_marker_then_hang(["all ", "here"], model="m")
    with anyio.fail_after(2):
        assert text(await drain(provider.query("hi", ONCE))) == "all here"
    await provider.disconnect()
    await until_closed(harness)


@pytest.mark.parametrize("stream", [True, False])
async def test_oversized_event_passes_the_cap(harness, provider, stream):
    """oversized_event is over the 64 KiB cap, streamed or as a whole body."""
    harness.oversized_event()
    error = await fails(provider, TransportError, ONCE.replace(stream=stream))
    assert "64 KiB cap" in str(error)


@pytest.mark.parametrize(
    ("payload", "quoted"),
    [({"choices": "nope"}, "nope"), ("not json {", "not json {"), ("\ud800", "")],
)
async def test_garbage_is_sent_as_an_event(harness, provider, payload, quoted):
    """garbage sends JSON values as JSON and strings raw, lone surrogates included."""
    harness.garbage(payload)
    error = await fails(provider, TransportError)
    assert "malformed chunk" in str(error)
    assert quoted in str(error)


async def test_requests_reflect_what_was_sent(harness, provider):
    """requests() reads model, system prompt, texts, options, tools, images and extras back."""
    harness.reply(["ok"], model="m")
    options = ONCE.replace(
        model="m",
        system_prompt="Be brief.",
        history=[Message(Role.USER, "earlier"), Message(Role.ASSISTANT, "noted")],
        temperature=0.25,
        max_tokens=42,
        tools=[Tool("add", "Add.", {"type": "object"})],
        images=[ImageBlock(TINY_PNG, "image/png")],
        extra={"top_k": 3},
    )
    await drain(provider.query("now", options))
    assert harness.requests() == [
        SentRequest(
            model="m",
            system="Be brief.",
            texts=("earlier", "noted", "now"),
            temperature=0.25,
            max_tokens=42,
            tool_names=("add",),
            image_count=1,
            extra={"top_k": 3},
        )
    ]


async def test_requests_put_tool_output_in_tool_results(harness, provider):
    """A tool message's content is a tool result, not a text; the call message adds no text."""
    harness.reply(["5"], model="m")
    history = [
        Message(Role.USER, "2+3?"),
        Message(Role.ASSISTANT, [ToolUseBlock("add", {"a": 2, "b": 3}, "call_1")]),
        Message(Role.TOOL, [ToolResultBlock("add", 5, "call_1")]),
    ]
    await drain(provider.query("so?", ONCE.replace(history=history)))
    [sent] = harness.requests()
    assert (sent.texts, sent.tool_results, sent.system) == (("2+3?", "so?"), ("5",), None)


async def test_requests_join_text_parts_of_one_message(harness, provider):
    """A message sent as a list of parts counts as one text, its parts joined."""
    harness.reply(["ok"], model="m")
    content = [TextBlock("look "), ImageBlock(TINY_PNG, "image/png"), TextBlock("here")]
    await drain(provider.query("", ONCE.replace(history=[Message(Role.USER, content)])))
    assert harness.requests()[0].texts == ("look here",)


async def test_open_resources_counts_the_pool_until_disconnect(harness, provider):
    """A kept-alive connection counts as open; after disconnect() none does."""
    assert harness.open_resources() == 0
    harness.reply(["ok"], model="m")
    await drain(provider.query("hi", ONCE))
    assert harness.open_resources() == 1
    await provider.disconnect()
    await until_closed(harness)


async def test_unreachable_provider_is_refused(harness):
    """make_unreachable_provider's provider gets connection refused, a retryable TransportError."""
    provider = harness.make_unreachable_provider()
    try:
        assert (await fails(provider, TransportError)).retryable
    finally:
        await provider.disconnect()


async def until_closed(harness: MyProviderHarness) -> None:
    """Wait (up to 2 s) for the backend to see every connection closed."""
    with anyio.fail_after(2):
        while harness.open_resources():  # noqa: ASYNC110 -- a count the server thread changes
            await anyio.sleep(0.01)
