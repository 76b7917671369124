"""A fake OpenAI-compatible server on 127.0.0.1, for tests, the demo and benchmarks.

It is core's ``claif.testing.http.FakeHttpServer`` on a free port (a thread
with its own event loop) speaking the OpenAI wire format, so the provider is
tested through real sockets, keep-alive and all::

    with FakeBackend() as backend:
        backend.enqueue(FakeReply(text=["Hel", "lo"]), FakeFailure.rate_limited("1"))
        provider = MyProvider(base_url=backend.url)

Each chat request takes the next scripted reply, or ``default`` when none is
left. Run it by hand with ``python -m claif_myprovider.testing --port 8765``.
``MyProviderHarness`` puts MyProvider and this backend through core's
conformance suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from claif.testing import Harness, SentRequest
from claif.testing.http import Exchange, FakeHttpServer, HttpRequest, closed_port

from ._fakewire import FakeFailure, FakeReply, FakeToolCall, render
from .client import RESERVED_BODY_KEYS
from .provider import MyProvider

__all__ = [
    "FakeBackend",
    "FakeFailure",
    "FakeReply",
    "FakeToolCall",
    "HttpRequest",
    "MyProviderHarness",
    "closed_port",
    "refused_url",
]

FakeScript = FakeReply | FakeFailure

# What the harness's providers get: a small event cap keeps oversized_event at 64 KiB,
# and the idle timeout ends a test that forgot its own timeout in seconds, not minutes.
HARNESS_EVENT_CAP = 64 * 1024
HARNESS_IDLE_TIMEOUT = 5.0
SERVER_ERRORS = (500, 503)  # server_error_then_success alternates these


def refused_url() -> str:
    """A base URL where nothing listens: every request gets connection refused."""
    return f"http://127.0.0.1:{closed_port()}/v1"


class FakeBackend:
    """Answers ``POST /v1/chat/completions`` from a script and ``GET /v1/models`` from a list.

    ``requests`` keeps every chat request received; ``connections`` counts TCP
    connections accepted, so tests can see that connections are reused, and
    ``open_connections`` those still open, so tests can see one closed. With
    ``api_key`` set, requests without ``Authorization: Bearer <key>`` get 401.
    """

    def __init__(
        self,
        *,
        default: FakeReply | None = None,
        api_key: str | None = None,
        models: Sequence[str] = ("fake-model", "fake-model-large"),
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.default = default or FakeReply()
        self.api_key = api_key
        self.models = list(models)
        self.requests: list[HttpRequest] = []
        self._chat: deque[FakeScript] = deque()
        self._models: deque[FakeFailure] = deque()
        self._lock = threading.Lock()
        self._server = FakeHttpServer(self._handle, host, port)

    @property
    def url(self) -> str:
        """The base URL to give the provider (``MYPROVIDER_BASE_URL``)."""
        return f"{self._server.url}/v1"

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def connections(self) -> int:
        """TCP connections accepted so far."""
        return self._server.connections

    @property
    def open_connections(self) -> int:
        """TCP connections accepted and not yet closed (a client that hung up is gone)."""
        return self._server.open_connections

    @property
    def chat_requests(self) -> list[HttpRequest]:
        """The chat-completion requests received, in order."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def enqueue(self, *replies: FakeScript) -> FakeBackend:
        """Script the next chat replies, in order; returns self for chaining."""
        self._chat.extend(replies)
        return self

    def enqueue_models(self, *failures: FakeFailure) -> FakeBackend:
        """Make the next ``GET /models`` requests fail like this."""
        self._models.extend(failures)
        return self

    def start(self) -> FakeBackend:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> FakeBackend:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _handle(self, request: HttpRequest) -> Exchange:
        with self._lock:
            self.requests.append(request)
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            return render(FakeFailure.json_error(401, "Incorrect API key provided"), request)
        if request.method == "POST" and request.path.endswith("/chat/completions"):
            reply = self._chat.popleft() if self._chat else self.default
            return render(reply, request)
        if request.method == "GET" and request.path.endswith("/models"):
            return self._model_list(request)
        return render(FakeFailure.json_error(404, f"no route {request.path}"), request)

    def _model_list(self, request: HttpRequest) -> Exchange:
        if self._models:
            return render(self._models.popleft(), request)
        data = [{"id": name, "object": "model", "owned_by": "fake"} for name in self.models]
        body = json.dumps({"object": "list", "data": data}).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        return Exchange(200, headers, [body])


