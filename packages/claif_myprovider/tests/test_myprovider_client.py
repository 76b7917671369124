"""The wire format without a network: request bodies, chunk decoding, tool-call assembly."""

from __future__ import annotations

import json

import pytest

from claif.common import (
    ClaifOptions,
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
from claif.testing.conformance import TINY_PNG
from claif_myprovider.client import (
    ReplyDecoder,
    build_request,
    decode_completion,
    message_to_wire,
)


def chunk(delta: dict, finish: str | None = None, **extra) -> str:
    return json.dumps(
        {"model": "m1", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra}
    )


def feed_all(decoder: ReplyDecoder, *events: str) -> list[Message]:
    out: list[Message] = []
    for event in events:
        out.extend(decoder.feed(event))
    return out


def test_minimal_body_streams_with_usage():
    """A plain prompt becomes one user message, streamed, asking for usage."""
    body = build_request("Hi", ClaifOptions(), model="default-model")
    assert body == {
        "model": "default-model",
        "messages": [{"role": "user", "content": "Hi"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_options_fill_the_body():
    """Model, system prompt, temperature and max_tokens land in their wire fields."""
    options = ClaifOptions(
        model="m2", system_prompt="Be brief.", temperature=0.2, max_tokens=50, stream=False
    )
    body = build_request("Hi", options, model="default-model")
    assert body["model"] == "m2"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert (body["temperature"], body["max_tokens"], body["stream"]) == (0.2, 50, False)
    assert "stream_options" not in body


def test_every_extra_reaches_the_body():
    """Extras pass through as they are: servers take sampling keys OpenAI lacks (top_k ...)."""
    options = ClaifOptions(extra={"top_p": 0.5, "seed": 7, "top_k": 40, "min_p": 0.1})
    body = build_request("Hi", options, model="m")
    assert (body["top_p"], body["seed"], body["top_k"], body["min_p"]) == (0.5, 7, 40, 0.1)


def test_images_become_data_url_parts():
    """An image goes as an image_url part holding a data URL, next to the text part."""
    options = ClaifOptions(images=[ImageBlock(TINY_PNG, "image/png")])
    content = build_request("What is this?", options, model="m")["messages"][-1]["content"]
    assert content[0] == {"type": "text", "text": "What is this?"}
    assert content[1]["type"] == "image_url"
    assert content[1]["image_url"]["url"].startswith("data:image/png;base64,iVBOR")


def test_tools_are_declared_as_functions():
    """A Tool is sent as a type-function declaration with its JSON schema."""
    schema = {"type": "object", "properties": {"x": {"type": "number"}}}
    options = ClaifOptions(tools=[Tool("calc", "adds", schema)])
    tools = build_request("Hi", options, model="m")["tools"]
    assert tools == [
        {
            "type": "function",
            "function": {"name": "calc", "description": "adds", "parameters": schema},
        }
    ]


def test_history_comes_before_the_prompt():
    """Earlier messages are sent in order before the new user turn."""
    history = [Message(Role.USER, "first"), Message(Role.ASSISTANT, "answer")]
    messages = build_request("second", ClaifOptions(history=history), model="m")["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "first"),
        ("assistant", "answer"),
        ("user", "second"),
    ]


def test_assistant_tool_calls_and_results_round_trip():
    """An assistant tool call keeps its id; its result goes back with role tool and that id."""
    call = Message(Role.ASSISTANT, [ToolUseBlock("calc", {"x": 1}, "call_9")])
    result = Message(Role.TOOL, [ToolResultBlock("calc", {"value": 2}, "call_9")])
    assert message_to_wire(call) == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_9",
                    "type": "function",
                    "function": {"name": "calc", "arguments": '{"x": 1}'},
                }
            ],
        }
    ]
    assert message_to_wire(result) == [
        {"role": "tool", "tool_call_id": "call_9", "content": '{"value": 2}'}
    ]


def test_tool_result_inside_a_user_message_is_split_out():
    """Tool results in a user message become tool messages ahead of the user's text."""
    mixed = Message(
        Role.USER, [ToolResultBlock("calc", "boom", "c1", is_error=True), TextBlock("and?")]
    )
    assert message_to_wire(mixed) == [
        {"role": "tool", "tool_call_id": "c1", "content": "error: boom"},
        {"role": "user", "content": "and?"},
    ]


def test_text_deltas_become_messages_and_metadata_comes_last():
    """Each text delta is a Message; the last one carries model, finish reason and usage."""
    decoder = ReplyDecoder(model="asked")
    messages = feed_all(
        decoder,
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({}, "stop"),
        json.dumps({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}),
        "[DONE]",
    )
    last = decoder.finish()
    assert [m.text for m in messages] == ["Hel", "lo"]
    assert last.content == []
    assert last.metadata == {
        "model": "m1",
        "finish_reason": "stop",
        "finish_reason_raw": "stop",
        "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5},
    }


def test_missing_usage_is_absent():
    """A server that reports no usage gives no usage key: unknown is not zero."""
    decoder = ReplyDecoder(model="m")
    feed_all(decoder, chunk({"content": "x"}, "stop"), "[DONE]")
    assert "usage" not in decoder.finish().metadata


