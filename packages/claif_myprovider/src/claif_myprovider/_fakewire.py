"""Scripted replies of the fake backend, and how they look on the wire.

A ``FakeReply`` is what the fake model says (text, tool calls, reasoning, usage)
plus how the stream misbehaves; a ``FakeFailure`` is an HTTP error response.
Both render to an ``Exchange`` of ``claif.testing.http`` for the request that
asked, streamed or not: this module is only the OpenAI wire format.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from claif.testing.http import (
    CUT,
    HOLD,
    Exchange,
    HttpRequest,
    Repeat,
    Step,
    gzip_bomb,
    sse_event,
)

__all__ = ["FakeFailure", "FakeReply", "FakeToolCall", "render"]

Ending = Literal["done", "done_no_blank", "finish_only", "early"]
AfterDone = Literal["close", "hold", "comments"]
ToolStyle = Literal["fragments", "whole", "no_index"]

DEFAULT_MODEL = "fake-model"
MALFORMED = b'data: {"choices": [{"delta": {"content": "broken\n\n'
SSE_HEADERS = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
ENDLESS_START = b'data: {"choices": [{"index": 0, "delta": {"content": "'
ENDLESS_FILL = b"a" * 16384
KEEP_ALIVE = b": keep-alive\n\n"
KEEP_ALIVE_EVERY = 0.1


@dataclass(frozen=True)
class FakeToolCall:
    """A tool call the fake model makes; ``arguments`` may be a dict or raw JSON text."""

    name: str
    arguments: Mapping[str, Any] | str = field(default_factory=dict)
    id: str = ""

    def arguments_text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class FakeReply:
    """One scripted answer, and the faults of its stream.

    Event indexes (``cut_after``, ``malformed_at``, ``error_at``, ``stall_after``)
    count every ``data:`` event, the opening role chunk being 0. ``ending`` says
    how the stream ends: ``[DONE]`` with or without its blank line, after the
    finish chunk only, or ``early`` (no finish reason, no ``[DONE]``).
    ``ignore_stream`` answers a stream request with one JSON body, as some servers do.

    Hostile servers, for tests that a client gives up cleanly:
    ``after_done`` is what follows the last event: ``close`` ends the body as
    usual; ``hold`` keeps the connection open and never ends the body;
    ``comments`` sends ``: keep-alive`` every 0.1 s, forever.
    ``endless_line`` replaces the finish chunk and ``[DONE]`` with one ``data:``
    line that never ends. ``raw_events`` are ``data:`` payloads sent verbatim
    in place of the text chunks (the role chunk, finish and ``[DONE]`` stay),
    for wrong-shaped JSON; bytes go out as they are, even when not UTF-8.
    ``gzip_bomb`` answers, even a stream request, with the JSON body
    gzip-compressed and padded with 4 GiB of spaces.
    """

    text: Sequence[str] = ("Hello", " from", " the", " fake", " backend.")
    tool_calls: Sequence[FakeToolCall] = ()
    reasoning: Sequence[str] = ()
    reasoning_field: str = "reasoning_content"
    usage: tuple[int, int] | None = (12, 5)
    model: str | None = None
    finish_reason: str | None = None
    tool_style: ToolStyle = "fragments"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    interval: float = 0.0
    stall: float = 0.0
    stall_after: int = 1
    cut_after: int | None = None
    malformed_at: int | None = None
    error_at: int | None = None
    error: str = "the model crashed"
    ending: Ending = "done"
    ignore_stream: bool = False
    after_done: AfterDone = "close"
    endless_line: bool = False
    raw_events: Sequence[str | bytes] | None = None
    gzip_bomb: bool = False


@dataclass(frozen=True)
class FakeFailure:
    """An HTTP error response: any status, headers and body.

    ``gzip_bomb`` sends the body gzip-compressed and padded with 4 GiB of spaces.
    """

    status: int
    body: str | bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0
    gzip_bomb: bool = False

    @classmethod
    def json_error(
        cls, status: int, message: str, headers: Mapping[str, str] | None = None
    ) -> FakeFailure:
        """The OpenAI error shape: ``{"error": {"message": ...}}``."""
        body = json.dumps({"error": {"message": message, "type": "fake_error", "code": None}})
        return cls(status, body, dict(headers or {}))

    @classmethod
    def rate_limited(cls, retry_after: str = "1", message: str = "slow down") -> FakeFailure:
        """429 with a Retry-After header."""
        return cls.json_error(429, message, {"Retry-After": retry_after})

    @classmethod
    def html_page(cls, status: int = 502) -> FakeFailure:
        """The HTML error page a proxy in front of the server sends."""
        page = f"<html><body><h1>{status} Bad Gateway</h1><hr>nginx</body></html>"
        return cls(status, page, content_type="text/html")


def render(reply: FakeReply | FakeFailure, request: HttpRequest) -> Exchange:
    """The response to ``request``: streamed when it asked for ``stream: true``."""
    if isinstance(reply, FakeFailure):
        return _failure(reply)
    body = request.json() or {}
    model = reply.model or body.get("model") or DEFAULT_MODEL
    if body.get("stream") and not (reply.ignore_stream or reply.gzip_bomb):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return _streamed(reply, model, include_usage)
    return _whole(reply, model)


def _failure(failure: FakeFailure) -> Exchange:
    body = failure.body.encode() if isinstance(failure.body, str) else failure.body
    headers = [("Content-Type", failure.content_type), *failure.headers.items()]
    return _sized(failure.status, body, headers, failure.delay, bomb=failure.gzip_bomb)


def _sized(
    status: int, body: bytes, headers: list[tuple[str, str]], delay: float, *, bomb: bool
) -> Exchange:
    """A whole body with its length, or gzip-compressed and padded to GiBs when ``bomb``."""
    if bomb:
        exchange = gzip_bomb(status, body, headers)
    else:
        exchange = Exchange(status, [*headers, ("Content-Length", str(len(body)))], [body])
    exchange.delay = delay
    return exchange


def _finish_reason(reply: FakeReply) -> str:
    return reply.finish_reason or ("tool_calls" if reply.tool_calls else "stop")


def _usage(reply: FakeReply) -> dict[str, int] | None:
    if reply.usage is None:
        return None
    given, made = reply.usage
    return {"prompt_tokens": given, "completion_tokens": made, "total_tokens": given + made}


def _whole(reply: FakeReply, model: str) -> Exchange:
    message: dict[str, Any] = {"role": "assistant", "content": "".join(reply.text) or None}
    if reply.reasoning:
        message[reply.reasoning_field] = "".join(reply.reasoning)
    if reply.tool_calls:
        message["tool_calls"] = [_call(call, i) for i, call in enumerate(reply.tool_calls)]
    payload: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": _finish_reason(reply)}],
    }
    if reply.usage is not None:
        payload["usage"] = _usage(reply)
    if reply.error_at is not None:
        payload = {"error": {"message": reply.error, "type": "server_error"}}
    body = json.dumps(payload).encode()
    if reply.malformed_at is not None:
        body = body[: len(body) // 2]
    headers = [("Content-Type", "application/json"), *reply.headers.items()]
    exchange = _sized(200, body, headers, reply.delay, bomb=reply.gzip_bomb)
    if reply.cut_after is not None:
        exchange.steps = [body[: len(body) // 2], CUT]
    return exchange


def _call(call: FakeToolCall, index: int) -> dict[str, Any]:
    return {
        "id": call.id or f"call_{index}",
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments_text()},
    }


def _streamed(reply: FakeReply, model: str, include_usage: bool) -> Exchange:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    opening = [chunk({"role": "assistant", "content": ""})]
    opening += [chunk({reply.reasoning_field: piece}) for piece in reply.reasoning]
    closing = [chunk({"tool_calls": [part]}) for part in _tool_parts(reply)]
    if reply.ending != "early" and not reply.endless_line:
        closing.append(chunk({}, _finish_reason(reply)))
        if include_usage and reply.usage is not None:
            closing.append({**base, "choices": [], "usage": _usage(reply)})
    if reply.raw_events is None:
        text = [_event(chunk({"content": piece})) for piece in reply.text]
    else:
        text = [sse_event(payload) for payload in reply.raw_events]
    events = [*map(_event, opening), *text, *map(_event, closing)]
    steps = _paced(reply, _with_faults(reply, events))
    if CUT not in steps:
        steps += _hostile_ending(reply)
    headers = [*SSE_HEADERS, *reply.headers.items()]
    return Exchange(200, headers, steps, delay=reply.delay)


def _event(payload: Any) -> bytes:
    return sse_event(json.dumps(payload, separators=(",", ":")))


def _hostile_ending(reply: FakeReply) -> list[Step]:
    """What follows the last event when the body is never to end."""
    if reply.endless_line:
        return [ENDLESS_START, Repeat(ENDLESS_FILL)]
    if reply.after_done == "hold":
        return [HOLD]
    if reply.after_done == "comments":
        return [Repeat(KEEP_ALIVE, KEEP_ALIVE_EVERY)]
    return []


def _tool_parts(reply: FakeReply) -> list[dict[str, Any]]:
    parts: list[dict[str, Any]] = []
    for index, call in enumerate(reply.tool_calls):
        whole = {"index": index, **_call(call, index)}
        if reply.tool_style == "whole":
            parts.append(whole)
            continue
        text = call.arguments_text()
        third = max(1, len(text) // 3)
        pieces = [text[i : i + third] for i in range(0, len(text), third)]
        parts.append({**whole, "function": {"name": call.name, "arguments": ""}})
        parts += [{"index": index, "function": {"arguments": piece}} for piece in pieces]
    if reply.tool_style == "no_index":
        for part in parts:
            part.pop("index", None)
    return parts


def _with_faults(reply: FakeReply, events: list[bytes]) -> list[bytes]:
    if reply.malformed_at is not None:
        events[reply.malformed_at] = MALFORMED
    if reply.error_at is not None:
        error = {"error": {"message": reply.error, "type": "server_error", "code": None}}
        events = [*events[: reply.error_at], _event(error)]
    if reply.endless_line:
        return events
    if reply.ending in ("done", "done_no_blank") or reply.error_at is not None:
        events.append(b"data: [DONE]" if reply.ending == "done_no_blank" else b"data: [DONE]\n\n")
    return events


def _paced(reply: FakeReply, events: list[bytes]) -> list[Step]:
    """Events with pauses and cuts put in: a single write when there are none."""
    steps: list[Step] = []
    for index, event in enumerate(events):
        if reply.cut_after is not None and index == reply.cut_after:
            return [*steps, CUT]
        if index and reply.interval:
            steps.append(reply.interval)
        if index == reply.stall_after and reply.stall:
            steps.append(reply.stall)
        steps.append(event)
    return steps