class MyProviderHarness(Harness):
    """MyProvider over a running FakeBackend, in the vocabulary of core's conformance suite.

    Each behaviour is a ``FakeReply`` or ``FakeFailure`` queued on the backend,
    so it answers the next chat request. ``reply`` reports no token usage (so
    "unknown usage absent" can be checked); ``stall`` sends its parts and then
    holds the connection open and silent, with neither finish nor ``[DONE]``,
    until the client hangs up or the backend stops.
    """

    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend

    def make_provider(self) -> MyProvider:
        """Pointed at the backend, with a 64 KiB event cap and a 5 s idle timeout."""
        return MyProvider(
            base_url=self.backend.url,
            idle_timeout=HARNESS_IDLE_TIMEOUT,
            max_event_bytes=HARNESS_EVENT_CAP,
        )

    def make_unreachable_provider(self) -> MyProvider:
        """Pointed at a loopback port nothing listens on: connection refused."""
        return MyProvider(base_url=refused_url())

    def reply(self, parts: Sequence[str], *, model: str) -> None:
        self._say(parts, model)

    def reply_with_usage(
        self, parts: Sequence[str], *, model: str, input_tokens: int, output_tokens: int
    ) -> None:
        self._say(parts, model, usage=(input_tokens, output_tokens))

    def reply_with_tool_call(self, name: str, arguments: Mapping[str, Any], *, model: str) -> None:
        self._say((), model, tool_calls=(FakeToolCall(name, dict(arguments)),))

    def auth_failure(self) -> None:
        """HTTP 401 with OpenAI's error body."""
        self.backend.enqueue(FakeFailure.json_error(401, "Incorrect API key provided"))

    def rate_limited(self, retry_after: float) -> None:
        """HTTP 429 with ``Retry-After`` in seconds (fractions kept: ``0.5``)."""
        self.backend.enqueue(FakeFailure.rate_limited(f"{retry_after:g}"))

    def server_error_then_success(self, failures: int, parts: Sequence[str], *, model: str) -> None:
        """HTTP 500, 503, 500 ... ``failures`` times, then the reply."""
        statuses = [SERVER_ERRORS[index % 2] for index in range(failures)]
        self.backend.enqueue(*(FakeFailure.json_error(code, "overloaded") for code in statuses))
        self._say(parts, model)

    def stall(self, parts: Sequence[str], *, model: str) -> None:
        """Streamed: the parts, then silence until the client leaves (stream=False: a reply)."""
        self._say(parts, model, ending="early", after_done="hold")

    def cut_mid_stream(self, parts: Sequence[str], *, model: str) -> None:
        """The parts, then the connection closed without the chunked body's end."""
        self._say(parts, model, cut_after=len(parts) + 1)

    def malformed_chunk(self) -> None:
        """Broken JSON as the first text chunk (stream=False: half the body)."""
        self.backend.enqueue(FakeReply(text=("unseen",), malformed_at=1, usage=None))

    def error_in_stream(self, parts: Sequence[str], *, model: str) -> None:
        """The parts, then ``{"error": {...}}`` without a status code, then ``[DONE]``."""
        self._say(parts, model, error_at=len(parts) + 1)

    def no_end_marker(self, parts: Sequence[str], *, model: str) -> None:
        """The parts, then a clean end of the body with neither finish reason nor ``[DONE]``."""
        self._say(parts, model, ending="early")

    def end_marker_then_hang(self, parts: Sequence[str], *, model: str) -> None:
        """The parts, finish and ``[DONE]``, then the body never ends."""
        self._say(parts, model, after_done="hold")

    def oversized_event(self) -> None:
        """One text chunk one byte over the 64 KiB cap of ``make_provider``'s providers."""
        self.backend.enqueue(FakeReply(text=("x" * (HARNESS_EVENT_CAP + 1),), usage=None))

    def garbage(self, payload: Any) -> None:
        """One ``data:`` event: a str as its bytes (lone surrogates too), else its JSON."""
        raw = (
            payload.encode("utf-8", "surrogatepass")
            if isinstance(payload, str)
            else json.dumps(payload)
        )
        self.backend.enqueue(FakeReply(raw_events=(raw,), usage=None))

    def requests(self) -> list[SentRequest]:
        return [_sent_request(request.json()) for request in self.backend.chat_requests]

    def cli_command(self) -> list[str]:
        """``claif-myp`` next to this interpreter, or the module when no script is installed."""
        script = Path(sys.executable).with_name("claif-myp")
        return [str(script)] if script.exists() else [sys.executable, "-m", "claif_myprovider.cli"]

    def cli_environment(self) -> dict[str, str]:
        return {"MYPROVIDER_BASE_URL": self.backend.url, "MYPROVIDER_API_KEY": ""}

    def open_resources(self) -> int:
        """TCP connections still open, idle keep-alive ones in a provider's pool included."""
        return self.backend.open_connections

    def _say(self, parts: Sequence[str], model: str, **script: Any) -> None:
        script.setdefault("usage", None)
        self.backend.enqueue(FakeReply(text=tuple(parts), model=model, **script))


