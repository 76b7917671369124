"""The transport's error mapping is complete, and deadlines pick the tighter limit."""

from __future__ import annotations

import time

import httpx
import pytest

from claif.common import (
    AuthenticationError,
    ClaifError,
    ClaifTimeoutError,
    ConfigurationError,
    TransportError,
)
from claif_myprovider.transport import Deadline, mapped_errors


def httpx_exception_classes() -> list[type[Exception]]:
    found = {getattr(httpx, name) for name in httpx.__all__}
    return sorted(
        (item for item in found if isinstance(item, type) and issubclass(item, Exception)),
        key=lambda item: item.__name__,
    )


def instance_of(error_type: type[Exception]) -> Exception:
    request = httpx.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    if issubclass(error_type, httpx.HTTPStatusError):
        response = httpx.Response(401, request=request)
        return error_type("status", request=request, response=response)
    if issubclass(error_type, httpx.RequestError):
        return error_type("boom", request=request)
    if issubclass(error_type, httpx.StreamError):
        return error_type() if error_type is not httpx.StreamError else error_type("boom")
    return error_type("boom")


@pytest.mark.parametrize("error_type", httpx_exception_classes(), ids=lambda t: t.__name__)
def test_every_httpx_exception_is_mapped(error_type):
    """Each exception httpx exports becomes a claif error with the original as __cause__."""
    original = instance_of(error_type)
    with pytest.raises(ClaifError) as caught, mapped_errors("http://127.0.0.1:1/v1"):
        raise original
    assert caught.value.__cause__ is original
    assert caught.value.provider == "myprovider"


@pytest.mark.parametrize(
    ("error_type", "expected"),
    [
        (httpx.ReadTimeout, ClaifTimeoutError),
        (httpx.ConnectTimeout, ClaifTimeoutError),
        (httpx.PoolTimeout, ClaifTimeoutError),
        (httpx.ConnectError, TransportError),
        (httpx.RemoteProtocolError, TransportError),
        (httpx.ReadError, TransportError),
        (httpx.UnsupportedProtocol, ConfigurationError),
        (httpx.HTTPStatusError, AuthenticationError),
    ],
)
def test_most_specific_class(error_type, expected):
    """Timeouts, connection and protocol failures and bad URLs each get their own class."""
    with pytest.raises(expected), mapped_errors():
        raise instance_of(error_type)


def test_claif_errors_pass_through_unchanged():
    """A claif error raised inside the mapping is not rewrapped."""
    original = AuthenticationError("nope")
    with pytest.raises(AuthenticationError) as caught, mapped_errors():
        raise original
    assert caught.value is original


def test_deadline_uses_idle_limit_when_no_overall():
    """Without options.timeout each wait may last the idle limit."""
    wait, reason = Deadline.start(5.0, None).next_wait()
    assert wait == 5.0
    assert "idle" in reason


def test_deadline_caps_wait_by_what_is_left():
    """Near the overall deadline a wait gets only the time left, with its own message."""
    deadline = Deadline(idle=5.0, overall=1.0, started=time.monotonic() - 0.75)
    wait, reason = deadline.next_wait()
    assert 0 < wait <= 0.25
    assert "longer than 1s" in reason
    expired = Deadline(idle=5.0, overall=1.0, started=time.monotonic() - 10)
    assert expired.next_wait()[0] == 0.0


async def test_a_character_split_between_chunks_arrives_whole():
    """A UTF-8 character cut between two network chunks is decoded once both halves arrive."""
    from claif.testing.http import Exchange, FakeHttpServer
    from claif_myprovider import MyProvider

    event = 'data: {"choices":[{"delta":{"content":"caf\u00e9 \u2615"}}]}\n\n'.encode()
    cut = event.index(b"\xc3") + 1  # inside the two bytes of the accented e
    steps = [event[:cut], 0.05, event[cut:], b'data: {"choices":[],"usage":{}}\n\n']
    steps += [b'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n', b"data: [DONE]\n\n"]
    headers = [("Content-Type", "text/event-stream")]
    with FakeHttpServer(lambda request: Exchange(200, headers, steps)) as server:
        async with MyProvider(base_url=f"{server.url}/v1") as provider:
            text = "".join([m.text async for m in provider.query("hi")])
    assert text == "caf\u00e9 \u2615"
