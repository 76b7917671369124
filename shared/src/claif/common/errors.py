"""The one error tree every Claif provider raises.

    ClaifError
    ├── ConfigurationError      missing key, unknown provider, bad config file
    ├── ValidationError         a bad option or input, refused before any I/O
    ├── SessionError            a session id or file that cannot be used
    └── ProviderError           the backend failed or refused
        ├── AuthenticationError 401 / 403: the key is missing, wrong or lacks rights
        ├── NotFoundError       404: unknown model or endpoint
        ├── RateLimitError      429: carries ``retry_after`` in seconds
        └── TransportError      connection, protocol or stream failure
            └── ClaifTimeoutError   connect, idle or overall deadline passed

Every error carries ``provider`` and, for HTTP backends, ``status``. An error
translated from a lower layer's exception keeps it as ``__cause__``; one built
from an HTTP status alone has none. ``retryable`` tells the core call path
whether a new attempt can help (the status decides it, never the text), and
``retry_after`` is the wait the backend asked for, or the wait that did not fit
in what was left of the call's timeout. ``str(error)`` never shows a key: every
registered secret is masked there, also in library use.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AuthenticationError",
    "ClaifError",
    "ClaifTimeoutError",
    "ConfigurationError",
    "NotFoundError",
    "ProviderError",
    "RateLimitError",
    "SessionError",
    "TransportError",
    "ValidationError",
    "error_from_http",
    "http_status_in",
    "parse_retry_after",
    "quote_text",
    "server_message",
]

RETRYABLE_STATUSES = frozenset({408, 409, 429})
MAX_MESSAGE_CHARS = 500
QUOTE_BYTES = 200


class ClaifError(Exception):
    """Root of every error Claif raises on purpose."""

    retryable: bool = False
    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        if retryable is not None:
            self.retryable = retryable

    @property
    def cause(self) -> BaseException | None:
        """The lower layer's exception this error was raised from."""
        return self.__cause__

    def __str__(self) -> str:
        from ..logs import redact  # cheap: the logs module imports only the standard library

        prefix = f"{self.provider}: " if self.provider else ""
        suffix = f" (HTTP {self.status})" if self.status is not None else ""
        return redact(f"{prefix}{self.message}{suffix}")

    def __repr__(self) -> str:
        from ..logs import redact

        return f"{type(self).__name__}({redact(self.message)!r})"


class ConfigurationError(ClaifError):
    """Something the user must set up first: a key, a provider, a config file."""


class ValidationError(ClaifError):
    """An option or input is invalid; ``field`` names which one."""

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.field = field


class SessionError(ClaifError):
    """A session id is invalid or its file cannot be read or written."""


class ProviderError(ClaifError):
    """The backend failed or refused the request."""


class AuthenticationError(ProviderError):
    """The backend rejected the credentials (HTTP 401 or 403)."""


class NotFoundError(ProviderError):
    """The backend does not know the model or endpoint (HTTP 404)."""


class RateLimitError(ProviderError):
    """The backend asked us to slow down; ``retry_after`` is its wait in seconds."""

    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class TransportError(ProviderError):
    """The connection, the protocol or the stream failed."""

    retryable = True


