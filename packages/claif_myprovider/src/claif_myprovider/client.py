"""The /chat/completions wire format: build request bodies, decode replies into Messages.

Pure functions and one small state machine, no I/O: everything here is tested
without a network. ``ReplyDecoder`` turns stream chunks (or one whole response)
into Messages that follow the streaming grammar of the core README.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from claif.common.conversation import conversation
from claif.common.errors import (
    ProviderError,
    TransportError,
    error_from_http,
    quote_text,
    server_message,
)
from claif.common.options import ClaifOptions
from claif.common.types import (
    ImageBlock,
    Message,
    Role,
    TextBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
)
from claif.streaming import StreamAssembler, decode_json, merge_messages

from .types import PROVIDER_NAME

__all__ = [
    "RESERVED_BODY_KEYS",
    "ReplyDecoder",
    "build_request",
    "decode_completion",
    "message_to_wire",
    "tool_to_wire",
]

DONE = "[DONE]"

# Body fields the provider sets from ClaifOptions; ``extra`` may not override them.
# Every other ``extra`` key goes into the body as it is: vLLM, Ollama and llama.cpp
# take sampling keys (top_k, min_p, repeat_penalty ...) that OpenAI lacks.
RESERVED_BODY_KEYS = frozenset(
    {"max_tokens", "messages", "model", "stream", "stream_options", "temperature", "tools"}
)

_ASSISTANT = Role.ASSISTANT
_REASONING_KEYS = ("reasoning_content", "reasoning")


def build_request(prompt: str, options: ClaifOptions, *, model: str) -> dict[str, Any]:
    """The JSON body of one /chat/completions request."""
    messages: list[dict[str, Any]] = []
    if options.system_prompt:
        messages.append({"role": "system", "content": options.system_prompt})
    for message in conversation(prompt, options):
        messages.extend(message_to_wire(message))
    body: dict[str, Any] = {
        "model": options.model or model,
        "messages": messages,
        "stream": options.stream,
    }
    if options.stream:
        body["stream_options"] = {"include_usage": True}
    if options.temperature is not None:
        body["temperature"] = options.temperature
    if options.max_tokens is not None:
        body["max_tokens"] = options.max_tokens
    if options.tools:
        body["tools"] = [tool_to_wire(tool) for tool in options.tools]
    body.update(options.extra)  # core refused reserved keys and non-JSON values already
    return body


def tool_to_wire(tool: Tool) -> dict[str, Any]:
    """A Tool as an OpenAI ``type: function`` declaration."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def message_to_wire(message: Message) -> list[dict[str, Any]]:
    """One Message as wire messages: tool results each become a separate ``tool`` message."""
    results = [block for block in message.content if isinstance(block, ToolResultBlock)]
    wire = [_tool_result_to_wire(block) for block in results]
    if message.role is Role.TOOL:
        return wire
    calls = message.tool_uses
    parts = [block for block in message.content if isinstance(block, TextBlock | ImageBlock)]
    if not parts and not calls:
        return wire
    entry: dict[str, Any] = {"role": message.role.value, "content": _content_to_wire(parts)}
    if calls and message.role is Role.ASSISTANT:
        entry["tool_calls"] = [_tool_call_to_wire(call) for call in calls]
    return [*wire, entry]


def _content_to_wire(parts: list[TextBlock | ImageBlock]) -> str | list[dict[str, Any]] | None:
    """Plain text as a string (every server takes it), with images as a list of parts."""
    if not parts:
        return None
    if all(isinstance(part, TextBlock) for part in parts):
        return "".join(part.text for part in parts if isinstance(part, TextBlock))
    return [_part_to_wire(part) for part in parts]


def _part_to_wire(part: TextBlock | ImageBlock) -> dict[str, Any]:
    if isinstance(part, TextBlock):
        return {"type": "text", "text": part.text}
    return {"type": "image_url", "image_url": {"url": part.data_url()}}


def _tool_call_to_wire(call: ToolUseBlock) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.tool_name, "arguments": json.dumps(call.parameters)},
    }


def _tool_result_to_wire(block: ToolResultBlock) -> dict[str, Any]:
    result = (
        block.result if isinstance(block.result, str) else json.dumps(block.result, default=str)
    )
    if block.is_error:
        result = f"error: {result}"
    return {"role": "tool", "tool_call_id": block.tool_use_id, "content": result}


