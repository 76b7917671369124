"""The /chat/completions wire format: build request bodies, decode replies into Messages.

Pure functions and one small state machine, no I/O: everything here is tested
without a network. ``ReplyDecoder`` turns stream chunks (or one whole response)
into Messages that follow the streaming grammar of the core README.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from claif.common.conversation import conversation
from claif.common.errors import ProviderError, TransportError, error_from_http
from claif.common.options import ClaifOptions
from claif.common.types import (
    META_FINISH_REASON,
    META_MODEL,
    META_REASONING,
    META_USAGE,
    ImageBlock,
    Message,
    Role,
    TextBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    make_usage,
)
from claif.streaming import merge_messages

from .types import PROVIDER_NAME

__all__ = [
    "EXTRA_BODY_KEYS",
    "ReplyDecoder",
    "build_request",
    "decode_completion",
    "message_to_wire",
    "tool_to_wire",
]

QUOTE_BYTES = 200
DONE = "[DONE]"

# ClaifOptions.extra keys passed through to the body; others are for other providers.
EXTRA_BODY_KEYS = frozenset(
    {
        "frequency_penalty",
        "presence_penalty",
        "reasoning_effort",
        "response_format",
        "seed",
        "stop",
        "top_p",
        "user",
    }
)

# json.loads minus its per-call argument checks: this runs once per streamed chunk.
_decode_json = json.JSONDecoder().decode

_FINISH_REASONS = {"tool_calls": "tool_use", "function_call": "tool_use"}
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
    body.update({key: value for key, value in options.extra.items() if key in EXTRA_BODY_KEYS})
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
    result = block.result if isinstance(block.result, str) else json.dumps(block.result)
    if block.is_error:
        result = f"error: {result}"
    return {"role": "tool", "tool_call_id": block.tool_use_id, "content": result}


@dataclass
class _PendingCall:
    """A tool call whose arguments may still be arriving in fragments."""

    id: str
    name: str
    arguments: list[str] = field(default_factory=list)
    whole: dict[str, Any] | None = None

    def finish(self) -> ToolUseBlock:
        if self.whole is not None:
            return ToolUseBlock(self.name, self.whole, self.id)
        text = "".join(self.arguments).strip() or "{}"
        try:
            parameters = json.loads(text)
        except ValueError as exc:
            raise _bad_arguments(self.name, text) from exc
        if not isinstance(parameters, dict):
            raise _bad_arguments(self.name, text)
        return ToolUseBlock(self.name, parameters, self.id)


def _bad_arguments(name: str, text: str) -> ProviderError:
    return ProviderError(
        f"tool call {name!r} has arguments that are not a JSON object: {_quote(text)}",
        provider=PROVIDER_NAME,
    )


class _ToolCalls:
    """Assembles tool-call fragments by index; a new call completes the ones before it.

    Handles the three shapes servers send: OpenAI fragments (the first carries id
    and name, later ones only argument text), whole calls in one chunk (Ollama),
    and fragments without ``index`` (a fragment with an id starts a new call).
    """

    def __init__(self) -> None:
        self._open: dict[int, _PendingCall] = {}
        self._count = 0

    def add(self, fragment: Mapping[str, Any]) -> list[ToolUseBlock]:
        """Take one fragment; return the calls it shows to be complete."""
        function = fragment.get("function") or {}
        call_id = fragment.get("id") or ""
        index = fragment.get("index")
        if not isinstance(index, int):
            index = self._index_without_one(call_id, function)
        current = self._open.get(index)
        done: list[ToolUseBlock] = []
        if current is None or (call_id and current.id and call_id != current.id):
            done = self.flush()
            current = self._open[index] = _PendingCall(
                id=call_id or f"call_{self._count}", name=function.get("name") or ""
            )
            self._count += 1
        self._extend(current, function)
        return done

    def _index_without_one(self, call_id: str, function: Mapping[str, Any]) -> int:
        starts_new = bool(call_id or function.get("name")) or not self._open
        last = max(self._open, default=-1)
        return self._count if starts_new else last

    @staticmethod
    def _extend(call: _PendingCall, function: Mapping[str, Any]) -> None:
        if not call.name and function.get("name"):
            call.name = function["name"]
        arguments = function.get("arguments")
        if isinstance(arguments, dict):
            call.whole = arguments
        elif isinstance(arguments, str):
            call.arguments.append(arguments)

    def flush(self) -> list[ToolUseBlock]:
        """Every open call, finished, in index order."""
        calls = [self._open[index].finish() for index in sorted(self._open)]
        self._open.clear()
        return calls


class ReplyDecoder:
    """Turns stream chunks into Messages; ``finish()`` gives the last one, with metadata.

    A whole (non-streamed) response decodes the same way: its ``message`` is
    read like a ``delta`` that holds everything.
    """

    def __init__(self, *, model: str) -> None:
        self.model = model
        self.done = False
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self._reasoning: list[str] = []
        self._calls = _ToolCalls()
        self._ready: list[ToolUseBlock] = []

    def feed(self, data: str) -> list[Message]:
        """Decode one event's data: ``[DONE]``, a chunk, or an in-stream error."""
        if data == DONE:
            self.done = True
            return []
        try:
            payload = _decode_json(data)
        except ValueError as exc:
            raise _malformed(data) from exc
        if not isinstance(payload, dict):
            raise _malformed(data)
        return self.feed_payload(payload)

    def feed_payload(self, payload: Mapping[str, Any]) -> list[Message]:
        """Decode one parsed chunk or whole response."""
        if "error" in payload:
            raise in_stream_error(payload)
        model = payload.get("model")
        if model and isinstance(model, str):
            self.model = model
        usage = payload.get("usage")
        if usage is not None and isinstance(usage, dict):
            self.usage = usage
        choices = payload.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            return []
        return self._choice(choices[0])

    def _choice(self, choice: Mapping[str, Any]) -> list[Message]:
        delta = choice.get("delta") or choice.get("message") or {}
        out: list[Message] = []
        if "reasoning_content" in delta or "reasoning" in delta:  # rare: keep the hot path lean
            for key in _REASONING_KEYS:
                if isinstance(delta.get(key), str):
                    self._reasoning.append(delta[key])
        text = delta.get("content")
        if isinstance(text, str) and text:
            out.append(Message(Role.ASSISTANT, text))
        for fragment in delta.get("tool_calls") or ():
            if isinstance(fragment, dict):
                out.extend(_tool_message(self._calls.add(fragment)))
        reason = choice.get("finish_reason")
        if isinstance(reason, str) and reason:
            self.finish_reason = _FINISH_REASONS.get(reason, reason)
            self._ready.extend(self._calls.flush())
        return out

    def finish(self) -> Message:
        """The last Message: remaining tool calls plus model, finish reason and usage.

        Raises TransportError when the stream ended with neither ``[DONE]`` nor a
        finish reason: the reply was cut and must not pass for a whole one.
        """
        if not self.done and self.finish_reason is None:
            raise TransportError(
                "stream ended early: no [DONE] and no finish reason", provider=PROVIDER_NAME
            )
        calls = [*self._ready, *self._calls.flush()]
        self._ready = []
        reason = self.finish_reason or ("tool_use" if calls else "stop")
        metadata: dict[str, Any] = {
            META_MODEL: self.model,
            META_FINISH_REASON: reason,
            META_USAGE: _usage(self.usage),
        }
        if self._reasoning:
            metadata[META_REASONING] = "".join(self._reasoning)
        return Message(Role.ASSISTANT, list(calls), metadata)


