"""Scripted replies of the fake backend, and how they look on the wire.

A ``FakeReply`` is what the fake model says (text, tool calls, reasoning, usage)
plus how the stream misbehaves; a ``FakeFailure`` is an HTTP error response.
Both render to an ``Exchange`` for the request that asked, streamed or not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ._fakehttp import CUT, Exchange, HttpRequest, Step

__all__ = ["FakeFailure", "FakeReply", "FakeToolCall", "render"]

Ending = Literal["done", "done_no_blank", "finish_only", "early"]
ToolStyle = Literal["fragments", "whole", "no_index"]

DEFAULT_MODEL = "fake-model"
MALFORMED = b'data: {"choices": [{"delta": {"content": "broken\n\n'
SSE_HEADERS = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]


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


@dataclass(frozen=True)
class FakeFailure:
    """An HTTP error response: any status, headers and body."""

    status: int
    body: str | bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    delay: float = 0.0

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
    if body.get("stream") and not reply.ignore_stream:
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return _streamed(reply, model, include_usage)
    return _whole(reply, model)


def _failure(failure: FakeFailure) -> Exchange:
    body = failure.body.encode() if isinstance(failure.body, str) else failure.body
    headers = [("Content-Type", failure.content_type), ("Content-Length", str(len(body)))]
    headers += list(failure.headers.items())
    return Exchange(failure.status, headers, [body], delay=failure.delay)


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
    steps: list[Step] = [body]
    if reply.cut_after is not None:
        steps = [body[: len(body) // 2], CUT]
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    headers += list(reply.headers.items())
    return Exchange(200, headers, steps, delay=reply.delay)


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

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({reply.reasoning_field: piece}) for piece in reply.reasoning]
    chunks += [chunk({"content": piece}) for piece in reply.text]
    chunks += [chunk({"tool_calls": [part]}) for part in _tool_parts(reply)]
    if reply.ending != "early":
        chunks.append(chunk({}, _finish_reason(reply)))
        if include_usage and reply.usage is not None:
            chunks.append({**base, "choices": [], "usage": _usage(reply)})
    events = [_event(item) for item in chunks]
    events = _with_faults(reply, events)
    steps = _paced(reply, events)
    headers = [*SSE_HEADERS, *reply.headers.items()]
    return Exchange(200, headers, steps, delay=reply.delay)


def _event(payload: Any) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


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
