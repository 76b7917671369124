"""HTTP plumbing over httpx: requests, event streams, deadlines, error mapping.

Every httpx exception is turned into a claif error in one
place, :func:`mapped_errors`, with the original kept as ``__cause__``; a test
walks httpx's whole exception tree to keep that mapping complete.
"""

from __future__ import annotations

import codecs
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from claif.bounds import oversized
from claif.common.errors import (
    ClaifTimeoutError,
    ConfigurationError,
    ProviderError,
    TransportError,
    error_from_http,
    quote_text,
)
from claif.logs import mask_url
from claif.sse import SSEDecoder
from claif.streaming import decode_json

from .types import PROVIDER_NAME, MyProviderSettings

__all__ = ["Deadline", "HttpTransport", "mapped_errors"]

ERROR_BODY_LIMIT = 64 * 1024
# After the end marker, how long the rest of the body may take before the
# connection is dropped instead of reused: a clean server needs no time at all.
END_GRACE = 0.05


@dataclass(frozen=True)
class Deadline:
    """The idle limit between reads, capped by an overall deadline (``options.timeout``)."""

    idle: float
    overall: float | None = None
    started: float = 0.0

    @classmethod
    def start(cls, idle: float, overall: float | None) -> Deadline:
        return cls(idle=idle, overall=overall, started=time.monotonic())

    def next_wait(self) -> tuple[float, str]:
        """Seconds the next read may take, and what to say if it takes longer."""
        idle_reason = f"no data from the server for {self.idle:g}s (idle timeout)"
        if self.overall is None:
            return self.idle, idle_reason
        left = self.overall - (time.monotonic() - self.started)
        if left < self.idle:
            return max(left, 0.0), f"the reply took longer than {self.overall:g}s (timeout)"
        return self.idle, idle_reason

    def overall_is_nearer(self) -> bool:
        """Whether the overall deadline, not the idle limit, bounds the next read.

        When it does not, httpx's own read timeout (set to the idle limit) is all a
        read needs, which spares a cancel scope per event on the hot path.
        """
        if self.overall is None:
            return False
        return self.overall - (time.monotonic() - self.started) < self.idle


@contextmanager
def mapped_errors(url: str = "") -> Iterator[None]:
    """Re-raise httpx exceptions as the most specific claif error."""
    url = mask_url(url)
    where = f" ({url})" if url else ""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ClaifTimeoutError(f"{_describe_timeout(exc)}{where}", provider=PROVIDER_NAME) from exc
    except httpx.ConnectError as exc:
        target = f" to {url}" if url else ""
        raise TransportError(f"cannot connect{target}: {exc}", provider=PROVIDER_NAME) from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise ConfigurationError(f"bad base URL{where}: {exc}", provider=PROVIDER_NAME) from exc
    except httpx.HTTPStatusError as exc:
        response = exc.response
        raise _status_error(response.status_code, response.headers, b"") from exc
    except httpx.TooManyRedirects as exc:
        raise ProviderError(
            f"too many redirects{where}", provider=PROVIDER_NAME, retryable=False
        ) from exc
    except (httpx.HTTPError, httpx.StreamError, httpx.CookieConflict) as exc:
        raise TransportError(f"connection failed{where}: {exc!r}", provider=PROVIDER_NAME) from exc


def _describe_timeout(exc: httpx.TimeoutException) -> str:
    if isinstance(exc, httpx.ConnectTimeout):
        return "timed out connecting to the server"
    if isinstance(exc, httpx.PoolTimeout):
        return "timed out waiting for a free connection"
    if isinstance(exc, httpx.WriteTimeout):
        return "timed out sending the request"
    return "no data from the server within the read (idle) timeout"


@contextmanager
def _bounded(deadline: Deadline, url: str) -> Iterator[None]:
    """One wait, limited by the deadline, with errors mapped."""
    wait, reason = deadline.next_wait()
    try:
        with mapped_errors(url), anyio.fail_after(wait):
            yield
    except TimeoutError as exc:
        raise ClaifTimeoutError(reason, provider=PROVIDER_NAME) from exc


