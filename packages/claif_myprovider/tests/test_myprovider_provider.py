"""MyProvider over real sockets against the fake backend: the behaviours that work."""

from __future__ import annotations

import pytest

from claif.common import ClaifOptions, ImageBlock, Message, Role, TextBlock, Tool, ToolUseBlock
from claif.host import query as host_query
from claif.testing.conformance import TINY_PNG
from claif_myprovider import MyProvider
from claif_myprovider.testing import FakeReply, FakeToolCall


async def drain(stream) -> list[Message]:
    return [message async for message in stream]


async def test_streams_text_in_order_with_metadata_last(backend, provider):
    """Text deltas arrive as separate Messages and the last carries model, finish and usage."""
    backend.enqueue(FakeReply(text=["Hel", "lo", "!"], model="served-model", usage=(7, 3)))
    messages = await drain(provider.query("Hi"))
    assert [m.text for m in messages[:-1]] == ["Hel", "lo", "!"]
    assert all(m.role is Role.ASSISTANT for m in messages)
    assert messages[-1].metadata == {
        "model": "served-model",
        "finish_reason": "stop",
        "finish_reason_raw": "stop",
        "usage": {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10},
    }


async def test_stream_false_is_sent_as_stream_false(backend, provider):
    """With stream=False the request body says "stream": false."""
    await drain(provider.query("Hi", ClaifOptions(stream=False)))
    assert backend.chat_requests[-1].json()["stream"] is False


async def test_request_carries_options_history_images_and_tools(backend, provider):
    """System prompt, history, images, tools, temperature and max_tokens reach the server."""
    options = ClaifOptions(
        model="m-x",
        system_prompt="Be terse.",
        temperature=0.3,
        max_tokens=20,
        history=[Message(Role.USER, "earlier"), Message(Role.ASSISTANT, "reply")],
        images=[ImageBlock(TINY_PNG, "image/png")],
        tools=[Tool("calc", "math", {"type": "object", "properties": {}})],
    )
    await drain(provider.query("Look", options))
    body = backend.chat_requests[-1].json()
    assert body["model"] == "m-x"
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][-1]["content"][1]["image_url"]["url"].startswith("data:image/png")
    assert body["tools"][0]["function"]["name"] == "calc"
    assert (body["temperature"], body["max_tokens"]) == (0.3, 20)
    assert body["stream_options"] == {"include_usage": True}


async def test_default_model_comes_from_settings(backend):
    """Without options.model the request uses the provider's configured model."""
    async with MyProvider(base_url=backend.url, model="configured") as provider:
        await drain(provider.query("Hi"))
    assert backend.chat_requests[-1].json()["model"] == "configured"


@pytest.mark.parametrize("style", ["fragments", "whole", "no_index"])
async def test_tool_calls_arrive_whole_in_every_server_style(backend, provider, style):
    """Fragmented, whole (Ollama) and index-less tool calls all arrive as whole ToolUseBlocks."""
    calls = [FakeToolCall("calc", {"expr": "1+2"}, "c1"), FakeToolCall("lookup", {"q": "x"}, "c2")]
    backend.enqueue(FakeReply(text=[], tool_calls=calls, tool_style=style))
    messages = await drain(provider.query("Use tools"))
    uses = [use for m in messages for use in m.tool_uses]
    assert uses == [
        ToolUseBlock("calc", {"expr": "1+2"}, "c1"),
        ToolUseBlock("lookup", {"q": "x"}, "c2"),
    ]
    assert messages[-1].metadata["finish_reason"] == "tool_use"


async def test_tool_results_are_sent_back_with_role_tool(backend, provider):
    """A history ending in a tool result sends a tool message with the call's id."""
    from claif.common import ToolResultBlock

    history = [
        Message(Role.USER, "add"),
        Message(Role.ASSISTANT, [ToolUseBlock("calc", {"expr": "1+2"}, "c1")]),
        Message(Role.TOOL, [ToolResultBlock("calc", 3, "c1")]),
    ]
    await drain(provider.query("", ClaifOptions(history=history)))
    wire = backend.chat_requests[-1].json()["messages"]
    assert wire[-1] == {"role": "tool", "tool_call_id": "c1", "content": "3"}
    assert wire[-2]["tool_calls"][0]["id"] == "c1"


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_reasoning_is_metadata_not_text(backend, provider, field):
    """Reasoning deltas end up in metadata["reasoning"], never in the text."""
    backend.enqueue(FakeReply(text=["42"], reasoning=["let me ", "think"], reasoning_field=field))
    messages = await drain(provider.query("Answer"))
    assert "".join(m.text for m in messages) == "42"
    assert messages[-1].metadata["reasoning"] == "let me think"