def _sent_request(body: Mapping[str, Any]) -> SentRequest:
    """A /chat/completions request body in the conformance suite's neutral terms (tuples)."""
    messages: list[Mapping[str, Any]] = body.get("messages") or []
    system = [_text(m["content"]) for m in messages if m.get("role") == "system"]
    spoken = [m for m in messages if m.get("role") not in ("system", "tool")]
    return SentRequest(
        model=body.get("model"),
        system=system[0] if system else None,
        texts=tuple(text for text in (_text(m.get("content")) for m in spoken) if text),
        temperature=body.get("temperature"),
        max_tokens=body.get("max_tokens"),
        tool_names=tuple(tool["function"]["name"] for tool in body.get("tools") or []),
        tool_results=tuple(m["content"] for m in messages if m.get("role") == "tool"),
        image_count=sum(_images(m.get("content")) for m in spoken),
        extra={key: value for key, value in body.items() if key not in RESERVED_BODY_KEYS},
    )


def _text(content: Any) -> str:
    """A message's text: string content, or the text parts of list content joined."""
    if isinstance(content, list):
        return "".join(part["text"] for part in content if part.get("type") == "text")
    return str(content or "")


def _images(content: Any) -> int:
    if not isinstance(content, list):
        return 0
    return sum(1 for part in content if part.get("type") == "image_url")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m claif_myprovider.testing",
        description="Serve a fake OpenAI-compatible backend on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--text", default="Hello from the fake backend.", help="the reply")
    parser.add_argument("--chunks", type=int, default=0, help="stream N one-word chunks instead")
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--api-key", default=None, help="require this bearer key")
    return parser.parse_args(argv)


def reply_for(text: str, *, chunks: int = 0, interval: float = 0.0) -> FakeReply:
    """A reply streaming ``text`` word by word, or ``chunks`` copies of one word."""
    if chunks:
        return FakeReply(text=("tok ",) * chunks, interval=interval)
    words = text.split(" ")
    pieces = [word if i == 0 else f" {word}" for i, word in enumerate(words)]
    return FakeReply(text=tuple(pieces), interval=interval)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until interrupted; the first line printed is the base URL."""
    args = _parse(argv)
    default = reply_for(args.text, chunks=args.chunks, interval=args.interval)
    backend = FakeBackend(default=default, api_key=args.api_key, host=args.host, port=args.port)
    with backend:
        sys.stdout.write(f"{backend.url}\n")
        sys.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