def _status_error(status: int, headers: Mapping[str, str], body: bytes) -> ProviderError:
    return error_from_http(status, headers, body, provider=PROVIDER_NAME)


class _EventBody:
    """The data of the response's server-sent events, each network read bounded.

    The idle limit is httpx's read timeout; a cancel scope is added only once
    the overall deadline is the nearer one. One event may not grow past
    ``max_event_bytes`` (see :class:`claif.sse.SSEDecoder`). Reading, deadline
    and decoding share one generator: nothing else sits on the per-event path.
    """

    def __init__(self, response: httpx.Response, deadline: Deadline, max_event_bytes: int) -> None:
        self._chunks = response.aiter_bytes()
        self._deadline = deadline
        self._url = str(response.request.url)
        self._decoder = SSEDecoder(max_event_bytes, provider=PROVIDER_NAME)
        # Event streams are UTF-8 by definition, whatever charset a header claims.
        self._utf8 = codecs.getincrementaldecoder("utf-8")("replace")

    async def data(self) -> AsyncGenerator[str, None]:
        feed, decode = self._decoder.feed, self._utf8.decode
        deadline = self._deadline
        if deadline.overall is None:  # httpx's read timeout (the idle limit) is all it takes
            async for chunk in self._chunks:
                for data in feed(decode(chunk)):
                    yield data
        while deadline.overall is not None:
            if deadline.overall_is_nearer():
                with _bounded(deadline, self._url):
                    raw = await anext(self._chunks, None)
            else:
                raw = await anext(self._chunks, None)
            if raw is None:
                break
            for data in feed(decode(raw)):
                yield data
        for data in [*feed(decode(b"", final=True)), *self._decoder.close()]:
            yield data  # what the body ended with, even without its closing blank line

    async def aclose(self) -> None:
        await self._chunks.aclose()  # type: ignore[attr-defined]