def decode_completion(payload: Any, *, model: str) -> Message:
    """A whole (``stream: false``) response as exactly one Message."""
    if not isinstance(payload, dict):
        raise _malformed(json.dumps(payload))
    decoder = ReplyDecoder(model=model)
    parts = decoder.feed_payload(payload)
    decoder.done = True
    return merge_messages([*parts, decoder.finish()])


def in_stream_error(payload: Mapping[str, Any]) -> ProviderError:
    """An ``{"error": ...}`` object (vLLM and llama.cpp send them with status 200).

    An HTTP status in its ``code`` maps as that status would; otherwise it is a
    plain, non-retryable ProviderError with the server's message.
    """
    error = payload.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, int) and 400 <= code <= 599:
        return error_from_http(code, {}, json.dumps(payload), provider=PROVIDER_NAME)
    return ProviderError(f"backend error in stream: {_error_text(error)}", provider=PROVIDER_NAME)


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        for key in ("message", "detail", "error"):
            if isinstance(error.get(key), str):
                return str(error[key])
    text = error if isinstance(error, str) else json.dumps(error)
    return text[:QUOTE_BYTES]


def _tool_message(calls: list[ToolUseBlock]) -> list[Message]:
    return [Message(Role.ASSISTANT, list(calls))] if calls else []


def _usage(raw: Mapping[str, Any] | None) -> Usage:
    """Core's usage dict; zeros when the server reported none."""
    raw = raw or {}
    return make_usage(raw.get("prompt_tokens"), raw.get("completion_tokens"))


def _quote(text: str) -> str:
    return repr(text.encode("utf-8")[:QUOTE_BYTES].decode("utf-8", "replace"))


def _malformed(data: str) -> TransportError:
    return TransportError(
        f"malformed chunk from the server: {_quote(data)}", provider=PROVIDER_NAME
    )
