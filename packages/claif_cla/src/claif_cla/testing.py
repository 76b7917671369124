"""A fake Anthropic Messages API on 127.0.0.1, and the conformance harness on it.

``FakeAnthropic`` is core's :class:`~claif.testing.http.FakeHttpServer`
speaking ``POST /v1/messages``: streamed (server-sent events in the documented
order, a ``ping`` included) or whole, and ``GET /v1/models``. The real SDK
talks to it over real sockets::

    with FakeAnthropic() as api:
        api.enqueue(Script(text=["Hel", "lo"]))
        provider = ClaudeProvider(api_key="test", base_url=api.url)

``ClaudeHarness`` puts the provider and this fake through core's conformance
suites.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from claif.testing import Harness, SentRequest
from claif.testing.http import (
    CUT,
    HOLD,
    Exchange,
    FakeHttpServer,
    HttpRequest,
    Step,
    closed_port,
    sse_event,
)

from .provider import ClaudeProvider

__all__ = ["ClaudeHarness", "FakeAnthropic", "Failure", "Script", "sent_request"]

DEFAULT_MODEL = "claude-fake-1"
HARNESS_KEY = "sk-ant-test"
HARNESS_IDLE = 5.0


@dataclass
class Script:
    """One streamed (or whole) reply; the knobs make it go wrong in one way each."""

    text: Sequence[str] = ("Hello from the fake Claude.",)
    model: str = DEFAULT_MODEL
    usage: tuple[int, int] | None = (12, 5)
    tool: tuple[str, Mapping[str, Any]] | None = None
    thinking: str = ""
    stop_reason: str = "end_turn"
    end: str = "stop"  # "stop": message_stop; "early": body ends without it; "hold": never ends
    after_stop: str = ""  # "hold": the body stays open after message_stop
    error_event: str = ""  # an `event: error` of this type after the text
    cut: bool = False  # the connection drops after the text
    malformed: bool = False  # a broken JSON event after message_start
    raw: Sequence[bytes] = ()  # data: events sent as they are, after message_start
    oversized: int = 0  # one text delta of this many bytes


@dataclass
class Failure:
    """An HTTP error status with the API's JSON body and headers (Retry-After ...)."""

    status: int
    error_type: str
    message: str = "failed"
    headers: Sequence[tuple[str, str]] = ()


class FakeAnthropic:
    """Answers the Messages API from queued scripts; records each request."""

    def __init__(
        self, *, default: Script | None = None, models: Sequence[str] = (DEFAULT_MODEL,)
    ) -> None:
        self.default = default or Script()
        self.models = list(models)
        self.requests: list[HttpRequest] = []
        self._queue: deque[Script | Failure] = deque()
        self._lock = threading.Lock()
        self._server = FakeHttpServer(self._handle)

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def open_connections(self) -> int:
        return self._server.open_connections

    def enqueue(self, *replies: Script | Failure) -> FakeAnthropic:
        self._queue.extend(replies)
        return self

    def message_requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.json() for r in self.requests if r.path.endswith("/messages")]

    def __enter__(self) -> FakeAnthropic:
        self._server.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.stop()

    def _handle(self, request: HttpRequest) -> Exchange:
        with self._lock:
            self.requests.append(request)
        if request.path.endswith("/models"):
            body = {"data": [{"id": m, "type": "model"} for m in self.models], "has_more": False}
            return _json(200, body)
        if not request.path.endswith("/messages"):
            return _json(404, _error_body("not_found_error", f"no route {request.path}"))
        reply = self._queue.popleft() if self._queue else self.default
        if isinstance(reply, Failure):
            return _json(reply.status, _error_body(reply.error_type, reply.message), reply.headers)
        payload = request.json() or {}
        if payload.get("stream"):
            headers = [("Content-Type", "text/event-stream"), ("request-id", "req_fake")]
            return Exchange(200, headers, _stream(reply))
        return _json(200, _whole(reply))


def _json(status: int, body: Any, headers: Sequence[tuple[str, str]] = ()) -> Exchange:
    data = json.dumps(body).encode()
    sized = [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *headers]
    return Exchange(status, sized, [data])


