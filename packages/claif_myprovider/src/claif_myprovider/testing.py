"""A fake OpenAI-compatible server on 127.0.0.1, for tests, the demo and benchmarks.

It is core's ``claif.testing.http.FakeHttpServer`` on a free port (a thread
with its own event loop) speaking the OpenAI wire format, so the provider is
tested through real sockets, keep-alive and all::

    with FakeBackend() as backend:
        backend.enqueue(FakeReply(text=["Hel", "lo"]), FakeFailure.rate_limited("1"))
        provider = MyProvider(base_url=backend.url)

Each chat request takes the next scripted reply, or ``default`` when none is
left. Run it by hand with ``python -m claif_myprovider.testing --port 8765``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import deque
from collections.abc import Sequence
from types import TracebackType

from claif.testing.http import Exchange, FakeHttpServer, HttpRequest, closed_port

from ._fakewire import FakeFailure, FakeReply, FakeToolCall, render

__all__ = [
    "FakeBackend",
    "FakeFailure",
    "FakeReply",
    "FakeToolCall",
    "HttpRequest",
    "closed_port",
    "refused_url",
]

FakeScript = FakeReply | FakeFailure


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
