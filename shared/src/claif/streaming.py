"""The streaming grammar, made executable: assemble a reply from vendor deltas, or collect one.

The grammar every provider's ``query`` follows:

1. It yields assistant Messages, in order.
2. Joining the TextBlocks of all of them gives the full text.
3. A tool call is yielded whole, as one ToolUseBlock, once its arguments are complete.
4. The last Message carries ``model``, ``finish_reason`` and (when known) ``usage``.
5. With ``stream=False`` exactly one Message comes.

Vendor code does not build that grammar itself: it tells a :class:`StreamAssembler`
what arrived ("text delta", "fragment of tool call 2", "usage so far", "finish
reason", "end marker seen") and yields what the assembler hands back::

    reply = StreamAssembler(provider="myprovider", model=model, usage="cumulative")
    for event in events:
        if text := event.get("text"):
            yield reply.text(text)
        ...
    yield reply.final()   # raises TransportError if the end marker never came
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .common.errors import ProviderError, TransportError, quote_text
from .common.types import (
    META_FINISH_REASON,
    META_FINISH_REASON_RAW,
    META_MODEL,
    META_REASONING,
    META_USAGE,
    ContentBlock,
    Message,
    Role,
    TextBlock,
    ToolUseBlock,
    make_usage,
)

__all__ = [
    "FINISH_REASONS",
    "StreamAssembler",
    "collect",
    "decode_json",
    "finish_reason",
    "merge_messages",
]

FinishReason = Literal["stop", "length", "tool_use", "content_filter", "error", "other"]
FINISH_REASONS: tuple[FinishReason, ...] = (
    "stop",
    "length",
    "tool_use",
    "content_filter",
    "error",
    "other",
)
_FINISH_WORDS: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "success": "stop",
    "completed": "stop",
    "eos": "stop",
    "length": "length",
    "max_tokens": "length",
    "model_length": "length",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "tool_use": "tool_use",
    "content_filter": "content_filter",
    "safety": "content_filter",
    "refusal": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
    "prohibited_content": "content_filter",
    "error": "error",
    "failed": "error",
}


def finish_reason(raw: str) -> FinishReason:
    """A vendor's finish reason in claif's vocabulary (``other`` when unknown)."""
    return _FINISH_WORDS.get(raw.strip().lower(), "other")


# json.loads minus its per-call argument checks: providers call this once per event.
_decode = json.JSONDecoder().decode
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def decode_json(data: str, *, provider: str | None = None, what: str = "data") -> Any:
    """One JSON document from a backend; anything unreadable is a TransportError.

    Lone surrogates (``"\\ud800"`` is valid JSON, but not text that can be
    printed or saved) become U+FFFD. Nesting too deep for the parser is
    refused like any other malformed data; ``what`` names the unit in errors.
    """
    try:
        payload = _decode(data)
    except (ValueError, RecursionError) as exc:
        raise TransportError(
            f"malformed {what} from the backend: {quote_text(data)}", provider=provider
        ) from exc
    if "\\u" in data and _SURROGATE_ESCAPE.search(data):
        return _scrub(payload)
    return payload


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return value if value.isascii() else _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(item) for item in value]
    if isinstance(value, dict):
        return {_scrub(key): _scrub(item) for key, item in value.items()}
    return value


@dataclass
class _PendingCall:
    """A tool call whose arguments may still be arriving in fragments."""

    id: str
    name: str
    fragments: list[str] = field(default_factory=list)
    whole: dict[str, Any] | None = None
    generated: bool = False


class StreamAssembler:
    """Builds one reply's Messages from vendor deltas; :meth:`final` gives the last one.

    ``usage`` says how the vendor reports token counts: ``cumulative`` (each
    report is the total so far: later ones replace earlier ones) or
    ``incremental`` (each report adds to the total). Counts that are not
    non-negative integers are ignored as unknown.

    Text, reasoning and whole tool parameters may come from an SDK's own JSON
    parser, which keeps lone surrogates; they become U+FFFD here, as in
    :func:`decode_json`, so the reply can always be saved and sent on.
    """

    def __init__(
        self,
        *,
        provider: str | None = None,
        model: str | None = None,
        usage: Literal["cumulative", "incremental"] = "cumulative",
    ) -> None:
        self.provider = provider
        self.model = model
        self.metadata: dict[str, Any] = {}
        self._usage_mode = usage
        self._input: int | None = None
        self._output: int | None = None
        self._reasoning: list[str] = []
        self._calls: dict[Any, _PendingCall] = {}
        self._held: list[ToolUseBlock] = []
        self._raw_finish: str | None = None
        self._ended = False
        self._count = 0

    @property
    def ended(self) -> bool:
        """Whether the end marker (or a finish reason) has been seen."""
        return self._ended or self._raw_finish is not None

    def text(self, delta: str) -> Message:
        """A text delta, as the Message to yield for it."""
        return Message(Role.ASSISTANT, [TextBlock(_scrub(delta))])

    def reasoning(self, delta: str) -> None:
        """Visible reasoning: kept for ``metadata["reasoning"]``, never put in the text."""
        self._reasoning.append(_scrub(delta))

    def tool_call(
        self,
        key: Any = None,
        *,
        id: str | None = None,
        name: str | None = None,
        arguments: str | None = None,
        parameters: Mapping[str, Any] | None = None,
    ) -> Message | None:
        """A fragment of the tool call ``key`` (the vendor's index or id).

        ``arguments`` is a piece of JSON text; ``parameters`` a whole argument
        object. A fragment for a new key, or with a new id under a known key,
        completes the calls before it, whose Message is returned to be yielded.
        Without a key, a fragment carrying the open call's id, or neither id nor
        name, continues that call; any other starts a new one.
        """
        if key is None:
            key = self._key_for(id, name)
        call = self._calls.get(key)
        done = None
        if call is None or (id and not call.generated and id != call.id):
            done = self.complete_tool_calls()
            call = self._calls[key] = _PendingCall(id or f"call_{self._count}", name or "")
            call.generated = not id
            self._count += 1
        if name and not call.name:
            call.name = name
        if id and call.generated:
            call.id, call.generated = id, False
        if parameters is not None:
            call.whole = _scrub(dict(parameters))
        elif arguments:
            call.fragments.append(arguments)
        return done

    def _key_for(self, id: str | None, name: str | None) -> Any:
        if self._calls:
            last = next(reversed(self._calls))
            if (id and id == self._calls[last].id) or not (id or name):
                return last
        return ("unkeyed", self._count)

    def complete_tool_calls(self, key: Any = None) -> Message | None:
        """Finish the open tool call ``key`` (or all of them) and return their Message."""
        blocks = self._complete(key)
        return Message(Role.ASSISTANT, list(blocks)) if blocks else None

    def _complete(self, key: Any = None) -> list[ToolUseBlock]:
        keys = list(self._calls) if key is None else [key] if key in self._calls else []
        return [self._finish_call(self._calls.pop(item)) for item in keys]

    def tool_use(self, block: ToolUseBlock) -> Message:
        """A tool call that arrived whole, as the Message to yield for it."""
        return Message(Role.ASSISTANT, [block])

    def usage(self, input_tokens: Any = None, output_tokens: Any = None) -> None:
        """Token counts as the vendor reports them (see the class docstring)."""
        given_in, given_out = _count(input_tokens), _count(output_tokens)
        if self._usage_mode == "cumulative":
            self._input = given_in if given_in is not None else self._input
            self._output = given_out if given_out is not None else self._output
            return
        if given_in is not None:
            self._input = (self._input or 0) + given_in
        if given_out is not None:
            self._output = (self._output or 0) + given_out

    def finish(self, raw: str) -> None:
        """The vendor's finish reason; mapped to claif's vocabulary, the raw word kept.

        Tool calls still open are complete now: their arguments are parsed here
        (a malformed one fails at once) and the calls come in the last Message.
        """
        self._raw_finish = raw
        self._held.extend(self._complete())

    def end(self) -> None:
        """The vendor's end marker arrived: the reply is complete."""
        self._ended = True

    def final(self) -> Message:
        """The last Message: calls still open, model, finish reason, usage, reasoning.

        Raises TransportError when neither an end marker nor a finish reason
        came: the reply was cut and must not pass for a whole one.
        """
        if not self.ended:
            raise TransportError(
                "the stream ended early: no end marker and no finish reason",
                provider=self.provider,
            )
        calls = [*self._held, *self._complete()]
        self._held = []
        return Message(Role.ASSISTANT, list(calls), self._final_metadata(bool(calls)))

    def _final_metadata(self, calls: bool) -> dict[str, Any]:
        raw = self._raw_finish
        reason: str = finish_reason(raw) if raw else ("tool_use" if calls else "stop")
        if calls and reason == "stop":
            reason = "tool_use"
        metadata: dict[str, Any] = {**self.metadata, META_FINISH_REASON: reason}
        if raw:
            metadata[META_FINISH_REASON_RAW] = raw
        if self.model:
            metadata[META_MODEL] = self.model
        if self._input is not None or self._output is not None:
            metadata[META_USAGE] = make_usage(self._input, self._output)
        if self._reasoning:
            metadata[META_REASONING] = "".join(self._reasoning)
        return metadata

    def _finish_call(self, call: _PendingCall) -> ToolUseBlock:
        if call.whole is not None:
            return ToolUseBlock(call.name, call.whole, call.id)
        text = "".join(call.fragments).strip() or "{}"
        try:
            parameters = _decode(text)
        except (ValueError, RecursionError) as exc:
            raise self._bad_arguments(call, text) from exc
        if not isinstance(parameters, dict):
            raise self._bad_arguments(call, text)
        return ToolUseBlock(call.name, _scrub(parameters), call.id)

    def _bad_arguments(self, call: _PendingCall, text: str) -> ProviderError:
        return ProviderError(
            f"tool call {call.name!r} has arguments that are not a JSON object: {quote_text(text)}",
            provider=self.provider,
        )


def _count(value: Any) -> int | None:
    """A token count, or None for anything that is not a sane non-negative integer."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < 2**53 else None
    if isinstance(value, float) and value.is_integer() and 0 <= value < 2**53:
        return int(value)
    return None


def merge_messages(messages: Iterable[Message]) -> Message:
    """One assistant Message from the parts of a stream: text joined, other blocks kept in order."""
    content: list[ContentBlock] = []
    metadata: dict[str, object] = {}
    pending: list[str] = []
    for message in messages:
        for block in message.content:
            if isinstance(block, TextBlock):
                pending.append(block.text)
                continue
            if pending:
                content.append(TextBlock("".join(pending)))
                pending = []
            content.append(block)
        metadata.update(message.metadata)
    if pending:
        content.append(TextBlock("".join(pending)))
    return Message(Role.ASSISTANT, content, metadata)


async def collect(stream: AsyncIterable[Message]) -> Message:
    """Drain a ``query`` stream into one Message; an empty stream is a ProviderError."""
    parts = [message async for message in stream]
    if not parts:
        raise ProviderError("the provider ended its reply without a single message")
    return merge_messages(parts)