class ClaifTimeoutError(TransportError):
    """A connect, idle or overall deadline passed.

    When the call's own ``timeout`` ran out, ``timeout`` is that limit and
    ``attempts`` how many attempts ran within it; both are None for an idle or
    connect limit inside one attempt.
    """

    def __init__(
        self,
        message: str,
        *,
        timeout: float | None = None,
        attempts: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.timeout = timeout
        self.attempts = attempts


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date).

    Returns None when no header is present or none parses; never negative.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    millis = _parse_number(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    seconds = _parse_number(raw)
    if seconds is not None:
        return seconds
    return _seconds_until_http_date(raw, time.time() if now is None else now)


def _parse_number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return max(value, 0.0)


def _seconds_until_http_date(raw: str, now: float) -> float | None:
    import email.utils  # deferred: it drags in socket and costs ~13 ms at import

    try:
        when = email.utils.parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(when.timestamp() - now, 0.0)


def error_from_http(
    status: int,
    headers: Mapping[str, str] | None = None,
    body: Any = b"",
    *,
    provider: str | None = None,
) -> ProviderError:
    """Map an HTTP error response to the most specific Claif error.

    The status picks the class; the body (bytes, text, or an already parsed
    JSON object) only supplies the server's own words.
    """
    headers = headers or {}
    detail = server_message(body) or _REASONS.get(status, "request failed")
    kwargs: dict[str, Any] = {"provider": provider, "status": status}
    if status in (401, 403):
        return AuthenticationError(f"authentication failed: {detail}", **kwargs)
    if status == 404:
        return NotFoundError(f"not found: {detail}", **kwargs)
    if status == 429:
        wait = parse_retry_after(headers)
        return RateLimitError(f"rate limited: {detail}", retry_after=wait, **kwargs)
    retryable = status in RETRYABLE_STATUSES or status >= 500
    error = ProviderError(f"backend error: {detail}", retryable=retryable, **kwargs)
    if retryable:
        error.retry_after = parse_retry_after(headers)  # a 503's Retry-After counts too
    return error


_STATUS_IN_TEXT = re.compile(r'"code"\s*:\s*(\d{3})\b|\bstatus(?: code)?\s*:?\s*(\d{3})\b')


def http_status_in(text: str) -> int | None:
    """The HTTP error status a CLI's message quotes (``status 401``, ``last status: 429``,
    ``"code": 503``), or None: for tools that report an API failure only as text."""
    for match in _STATUS_IN_TEXT.finditer(text):
        status = int(match.group(1) or match.group(2))
        if 400 <= status < 600:
            return status
    return None


_REASONS = {
    400: "bad request",
    401: "unauthorized",
    403: "forbidden",
    404: "not found",
    408: "request timeout",
    409: "conflict",
    422: "unprocessable request",
    429: "too many requests",
    500: "internal server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}


def quote_text(text: Any, limit: int = QUOTE_BYTES, *, as_json: bool = False) -> str:
    """A short, quoted excerpt of what a backend sent, safe to put in an error message.

    At most ``limit`` UTF-8 bytes, shown with ``repr`` so control characters and
    lone surrogates stay visible instead of breaking a terminal. A parsed value
    (or any value with ``as_json``) is shown as its JSON text.
    """
    if as_json or not isinstance(text, str | bytes):
        text = _dump(text)
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return repr(raw[:limit].decode("utf-8", "replace"))


def server_message(body: Any) -> str:
    """The server's own error text, from a JSON error object or a short plain body.

    ``body`` is the raw body (bytes or text) or a JSON object already parsed.
    """
    if isinstance(body, Mapping | list):
        return _message_from_json(body)[:MAX_MESSAGE_CHARS]
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = text.strip()
    if not text:
        return ""
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        if text.lstrip().startswith("<"):
            return ""  # an HTML error page says nothing a user can act on
        return text[:MAX_MESSAGE_CHARS]
    return _message_from_json(payload)[:MAX_MESSAGE_CHARS]


def _message_from_json(payload: Any) -> str:
    if isinstance(payload, dict):
        error = payload.get("error", payload)
        if isinstance(error, str):
            return error
        if isinstance(error, dict):
            for key in ("message", "detail", "error"):
                if isinstance(error.get(key), str):
                    return str(error[key])
        for key in ("message", "detail"):
            if isinstance(payload.get(key), str):
                return str(payload[key])
    return _dump(payload)[:MAX_MESSAGE_CHARS]


def _dump(payload: Any) -> str:
    """JSON text of a parsed payload; what json itself cannot write is shown by repr."""
    try:
        return json.dumps(payload)
    except (ValueError, TypeError, RecursionError):
        return repr(payload)
