"""The Messages API's side of one query: the request's keywords and the reply's events.

Nothing here imports the SDK (``transport.py`` does, lazily). ``build_request``
turns a prompt and ClaifOptions into ``messages.create`` keywords;
``EventDecoder`` turns each raw stream event into claif Messages through
core's assembler; ``decode_message`` does the same for a whole reply.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from claif.common.errors import ProviderError, TransportError, quote_text
from claif.common.options import ClaifOptions
from claif.common.types import (
    ImageBlock,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from claif.streaming import StreamAssembler

from .types import PROVIDER_NAME

__all__ = ["EventDecoder", "build_request", "decode_message", "error_event"]

META_STOP = "stop_reason"


def build_request(
    prompt: str, options: ClaifOptions, *, model: str, max_tokens: int
) -> dict[str, Any]:
    """Keywords for ``messages.create``: temperature goes in ``extra_body`` (not a 2.x keyword)."""
    request: dict[str, Any] = {
        "model": options.model or model,
        "max_tokens": options.max_tokens or max_tokens,
        "messages": [*(_message(m) for m in options.history), _user(prompt, options.image_blocks)],
    }
    if options.system_prompt:
        request["system"] = options.system_prompt
    if options.tools:
        request["tools"] = [
            {
                "name": tool.name,
                "description": tool.description,
                "input_schema": tool.parameters or {"type": "object"},
            }
            for tool in options.tools
        ]
    extra = dict(options.extra)
    if options.temperature is not None:
        extra["temperature"] = options.temperature
    if extra:
        request["extra_body"] = extra
    return request


def _user(prompt: str, images: tuple[ImageBlock, ...]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [_image(image) for image in images]
    content.append({"type": "text", "text": prompt})
    return {"role": "user", "content": content}


def _image(image: ImageBlock) -> dict[str, Any]:
    data = base64.b64encode(image.data).decode("ascii")
    return {
        "type": "image",
        "source": {"type": "base64", "media_type": image.media_type, "data": data},
    }


def _message(message: Message) -> dict[str, Any]:
    """One history Message as an API message; tool results ride in a user turn."""
    content: list[dict[str, Any]] = []
    results = False
    for block in message.content:
        if isinstance(block, TextBlock):
            if block.text:
                content.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            content.append(_image(block))
        elif isinstance(block, ToolUseBlock):
            content.append(
                {
                    "type": "tool_use",
                    "id": block.id,
                    "name": block.tool_name,
                    "input": block.parameters,
                }
            )
        elif isinstance(block, ToolResultBlock):
            results = True
            text = block.result if isinstance(block.result, str) else json.dumps(block.result)
            item: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": block.tool_use_id,
                "content": text,
            }
            if block.is_error:
                item["is_error"] = True
            content.append(item)
    role = "user" if results or message.role is not Role.ASSISTANT else "assistant"
    return {"role": role, "content": content}


class EventDecoder:
    """Raw stream events to Messages: dispatched on ``type``, unknown types ignored.

    Text deltas are yielded as they come; ``input_json_delta`` fragments are
    kept per content-block index and the call is parsed once, at its
    ``content_block_stop``; thinking goes to metadata; usage from
    ``message_start`` and the cumulative ``message_delta``; ``message_stop``
    completes the reply. The SDK ends a stream missing ``message_stop``
    silently, so :meth:`final` checks it.
    """

    def __init__(self, *, model: str) -> None:
        self.reply = StreamAssembler(provider=PROVIDER_NAME, model=model, usage="cumulative")
        self._calls: set[int] = set()
        self._input_tokens: Any = None

    @property
    def done(self) -> bool:
        return self.reply.ended

    def feed(self, event: Any) -> list[Message]:
        kind = getattr(event, "type", None)
        handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
        return handler(self, event) if handler else []

    def final(self) -> Message:
        return self.reply.final()

    def _message_start(self, event: Any) -> list[Message]:
        message = getattr(event, "message", None)
        model = getattr(message, "model", None)
        if isinstance(model, str) and model:
            self.reply.model = model
        usage = getattr(message, "usage", None)
        self._input_tokens = getattr(usage, "input_tokens", None)
        self.reply.usage(self._input_tokens, getattr(usage, "output_tokens", None))
        return []

    def _block_start(self, event: Any) -> list[Message]:
        block = getattr(event, "content_block", None)
        index = getattr(event, "index", None)
        if getattr(block, "type", None) == "tool_use" and isinstance(index, int):
            self._calls.add(index)
            self.reply.tool_call(
                index,
                id=_text(getattr(block, "id", None)),
                name=_text(getattr(block, "name", None)),
            )
        return []

    def _block_delta(self, event: Any) -> list[Message]:
        delta = getattr(event, "delta", None)
        kind = getattr(delta, "type", None)
        if kind == "text_delta":
            text = getattr(delta, "text", None)
            if not isinstance(text, str):
                raise _malformed(event)
            return [self.reply.text(text)] if text else []
        if kind == "input_json_delta":
            fragment = getattr(delta, "partial_json", None)
            index = getattr(event, "index", None)
            if not isinstance(fragment, str) or index not in self._calls:
                raise _malformed(event)
            self.reply.tool_call(index, arguments=fragment)
        elif kind == "thinking_delta":
            thinking = getattr(delta, "thinking", None)
            if isinstance(thinking, str):
                self.reply.reasoning(thinking)
        return []

    def _block_stop(self, event: Any) -> list[Message]:
        index = getattr(event, "index", None)
        if index in self._calls:
            self._calls.discard(index)
            done = self.reply.complete_tool_calls(index)
            return [done] if done else []
        return []

    def _message_delta(self, event: Any) -> list[Message]:
        usage = getattr(event, "usage", None)
        given_input = getattr(usage, "input_tokens", None)
        self.reply.usage(
            given_input if given_input is not None else self._input_tokens,
            getattr(usage, "output_tokens", None),
        )
        stop = getattr(getattr(event, "delta", None), "stop_reason", None)
        if isinstance(stop, str) and stop:
            self.reply.metadata[META_STOP] = stop
            self.reply.finish(_FINISH.get(stop, stop))
        return []

    def _message_stop(self, event: Any) -> list[Message]:
        self.reply.end()
        return []


_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}

_HANDLERS = {
    "message_start": EventDecoder._message_start,
    "content_block_start": EventDecoder._block_start,
    "content_block_delta": EventDecoder._block_delta,
    "content_block_stop": EventDecoder._block_stop,
    "message_delta": EventDecoder._message_delta,
    "message_stop": EventDecoder._message_stop,
}


def decode_message(message: Any, *, model: str) -> Message:
    """A whole (non-streamed) reply as one Message."""
    decoder = EventDecoder(model=model)
    decoder.reply.model = _text(getattr(message, "model", None)) or model
    usage = getattr(message, "usage", None)
    decoder.reply.usage(getattr(usage, "input_tokens", None), getattr(usage, "output_tokens", None))
    blocks: list[TextBlock | ToolUseBlock] = []
    for block in getattr(message, "content", None) or []:
        kind = getattr(block, "type", None)
        if kind == "text" and isinstance(getattr(block, "text", None), str):
            blocks.append(TextBlock(block.text))
        elif kind == "tool_use":
            arguments = getattr(block, "input", None)
            if not isinstance(arguments, Mapping):
                raise _malformed(block)
            blocks.append(
                ToolUseBlock(_text(block.name), dict(arguments), _text(getattr(block, "id", None)))
            )
        elif kind == "thinking" and isinstance(getattr(block, "thinking", None), str):
            decoder.reply.reasoning(block.thinking)
    stop = getattr(message, "stop_reason", None)
    decoder.reply.finish(_FINISH.get(stop, stop) if isinstance(stop, str) and stop else "stop")
    decoder.reply.end()
    if isinstance(stop, str):
        decoder.reply.metadata[META_STOP] = stop
    last = decoder.final()
    return Message(Role.ASSISTANT, [*blocks, *last.content], last.metadata)


def error_event(error_type: str, message: str) -> ProviderError:
    """An ``event: error`` inside a 200 stream, classed by its error type."""
    from claif.common.errors import AuthenticationError, RateLimitError

    text = f"{error_type}: {message}" if message else error_type
    if error_type == "rate_limit_error":
        return RateLimitError(f"rate limited: {text}", provider=PROVIDER_NAME)
    if error_type in ("authentication_error", "permission_error"):
        return AuthenticationError(f"authentication failed: {text}", provider=PROVIDER_NAME)
    retryable = error_type in ("overloaded_error", "api_error", "timeout_error")
    return ProviderError(
        f"error in the stream: {text}", provider=PROVIDER_NAME, retryable=retryable
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _malformed(event: Any) -> TransportError:
    shown = event.model_dump() if hasattr(event, "model_dump") else repr(event)
    return TransportError(
        f"the API sent an event of the wrong shape: {quote_text(shown, as_json=True)}",
        provider=PROVIDER_NAME,
    )