class HttpTransport:
    """One ``httpx.AsyncClient`` (one connection pool) and the requests a provider makes."""

    def __init__(self, settings: MyProviderSettings) -> None:
        headers = {"Accept": "application/json"}
        if settings.api_key:
            headers["Authorization"] = f"Bearer {settings.api_key.reveal()}"
        self.base_url = settings.base_url
        self.idle_timeout = settings.idle_timeout
        self.max_event_bytes = settings.max_event_bytes
        limits = httpx.Limits(
            max_connections=settings.max_connections, max_keepalive_connections=100
        )
        timeout = httpx.Timeout(
            settings.idle_timeout, connect=settings.connect_timeout, pool=settings.connect_timeout
        )
        with mapped_errors(settings.base_url):
            self._client = httpx.AsyncClient(
                base_url=settings.base_url + "/",
                headers=headers,
                timeout=timeout,
                limits=limits,
                trust_env=True,
            )

    def deadline(self, overall: float | None) -> Deadline:
        """A fresh deadline for one request."""
        return Deadline.start(self.idle_timeout, overall)

    async def aclose(self) -> None:
        """Close the pool; shielded so a cancelled caller still releases its sockets."""
        with anyio.CancelScope(shield=True), mapped_errors(self.base_url):
            await self._client.aclose()

    async def get_json(self, path: str, deadline: Deadline) -> Any:
        """GET a JSON document, mapping error statuses."""
        with mapped_errors(self.base_url):
            request = self._client.build_request("GET", path)
        async with self._send(request, deadline) as response:
            return await self._read_json(response, deadline)

    async def post_json(self, path: str, body: dict[str, Any], deadline: Deadline) -> Any:
        """POST a JSON body and return the JSON reply (the ``stream: false`` path)."""
        with mapped_errors(self.base_url):
            request = self._client.build_request("POST", path, json=body)
        async with self._send(request, deadline) as response:
            return await self._read_json(response, deadline)

    @asynccontextmanager
    async def events(
        self, path: str, body: dict[str, Any], deadline: Deadline
    ) -> AsyncIterator[AsyncIterator[str]]:
        """POST and iterate the data of the reply's server-sent events.

        The caller stops at ``[DONE]``; leaving the block normally then gives the
        rest of the body :data:`END_GRACE` to arrive, so a clean connection goes
        back to the pool, while one that a server holds open (or fills with
        keep-alive comments) is dropped: the reply never waits for the server to
        close. A JSON reply to a stream request (a server that ignores
        ``stream``) comes as a single event. httpx errors raised while the
        caller iterates are mapped here too.
        """
        headers = {"Accept": "text/event-stream", "Cache-Control": "no-store"}
        with mapped_errors(self.base_url):
            request = self._client.build_request("POST", path, json=body, headers=headers)
        async with self._send(request, deadline) as response:
            kind = response.headers.get("content-type", "").partition(";")[0].strip().lower()
            source = _EventBody(response, deadline, self.max_event_bytes)
            stream: AsyncGenerator[str, None]
            if kind == "text/event-stream":
                stream = source.data()
            elif kind.endswith("json"):
                stream = _single(await self._read_text(response, deadline))
            else:
                raise await self._not_a_stream(response, kind, deadline)
            try:
                with mapped_errors(str(request.url)):
                    yield stream
                    with anyio.move_on_after(END_GRACE):
                        async for _ in stream:
                            pass  # the rest of the body (normally nothing) frees the connection
            finally:
                with anyio.CancelScope(shield=True):
                    await stream.aclose()
                    await source.aclose()

    @asynccontextmanager
    async def _send(
        self, request: httpx.Request, deadline: Deadline
    ) -> AsyncIterator[httpx.Response]:
        """Send, raise the mapped error for a non-2xx status, always close the response."""
        url = str(request.url)
        with _bounded(deadline, url):
            response = await self._client.send(request, stream=True)
        try:
            if not response.is_success:
                body = await self._read_bytes(response, deadline, limit=ERROR_BODY_LIMIT)
                raise _status_error(response.status_code, response.headers, body)
            yield response
        finally:
            with anyio.CancelScope(shield=True), mapped_errors(url):
                await response.aclose()

    async def _read_bytes(
        self, response: httpx.Response, deadline: Deadline, *, limit: int | None = None
    ) -> bytes:
        """The (decompressed) body; cut at ``limit``, or an error past ``max_event_bytes``."""
        chunks: list[bytes] = []
        size = 0
        stream = response.aiter_bytes()
        while limit is None or size < limit:
            with _bounded(deadline, str(response.request.url)):
                chunk = await anext(stream, None)
            if chunk is None:
                break
            chunks.append(chunk)
            size += len(chunk)
            if limit is None and size > self.max_event_bytes:
                raise oversized("the body", self.max_event_bytes, provider=PROVIDER_NAME)
        return b"".join(chunks)

    async def _read_text(self, response: httpx.Response, deadline: Deadline) -> str:
        raw = await self._read_bytes(response, deadline)
        return raw.decode(response.encoding or "utf-8", "replace")

    async def _read_json(self, response: httpx.Response, deadline: Deadline) -> Any:
        text = await self._read_text(response, deadline)
        try:
            return decode_json(text, provider=PROVIDER_NAME, what="body")
        except TransportError as error:
            error.message = f"the server sent a body that is not JSON: {quote_text(text)}"
            error.status = response.status_code
            raise

    async def _not_a_stream(
        self, response: httpx.Response, kind: str, deadline: Deadline
    ) -> TransportError:
        body = await self._read_bytes(response, deadline, limit=ERROR_BODY_LIMIT)
        text = body.decode("utf-8", "replace")
        return TransportError(
            f"expected an event stream, got {kind or 'no content type'}: {quote_text(text)}",
            provider=PROVIDER_NAME,
            status=response.status_code,
        )


async def _single(data: str) -> AsyncGenerator[str, None]:
    yield data
