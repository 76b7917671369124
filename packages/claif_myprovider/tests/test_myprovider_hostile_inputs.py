"""MyProvider given hostile inputs over real sockets: bad text, odd URLs, extras, keys and
passwords that must never show (issue 6, section 4)."""

from __future__ import annotations

import pickle
import secrets

import pytest

from claif.common import (
    AuthenticationError,
    ClaifError,
    ClaifOptions,
    ConfigurationError,
    Message,
    Role,
    TransportError,
    ValidationError,
)
from claif_myprovider import MyProvider
from claif_myprovider.client import RESERVED_BODY_KEYS
from claif_myprovider.testing import FakeBackend, FakeFailure, refused_url

ONE = ClaifOptions(max_retries=0)
KEY = "sk-live-0123456789abcdef"


async def drain(stream) -> list[Message]:
    return [message async for message in stream]


async def query_error(provider: MyProvider, options: ClaifOptions = ONE) -> ClaifError:
    """The claif error one query ends with."""
    with pytest.raises(ClaifError) as caught:
        await drain(provider.query("Hi", options))
    return caught.value


def with_password(url: str) -> tuple[str, str]:
    """``url`` with a password never used before: masking, not an earlier registration, hides it."""
    password = f"pw-{secrets.token_hex(8)}"
    return url.replace("http://", f"http://user:{password}@", 1), password


# -- text that cannot be sent -----------------------------------------------------------------


async def test_non_utf8_prompt_is_refused_before_any_request(backend, provider):
    """A prompt with a lone surrogate is a ValidationError naming the prompt; nothing is sent."""
    with pytest.raises(ValidationError, match="not valid UTF-8") as caught:
        await drain(provider.query("caf\udce9", ONE))
    assert caught.value.field == "prompt"
    assert backend.requests == []


# Core checks only the prompt, model and system prompt: text deeper in the options reaches
# httpx's JSON encoder, whose UnicodeEncodeError the call path wraps as "the provider failed".
@pytest.mark.parametrize("where", ["history", "extra"])
async def test_non_utf8_text_deeper_in_the_options_is_refused(backend, provider, where):
    """A lone surrogate in history or an extra value is a ValidationError before any request."""
    with pytest.raises(ValidationError):
        await drain(provider.query("Hi", options_with_surrogate(where)))
    assert backend.requests == []


def options_with_surrogate(where: str) -> ClaifOptions:
    if where == "history":
        return ONE.replace(history=[Message(Role.USER, "caf\udce9")])
    return ONE.replace(extra={"stop": "caf\udce9"})


# -- base URLs --------------------------------------------------------------------------------

ODD_URLS = [
    "http://[::1",
    "http://127.0.0.1:99999/v1",
    "http://127.0.0.1:-1/v1",
    "ftp://x",
    "http://",
    "http:///v1",
    "http://exa mple.com/v1",
    "http://127.0.0.1\n:80/v1",
]


@pytest.mark.parametrize("url", ODD_URLS)
async def test_odd_base_url_is_a_configuration_error(url):
    """An unusable base URL is a ConfigurationError from query and health, never another error."""
    provider = MyProvider(base_url=url)
    assert "MyProvider(" in repr(provider)
    error = await query_error(provider)
    assert type(error) is ConfigurationError
    assert "base_url" in str(error)
    with pytest.raises(ConfigurationError):
        await provider.health()


# -- extra ------------------------------------------------------------------------------------


async def test_unknown_extra_key_reaches_the_request_body(backend, provider):
    """extra={"top_k": 40} goes into the body as it is, for servers that take it."""
    await drain(provider.query("Hi", ONE.replace(extra={"top_k": 40, "min_p": 0.1})))
    body = backend.chat_requests[-1].json()
    assert (body["top_k"], body["min_p"]) == (40, 0.1)


@pytest.mark.parametrize("key", sorted(RESERVED_BODY_KEYS))
async def test_extra_key_colliding_with_the_body_is_refused(backend, provider, key):
    """An extra key the provider sets itself (model, messages ...) is refused by name."""
    with pytest.raises(ValidationError, match=f"'{key}'") as caught:
        await drain(provider.query("Hi", ONE.replace(extra={key: "x"})))
    assert caught.value.field == f"extra.{key}"
    assert backend.requests == []


@pytest.mark.parametrize("value", [object(), float("nan"), float("inf"), {1, 2}])
def test_extra_value_that_is_not_json_is_refused(value):
    """An extra value that cannot travel as JSON is a ValidationError naming the key."""
    with pytest.raises(ValidationError, match="seed") as caught:
        ClaifOptions(extra={"seed": value})
    assert caught.value.field == "extra.seed"


# -- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [KEY + "\r", KEY + "\n", f" {KEY} \r\n"])
async def test_key_whitespace_is_stripped_from_the_argument(raw):
    """A key ending in CR, LF or spaces (a CRLF key file) is stripped and accepted by the server."""
    with FakeBackend(api_key=KEY) as backend:
        async with MyProvider(base_url=backend.url, api_key=raw) as provider:
            assert await drain(provider.query("Hi", ONE))


