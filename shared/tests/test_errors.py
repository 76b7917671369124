"""The error tree and the HTTP status mapping."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from claif.common import errors
from claif.common.errors import (
    AuthenticationError,
    ClaifError,
    ClaifTimeoutError,
    ConfigurationError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    SessionError,
    TransportError,
    ValidationError,
    error_from_http,
    http_status_in,
    parse_retry_after,
)


def test_tree_shape_matches_the_docstring():
    """Every class sits where the module docstring draws it."""
    assert issubclass(ConfigurationError, ClaifError)
    assert issubclass(ValidationError, ClaifError)
    assert issubclass(SessionError, ClaifError)
    for cls in (AuthenticationError, NotFoundError, RateLimitError, TransportError):
        assert issubclass(cls, ProviderError)
    assert issubclass(ClaifTimeoutError, TransportError)
    for cls in (ConfigurationError, ValidationError, SessionError, ProviderError):
        assert cls.__name__ in errors.__doc__


def test_error_carries_provider_status_and_cause():
    """An error keeps the provider, the status and the lower exception as its cause."""
    low = OSError("boom")
    with pytest.raises(ProviderError) as info:
        raise ProviderError("failed", provider="p", status=500) from low
    assert info.value.provider == "p"
    assert info.value.status == 500
    assert info.value.cause is low
    assert str(info.value) == "p: failed (HTTP 500)"


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (401, AuthenticationError, False),
        (403, AuthenticationError, False),
        (404, NotFoundError, False),
        (400, ProviderError, False),
        (408, ProviderError, True),
        (409, ProviderError, True),
        (429, RateLimitError, True),
        (500, ProviderError, True),
        (503, ProviderError, True),
    ],
)
def test_status_decides_class_and_retryability(status, cls, retryable):
    """The HTTP status alone picks the error class and whether a retry may help."""
    error = error_from_http(status, {}, b'{"error": {"message": "rate limit exceeded"}}')
    assert type(error) is cls
    assert error.retryable is retryable
    assert error.status == status


def test_body_text_never_overrides_status():
    """A 401 whose body talks about rate limits is still an AuthenticationError."""
    error = error_from_http(401, {}, b'{"error": "rate limit, too many requests, retry"}')
    assert isinstance(error, AuthenticationError)
    assert "rate limit" in str(error)


def test_server_message_is_quoted_and_html_is_not():
    """The server's own JSON message reaches the text; an HTML page does not."""
    assert "model xyz missing" in str(
        error_from_http(404, {}, b'{"error":{"message":"model xyz missing"}}')
    )
    html = error_from_http(502, {}, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
    assert "<html>" not in str(html)
    assert "bad gateway" in str(html)


def test_rate_limit_reads_retry_after():
    """A 429 carries the Retry-After wait in seconds."""
    error = error_from_http(429, {"Retry-After": "7"}, b"")
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 7.0


def test_retry_after_ms_wins_over_seconds():
    """retry-after-ms is more precise and is read first."""
    assert parse_retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5


def test_retry_after_http_date():
    """An HTTP-date Retry-After becomes the seconds until that moment."""
    now = 1_700_000_000.0
    header = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"Retry-After": header}, now=now) == pytest.approx(30.0)


def test_retry_after_in_the_past_is_zero():
    """A date already gone means no wait, never a negative one."""
    now = 1_700_000_000.0
    assert (
        parse_retry_after({"Retry-After": email.utils.formatdate(now - 60, usegmt=True)}, now=now)
        == 0.0
    )


@given(st.integers(min_value=0, max_value=10**9))
def test_retry_after_seconds_round_trip(seconds):
    """Any whole number of seconds parses to itself."""
    assert parse_retry_after({"Retry-After": str(seconds)}) == float(seconds)


@given(st.text(max_size=60))
def test_retry_after_never_raises_and_never_negative(raw):
    """Any header text gives None or a non-negative finite number, never an exception."""
    value = parse_retry_after({"Retry-After": raw}, now=1_700_000_000.0)
    assert value is None or (value >= 0 and value != float("inf"))


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("unexpected status 401 Unauthorized: Incorrect API key, url: http://x/v1", 401),
        ("exceeded retry limit, last status: 429 Too Many Requests", 429),
        ('[API Error: {"error": {"code": 503, "message": "overloaded"}}]', 503),
        ("HTTP status code 500", 500),
        ("status 200 and then status 502", 502),  # a success status is not an error's
        ("listening on port 4010, 1234 tokens", None),
        ("status: 99", None),
        ("", None),
    ],
)
def test_http_status_in_a_cli_message(text, status):
    assert http_status_in(text) == status
