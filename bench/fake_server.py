"""The fake backend in a process of its own, so the client under test has the CPU to itself.

Prints its base URL, serves until standard input closes, then prints how many
TCP connections it accepted. Every request gets the same reply, rendered once:
rendering thousands of chunks per request would make the server, not the
client, what a fast client waits for.
"""

from __future__ import annotations

import sys

from claif.testing.http import Exchange, HttpRequest
from claif_myprovider.testing import FakeBackend, reply_for


class RenderedOnce(FakeBackend):
    """A FakeBackend that renders each kind of reply (streamed or not) a single time."""

    def __init__(self, chunks: int) -> None:
        super().__init__(default=reply_for("", chunks=chunks))
        self._rendered: dict[tuple[str, str, bool], Exchange] = {}

    def _handle(self, request: HttpRequest) -> Exchange:
        key = (request.method, request.path, bool((request.json() or {}).get("stream")))
        if key not in self._rendered:
            exchange = super()._handle(request)
            self._rendered[key] = Exchange(exchange.status, exchange.headers, list(exchange.steps))
        cached = self._rendered[key]
        return Exchange(cached.status, cached.headers, cached.steps, cached.delay)


def main() -> None:
    chunks = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    with RenderedOnce(chunks) as backend:
        print(backend.url, flush=True)
        sys.stdin.read()
        print(backend.connections, flush=True)


if __name__ == "__main__":
    main()