def _error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _event(kind: str, **data: Any) -> bytes:
    return sse_event(json.dumps({"type": kind, **data}), event=kind)


def _stream(script: Script) -> Iterator[Step]:
    """The documented event order: start, blocks (with a ping), delta, stop."""
    usage_in, usage_out = script.usage or (None, None)
    start_usage = {"input_tokens": usage_in, "output_tokens": 1} if script.usage else {}
    message = {"id": "msg_fake", "type": "message", "role": "assistant", "model": script.model}
    yield _event("message_start", message={**message, "content": [], "usage": start_usage})
    if script.malformed:
        yield sse_event(
            '{"type": "content_block_delta", "index": 0, "delta": {"type": "te',
            "content_block_delta",
        )
        return
    for raw in script.raw:
        yield sse_event(raw, "content_block_delta")
    index = 0
    if script.thinking:
        yield _event(
            "content_block_start", index=index, content_block={"type": "thinking", "thinking": ""}
        )
        delta = {"type": "thinking_delta", "thinking": script.thinking}
        yield _event("content_block_delta", index=index, delta=delta)
        yield _event("content_block_stop", index=index)
        index += 1
    texts = list(script.text) + (["x" * script.oversized] if script.oversized else [])
    if texts:
        yield _event("content_block_start", index=index, content_block={"type": "text", "text": ""})
        yield _event("ping")
        for text in texts:
            yield _event(
                "content_block_delta", index=index, delta={"type": "text_delta", "text": text}
            )
        if script.cut:
            yield CUT
            return
        if script.error_event:
            error = {"type": script.error_event, "message": "Overloaded"}
            yield _event("error", error=error)
            return
        yield _event("content_block_stop", index=index)
        index += 1
    if script.tool:
        name, arguments = script.tool
        block = {"type": "tool_use", "id": f"toolu_{index}", "name": name, "input": {}}
        yield _event("content_block_start", index=index, content_block=block)
        encoded = json.dumps(dict(arguments))
        for piece in ("", encoded[: len(encoded) // 2], encoded[len(encoded) // 2 :]):
            delta = {"type": "input_json_delta", "partial_json": piece}
            yield _event("content_block_delta", index=index, delta=delta)
        yield _event("content_block_stop", index=index)
    if script.end == "hold":
        yield HOLD
        return
    if script.end == "early":
        return
    delta_usage = {"output_tokens": usage_out} if script.usage else {}
    stop = {"stop_reason": script.stop_reason, "stop_sequence": None}
    yield _event("message_delta", delta=stop, usage=delta_usage)
    yield _event("message_stop")
    if script.after_stop == "hold":
        yield HOLD


def _whole(script: Script) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if script.text:
        content.append({"type": "text", "text": "".join(script.text)})
    if script.tool:
        name, arguments = script.tool
        content.append(
            {"type": "tool_use", "id": "toolu_1", "name": name, "input": dict(arguments)}
        )
    usage = (
        {"input_tokens": script.usage[0], "output_tokens": script.usage[1]} if script.usage else {}
    )
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": script.model,
        "content": content,
        "stop_reason": script.stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def sent_request(body: Mapping[str, Any]) -> SentRequest:
    """A /v1/messages request body in the conformance suite's neutral terms."""
    messages: list[Mapping[str, Any]] = body.get("messages") or []
    texts: list[str] = []
    results: list[str] = []
    images = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
            continue
        parts = [p for p in content or [] if isinstance(p, Mapping)]
        text = "".join(p.get("text", "") for p in parts if p.get("type") == "text")
        if text:
            texts.append(text)
        results += [str(p.get("content")) for p in parts if p.get("type") == "tool_result"]
        images += sum(1 for p in parts if p.get("type") == "image")
    system = body.get("system")
    known = {"model", "messages", "max_tokens", "system", "tools", "stream", "temperature"}
    return SentRequest(
        model=body.get("model"),
        system=system if isinstance(system, str) else None,
        texts=tuple(texts),
        temperature=body.get("temperature"),
        max_tokens=body.get("max_tokens"),
        tool_names=tuple(tool["name"] for tool in body.get("tools") or []),
        tool_results=tuple(results),
        image_count=images,
        extra={key: value for key, value in body.items() if key not in known},
    )


@dataclass
class ClaudeHarness(Harness):
    """ClaudeProvider (the real SDK) over a FakeAnthropic, in the suite's vocabulary."""

    api: FakeAnthropic
    cap: int = field(default=64 * 1024)

    def make_provider(self) -> ClaudeProvider:
        return ClaudeProvider(api_key=HARNESS_KEY, base_url=self.api.url, idle_timeout=HARNESS_IDLE)

    def make_unreachable_provider(self) -> ClaudeProvider:
        return ClaudeProvider(api_key=HARNESS_KEY, base_url=f"http://127.0.0.1:{closed_port()}")

    def reply(self, parts: Sequence[str], *, model: str) -> None:
        self.api.enqueue(Script(text=tuple(parts), model=model, usage=None))

    def reply_with_usage(
        self, parts: Sequence[str], *, model: str, input_tokens: int, output_tokens: int
    ) -> None:
        self.api.enqueue(
            Script(text=tuple(parts), model=model, usage=(input_tokens, output_tokens))
        )

    def reply_with_tool_call(self, name: str, arguments: Mapping[str, Any], *, model: str) -> None:
        self.api.enqueue(
            Script(text=(), model=model, usage=None, tool=(name, arguments), stop_reason="tool_use")
        )

    def auth_failure(self) -> None:
        self.api.enqueue(Failure(401, "authentication_error", "invalid x-api-key"))

    def rate_limited(self, retry_after: float) -> None:
        self.api.enqueue(
            Failure(429, "rate_limit_error", "slow down", [("retry-after", f"{retry_after:g}")])
        )

    def server_error_then_success(self, failures: int, parts: Sequence[str], *, model: str) -> None:
        for index in range(failures):
            status, kind = ((500, "api_error"), (529, "overloaded_error"))[index % 2]
            self.api.enqueue(Failure(status, kind, "try again"))
        self.reply(parts, model=model)

    def stall(self, parts: Sequence[str], *, model: str) -> None:
        self.api.enqueue(Script(text=tuple(parts), model=model, usage=None, end="hold"))

    def cut_mid_stream(self, parts: Sequence[str], *, model: str) -> None:
        self.api.enqueue(Script(text=tuple(parts), model=model, usage=None, cut=True))

    def malformed_chunk(self) -> None:
        self.api.enqueue(Script(malformed=True, usage=None))

    def error_in_stream(self, parts: Sequence[str], *, model: str) -> None:
        self.api.enqueue(
            Script(text=tuple(parts), model=model, usage=None, error_event="invalid_request_error")
        )

    def no_end_marker(self, parts: Sequence[str], *, model: str) -> None:
        self.api.enqueue(Script(text=tuple(parts), model=model, usage=None, end="early"))

    def end_marker_then_hang(self, parts: Sequence[str], *, model: str) -> None:
        self.api.enqueue(Script(text=tuple(parts), model=model, usage=None, after_stop="hold"))

    def oversized_event(self) -> None:
        raise_unsupported()

    def garbage(self, payload: Any) -> None:
        raw = (
            payload.encode("utf-8", "surrogatepass")
            if isinstance(payload, str)
            else json.dumps(payload).encode()
        )
        self.api.enqueue(Script(text=(), usage=None, raw=(raw,)))

    def requests(self) -> list[SentRequest]:
        return [sent_request(body) for body in self.api.message_requests()]

    def open_resources(self) -> int:
        return self.api.open_connections

    def cli_command(self) -> list[str]:
        script = Path(sys.executable).with_name("claif-cla")
        return [str(script)] if script.exists() else [sys.executable, "-m", "claif_cla.cli"]

    def cli_environment(self) -> dict[str, str]:
        return {"ANTHROPIC_BASE_URL": self.api.url, "ANTHROPIC_API_KEY": HARNESS_KEY}


def raise_unsupported() -> None:
    from claif.testing import Unsupported

    raise Unsupported("the SDK reads events without a size cap of its own (httpx2 keeps each line)")