def test_fragments_are_assembled_by_index():
    """OpenAI-style fragments join by index; a call is yielded whole when the next begins."""
    decoder = ReplyDecoder(model="m")
    early = feed_all(
        decoder,
        chunk(
            {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": ""}}]}
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"x"'}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ": 1}"}}]}),
        chunk(
            {"tool_calls": [{"index": 1, "id": "b", "function": {"name": "g", "arguments": "{}"}}]}
        ),
        chunk({}, "tool_calls"),
        "[DONE]",
    )
    last = decoder.finish()
    assert early[0].tool_uses == [ToolUseBlock("f", {"x": 1}, "a")]
    assert last.tool_uses == [ToolUseBlock("g", {}, "b")]
    assert last.metadata["finish_reason"] == "tool_use"


def test_whole_calls_in_one_chunk_ollama_style():
    """Whole calls in one chunk each (same index, new id) are separate calls."""
    decoder = ReplyDecoder(model="m")
    early = feed_all(
        decoder,
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "a", "function": {"name": "f", "arguments": '{"n": 1}'}}
                ]
            }
        ),
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "b", "function": {"name": "f", "arguments": {"n": 2}}}
                ]
            }
        ),
        chunk({}, "stop"),
    )
    calls = [call for m in [*early, decoder.finish()] for call in m.tool_uses]
    assert calls == [ToolUseBlock("f", {"n": 1}, "a"), ToolUseBlock("f", {"n": 2}, "b")]


def test_fragments_without_index():
    """Without index, a fragment with an id or name starts a call and bare ones continue it."""
    decoder = ReplyDecoder(model="m")
    early = feed_all(
        decoder,
        chunk({"tool_calls": [{"id": "a", "function": {"name": "f", "arguments": ""}}]}),
        chunk({"tool_calls": [{"function": {"arguments": '{"k":'}}]}),
        chunk({"tool_calls": [{"function": {"arguments": ' "v"}'}}]}),
        chunk({"tool_calls": [{"function": {"name": "g", "arguments": "{}"}}]}),
        chunk({}, "tool_calls"),
    )
    calls = [call for m in [*early, decoder.finish()] for call in m.tool_uses]
    assert calls == [ToolUseBlock("f", {"k": "v"}, "a"), ToolUseBlock("g", {}, "call_1")]


def test_bad_tool_arguments_are_a_provider_error():
    """Arguments that are not a JSON object raise ProviderError quoting them."""
    decoder = ReplyDecoder(model="m")
    decoder.feed(
        chunk(
            {"tool_calls": [{"index": 0, "id": "a", "function": {"name": "f", "arguments": "[1,"}}]}
        )
    )
    with pytest.raises(ProviderError, match=r"'f'.*\[1,"):
        decoder.feed(chunk({}, "tool_calls"))


def test_reasoning_goes_to_metadata_not_text():
    """reasoning_content and reasoning deltas are joined into metadata, never the text."""
    decoder = ReplyDecoder(model="m")
    messages = feed_all(
        decoder,
        chunk({"reasoning_content": "think "}),
        chunk({"reasoning": "more"}),
        chunk({"content": "answer"}, "stop"),
    )
    assert "".join(m.text for m in messages) == "answer"
    assert decoder.finish().metadata["reasoning"] == "think more"


def test_malformed_chunk_quotes_first_200_bytes():
    """A chunk that is not JSON is a TransportError quoting at most its first 200 bytes."""
    data = '{"choices": [' + "x" * 500
    with pytest.raises(TransportError, match="malformed chunk") as caught:
        ReplyDecoder(model="m").feed(data)
    assert data[:150] in str(caught.value)
    assert "x" * 300 not in str(caught.value)


def test_error_object_is_a_provider_error_with_its_message():
    """An {"error": ...} chunk raises ProviderError carrying the server's message."""
    with pytest.raises(ProviderError, match="context too long") as caught:
        ReplyDecoder(model="m").feed(json.dumps({"error": {"message": "context too long"}}))
    assert not caught.value.retryable


def test_error_object_with_http_code_maps_like_a_status():
    """An in-stream error whose code is 429 maps to RateLimitError, as the status would."""
    with pytest.raises(RateLimitError):
        ReplyDecoder(model="m").feed(json.dumps({"error": {"message": "busy", "code": 429}}))


def test_stream_without_done_or_finish_is_cut():
    """Ending with neither [DONE] nor a finish reason is a TransportError: ended early."""
    decoder = ReplyDecoder(model="m")
    decoder.feed(chunk({"content": "partial"}))
    with pytest.raises(TransportError, match="ended early"):
        decoder.finish()


def test_finish_reason_without_done_is_complete():
    """A finish reason without [DONE] is a whole reply."""
    decoder = ReplyDecoder(model="m")
    decoder.feed(chunk({"content": "ok"}, "length"))
    assert decoder.finish().metadata["finish_reason"] == "length"


def test_whole_response_decodes_to_one_message():
    """A stream=false response gives one Message with text, tool calls and metadata."""
    payload = {
        "model": "m9",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": "Sure.",
                    "reasoning_content": "hmm",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10},
    }
    message = decode_completion(payload, model="asked")
    assert message.text == "Sure."
    assert message.tool_uses == [ToolUseBlock("f", {}, "c")]
    assert message.metadata["model"] == "m9"
    assert message.metadata["finish_reason"] == "tool_use"
    assert message.metadata["usage"]["total_tokens"] == 10
    assert message.metadata["reasoning"] == "hmm"


def test_whole_response_that_is_not_an_object():
    """A JSON body that is not an object is a TransportError, not a crash."""
    with pytest.raises(TransportError):
        decode_completion([1, 2], model="m")