async def test_done_without_blank_line_ends_cleanly(backend, provider):
    """A final `data: [DONE]` with no blank line after it still ends the reply cleanly."""
    backend.enqueue(FakeReply(text=["ok"], ending="done_no_blank"))
    messages = await drain(provider.query("Hi"))
    assert "".join(m.text for m in messages) == "ok"
    assert messages[-1].metadata["finish_reason"] == "stop"


async def test_finish_reason_without_done_ends_cleanly(backend, provider):
    """A stream that gives a finish reason but never [DONE] is complete."""
    backend.enqueue(FakeReply(text=["ok"], ending="finish_only"))
    messages = await drain(provider.query("Hi"))
    assert messages[-1].metadata["finish_reason"] == "stop"


async def test_multi_megabyte_event(backend, provider):
    """One event of several megabytes arrives whole."""
    big = "x" * (3 * 1024 * 1024)
    backend.enqueue(FakeReply(text=["a", big, "b"]))
    messages = await drain(provider.query("Hi"))
    assert "".join(m.text for m in messages) == "a" + big + "b"


async def test_connection_is_reused_across_queries(backend, provider):
    """The body is read to its end after [DONE], so queries share one connection."""
    for _ in range(3):
        await drain(provider.query("Hi"))
    await drain(provider.query("Hi", ClaifOptions(stream=False)))
    assert backend.connections == 1


async def test_api_key_is_sent_as_bearer_and_never_shown(backend):
    """The key goes in the Authorization header and never into the provider's repr."""
    backend.api_key = "sk-secret-42"
    provider = MyProvider(base_url=backend.url, api_key="sk-secret-42")
    async with provider:
        messages = await drain(provider.query("Hi"))
        assert messages
        assert "sk-secret-42" not in repr(provider)
        assert "sk-secret-42" not in repr(provider.settings)
    assert backend.chat_requests[-1].headers["authorization"] == "Bearer sk-secret-42"


async def test_base_url_from_environment(backend, monkeypatch):
    """MYPROVIDER_BASE_URL points a provider built with no arguments at the server."""
    monkeypatch.setenv("MYPROVIDER_BASE_URL", backend.url)
    async with MyProvider() as provider:
        assert await drain(provider.query("Hi"))


async def test_connected_follows_connect_and_disconnect(backend):
    """connected is True after connect() (even twice) and False after disconnect() (even twice)."""
    provider = MyProvider(base_url=backend.url)
    await provider.connect()
    await provider.connect()
    assert provider.connected
    await provider.disconnect()
    await provider.disconnect()
    assert not provider.connected


async def test_query_connects_by_itself(backend):
    """Calling query on an unconnected provider opens the pool first."""
    provider = MyProvider(base_url=backend.url)
    try:
        assert await drain(provider.query("Hi"))
        assert provider.connected
    finally:
        await provider.disconnect()


async def test_models_and_health(backend, provider):
    """models() lists the server's ids; health() reports ok with them and a latency."""
    assert await provider.models() == ["fake-model", "fake-model-large"]
    health = await provider.health()
    assert health.ok
    assert health.models == ["fake-model", "fake-model-large"]
    assert health.latency_ms is not None


async def test_json_reply_to_a_stream_request(backend, provider):
    """A server that ignores stream and answers one JSON body still gives the reply."""
    backend.enqueue(FakeReply(text=["pla", "in"], ignore_stream=True))
    messages = await drain(provider.query("Hi"))
    assert "".join(m.text for m in messages) == "plain"
    assert messages[-1].metadata["finish_reason"] == "stop"


async def test_module_level_query_goes_through_host(backend, monkeypatch):
    """claif_myprovider.query streams a reply with settings from the environment."""
    import claif_myprovider

    monkeypatch.setenv("MYPROVIDER_BASE_URL", backend.url)
    messages = await drain(claif_myprovider.query("Hi"))
    assert "".join(m.text for m in messages) == "Hello from the fake backend."


async def test_host_query_with_text_block_history(backend, provider):
    """Core's host.query drives the provider end to end."""
    history = [Message(Role.USER, [TextBlock("a")])]
    messages = await drain(host_query(provider, "b", ClaifOptions(history=history)))
    assert messages[-1].metadata["finish_reason"] == "stop"