@pytest.mark.parametrize("raw", [KEY + "\r", f"{KEY}\r\n"])
async def test_key_whitespace_is_stripped_from_the_environment(monkeypatch, raw):
    """MYPROVIDER_API_KEY ending in CR or CRLF is stripped and accepted by the server."""
    monkeypatch.setenv("MYPROVIDER_API_KEY", raw)
    with FakeBackend(api_key=KEY) as backend:
        async with MyProvider(base_url=backend.url) as provider:
            assert await drain(provider.query("Hi", ONE))


INNER = "sk-inner-SECRETPART\x01tail"


def assert_key_hidden(error: BaseException, *parts: str) -> None:
    for part in parts:
        assert part not in str(error)
        assert part not in repr(error)


def test_key_with_a_control_character_is_refused_without_showing_it():
    """A key holding a control character is refused by the constructor, the key not shown."""
    with pytest.raises(ConfigurationError, match="control character") as caught:
        MyProvider(base_url="http://127.0.0.1:1/v1", api_key=INNER)
    assert_key_hidden(caught.value, "SECRETPART", "tail")


async def test_key_with_a_line_break_in_the_environment_is_refused(monkeypatch, backend):
    """MYPROVIDER_API_KEY with an inner line break is refused, naming the variable, not the key."""
    monkeypatch.setenv("MYPROVIDER_API_KEY", "sk-inner-SECRETPART\ntail")
    error = await query_error(MyProvider(base_url=backend.url))
    assert type(error) is ConfigurationError
    assert "MYPROVIDER_API_KEY" in str(error)
    assert_key_hidden(error, "SECRETPART", "tail")
    assert backend.requests == []


ECHOED_KEYS = [KEY, "abc123", "k9"]


async def echoed_key_error(backend: FakeBackend, key: str) -> ClaifError:
    """The 401 of a server that quotes the key it was sent, as some proxies do."""
    backend.enqueue(FakeFailure.json_error(401, f"Incorrect API key provided: {key}."))
    async with MyProvider(base_url=backend.url, api_key=key) as provider:
        error = await query_error(provider)
    assert isinstance(error, AuthenticationError)
    return error


@pytest.mark.parametrize("key", ECHOED_KEYS)
async def test_key_echoed_by_the_server_is_masked_in_the_message(backend, key):
    """A key the server echoes in its 401, however short, never reaches str(error)."""
    error = await echoed_key_error(backend, key)
    assert key not in str(error)
    assert "Incorrect API key provided: ****." in str(error)


@pytest.mark.parametrize("key", ECHOED_KEYS)
async def test_key_echoed_by_the_server_is_masked_in_the_repr(backend, key):
    """A key the server echoes in its 401 never reaches repr(error) either."""
    error = await echoed_key_error(backend, key)
    assert key not in repr(error)


async def test_provider_never_holds_the_key_as_plain_text(backend):
    """The key shows in neither vars(provider) nor repr(provider), and pickling refuses it."""
    provider = MyProvider(base_url=backend.url, api_key=KEY)
    for _ in range(2):  # before connecting, and after a query resolved the settings
        assert KEY not in repr(vars(provider))
        assert KEY not in repr(provider)
        assert KEY not in vars(provider).values()
        with pytest.raises(TypeError, match="cannot be pickled"):
            pickle.dumps(provider)
        await drain(provider.query("Hi", ONE))
    await provider.disconnect()


# -- a password in the base URL ---------------------------------------------------------------


async def test_url_password_hidden_when_the_connection_is_refused():
    """A refused connection's error, health() and repr mask the base URL's password."""
    url, password = with_password(refused_url())
    async with MyProvider(base_url=url) as provider:
        error = await query_error(provider)
        health = await provider.health()
        shown = [str(error), repr(error), health.detail, repr(provider)]
    assert isinstance(error, TransportError)
    assert not health.ok
    assert all("user:****@" in text and password not in text for text in shown)


async def test_url_password_hidden_in_health_and_echoes(backend):
    """health() masks the password, and a server quoting the URL in an error cannot show it."""
    url, password = with_password(backend.url)
    backend.enqueue(FakeFailure.json_error(500, f"bad upstream {url}"))
    async with MyProvider(base_url=url) as provider:
        health = await provider.health()
        error = await query_error(provider)
    assert health.ok
    assert "user:****@" in health.detail
    assert password not in health.detail
    assert password not in str(error)


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/v1", "http://[::1"])
async def test_url_password_hidden_when_the_url_is_refused(url):
    """A base URL refused as unusable never shows its password in the ConfigurationError."""
    url, password = with_password(url)
    error = await query_error(MyProvider(base_url=url))
    assert type(error) is ConfigurationError
    assert password not in str(error)