class ReplyDecoder:
    """Translates stream chunks (or one whole response) onto core's StreamAssembler.

    A whole (non-streamed) response decodes the same way: its ``message`` is
    read like a ``delta`` that holds everything. Known fields of the wrong
    shape are a TransportError; unknown fields are ignored.
    """

    def __init__(self, *, model: str) -> None:
        self.reply = StreamAssembler(provider=PROVIDER_NAME, model=model, usage="cumulative")
        self.done = False

    def feed(self, data: str) -> list[Message]:
        """Decode one event's data: ``[DONE]``, a chunk, or an in-stream error."""
        if data == DONE:
            self.done = True
            self.reply.end()
            return []
        payload = decode_json(data, provider=PROVIDER_NAME, what="chunk")
        if not isinstance(payload, dict):
            raise _malformed(data)
        return self.feed_payload(payload)

    def feed_payload(self, payload: Mapping[str, Any]) -> list[Message]:
        """Decode one parsed chunk or whole response."""
        if "error" in payload:
            raise in_stream_error(payload)
        model = payload.get("model")
        if model and isinstance(model, str):
            self.reply.model = model
        usage = payload.get("usage")
        if isinstance(usage, dict):
            self.reply.usage(usage.get("prompt_tokens"), usage.get("completion_tokens"))
        choices = payload.get("choices")
        if not choices:
            return []
        if not isinstance(choices, list) or not isinstance(choices[0], dict):
            raise _wrong_shape("choices", choices)
        return self._choice(choices[0])

    def _choice(self, choice: Mapping[str, Any]) -> list[Message]:
        delta = choice.get("delta") or choice.get("message") or {}
        if not isinstance(delta, dict):
            raise _wrong_shape("delta", delta)
        text = delta.get("content")
        if len(delta) == 1 and text.__class__ is str and choice.get("finish_reason") is None:
            return [Message(_ASSISTANT, [TextBlock(text)])] if text else []  # the hot path
        out: list[Message] = []
        if "reasoning_content" in delta or "reasoning" in delta:  # rare: keep the hot path lean
            for key in _REASONING_KEYS:
                if isinstance(delta.get(key), str):
                    self.reply.reasoning(delta[key])
        if text:
            out.append(self.reply.text(_content_text(text)))
        calls = delta.get("tool_calls")
        if calls:
            out.extend(self._tool_calls(calls))
        reason = choice.get("finish_reason")
        if reason and isinstance(reason, str):
            self.reply.finish(reason)  # calls still open arrive whole in the last Message
        return out

    def _tool_calls(self, fragments: Any) -> list[Message]:
        if not isinstance(fragments, list):
            raise _wrong_shape("tool_calls", fragments)
        out = []
        for fragment in fragments:
            function = fragment.get("function") if isinstance(fragment, dict) else None
            if not isinstance(fragment, dict) or not isinstance(function, dict | None):
                raise _wrong_shape("tool call", fragment)
            function = function or {}
            arguments = function.get("arguments")
            index = fragment.get("index")
            done = self.reply.tool_call(
                index if isinstance(index, int) and not isinstance(index, bool) else None,
                id=_text_or_none(fragment.get("id")),
                name=_text_or_none(function.get("name")),
                arguments=arguments if isinstance(arguments, str) else None,
                parameters=arguments if isinstance(arguments, dict) else None,
            )
            if done is not None:
                out.append(done)
        return out

    def finish(self) -> Message:
        """The last Message: remaining tool calls plus model, finish reason and usage.

        Raises TransportError when the stream ended with neither ``[DONE]`` nor a
        finish reason: the reply was cut and must not pass for a whole one.
        """
        return self.reply.final()


def decode_completion(payload: Any, *, model: str) -> Message:
    """A whole (``stream: false``) response as exactly one Message."""
    if not isinstance(payload, dict):
        raise _malformed(repr(payload))
    decoder = ReplyDecoder(model=model)
    parts = decoder.feed_payload(payload)
    decoder.reply.end()
    return merge_messages([*parts, decoder.finish()])


def in_stream_error(payload: Mapping[str, Any]) -> ProviderError:
    """An ``{"error": ...}`` object (vLLM and llama.cpp send them with status 200).

    An HTTP status in its ``code`` maps as that status would; otherwise it is a
    plain, non-retryable ProviderError with the server's message.
    """
    error = payload.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, int) and not isinstance(code, bool) and 400 <= code <= 599:
        return error_from_http(code, {}, payload, provider=PROVIDER_NAME)
    text = server_message(payload) or "no message"
    return ProviderError(f"backend error in stream: {text}", provider=PROVIDER_NAME)


def _content_text(content: Any) -> str:
    """Text content: a string, or (from some servers) a list of text parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) for part in content):
        return "".join(str(part.get("text") or "") for part in content)
    raise _wrong_shape("content", content)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _wrong_shape(field: str, value: Any) -> TransportError:
    return TransportError(
        f"malformed chunk from the server: {field} is a {type(value).__name__}: "
        f"{quote_text(value, as_json=True)}",
        provider=PROVIDER_NAME,
    )


def _malformed(data: str) -> TransportError:
    return TransportError(
        f"malformed chunk from the server: {quote_text(data)}", provider=PROVIDER_NAME
    )
