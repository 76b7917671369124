"""The one call path: what ``provider.query()`` does around a provider's single attempt."""

from __future__ import annotations

import math
import time

import anyio
import pytest

from claif.common.errors import (
    AuthenticationError,
    ProviderError,
    TransportError,
    ValidationError,
)
from claif.common.options import ClaifOptions
from claif.common.types import ImageBlock, Message, Role, Tool
from claif.host import query as host_query
from claif.providers.base import Health
from claif.retry import RetryPolicy
from claif.streaming import collect
from claif.testing import MockProvider
from claif.testing.conformance import TINY_PNG

from .call_fixtures import FakeSleep, GuideStyleProvider, Scripted


async def texts(stream) -> list[str]:
    return [message.text async for message in stream]


# --- a provider written the way the plugin guide shows, and one that extends it ---


class LoudGuideProvider(GuideStyleProvider):
    """A subclass that reuses its parent's query through super().query()."""

    loud_calls = 0

    async def query(self, prompt, options=None):
        self.loud_calls += 1
        async for message in super().query(prompt, options):
            yield Message(Role.ASSISTANT, message.text.upper())


class LouderGuideProvider(LoudGuideProvider):
    """Two levels of super().query() over the guide's body."""

    async def query(self, prompt, options=None):
        async for message in super().query(prompt, options):
            yield Message(Role.ASSISTANT, message.text + "!")


def guide(cls=GuideStyleProvider, failures=0):
    provider = cls(failures)
    provider.retry_policy = FakeSleep().policy()
    return provider


# --- retries ---


async def test_query_retries_up_to_max_retries():
    """provider.query() itself retries a retryable failure, max_retries times and no more."""
    provider = Scripted(TransportError("refused"))
    with pytest.raises(TransportError, match="refused"):
        await texts(provider.query("hi", ClaifOptions(max_retries=3)))
    assert provider.attempts == 4
    assert provider.sleeps.waits == [0.5, 1.0, 2.0]


async def test_query_retry_then_success():
    """A failure before any output is retried and the caller sees only the good reply."""
    provider = Scripted(TransportError("refused"), ["fine"])
    assert await texts(provider.query("hi")) == ["fine"]
    assert provider.attempts == 2


async def test_no_retry_after_the_first_message():
    """Once a Message has been yielded a failure ends the call: a retry would repeat text."""
    provider = Scripted(["partial", TransportError("cut")], ["again"])
    stream = provider.query("hi")
    seen = [(await stream.__anext__()).text]
    with pytest.raises(TransportError, match="cut"):
        await stream.__anext__()
    assert (seen, provider.attempts, provider.sleeps.waits) == (["partial"], 1, [])


async def test_guide_style_provider_is_retried_by_its_own_query():
    """A query written straight from the guide gets the retry loop without asking for it."""
    provider = guide(failures=2)
    assert await texts(provider.query("hi")) == ["echo: hi"]
    assert provider.calls == 3


@pytest.mark.parametrize(
    ("cls", "reply"),
    [(LoudGuideProvider, "ECHO: HI"), (LouderGuideProvider, "ECHO: HI!")],
)
async def test_super_query_does_not_stack_retries(cls, reply):
    """A subclass calling super().query() runs its parent's body once per attempt, unstacked."""
    provider = guide(cls, failures=5)
    with pytest.raises(TransportError):
        await texts(provider.query("hi", ClaifOptions(max_retries=2)))
    assert (provider.calls, provider.loud_calls) == (3, 3)

    provider = guide(cls, failures=1)
    assert await texts(provider.query("hi", ClaifOptions(max_retries=2))) == [reply]
    assert (provider.calls, provider.loud_calls) == (2, 2)


# --- bad input refused at the call, before any I/O ---


def _png() -> ImageBlock:
    return ImageBlock(TINY_PNG, "image/png")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (ClaifOptions(system_prompt="be brief"), "system_prompt"),
        (ClaifOptions(images=[_png()]), "images"),
        (ClaifOptions(tools=[Tool("t", "a tool", {"type": "object"})]), "tools"),
        (ClaifOptions(history=[Message(Role.USER, "earlier")]), "history"),
        (ClaifOptions(session_id="chat"), "history"),
        (ClaifOptions(native_session_id="thread-1"), "history"),
    ],
)
def test_missing_capability_is_refused_at_the_call(options, field):
    """Options needing a capability the provider lacks fail at query(), before connect."""
    provider = Scripted(["never"])
    with pytest.raises(ValidationError) as caught:
        provider.query("hi", options)
    assert (caught.value.field, caught.value.provider) == (field, "scripted")
    assert (provider.connects, provider.attempts) == (0, 0)


def test_capability_read_from_a_guide_style_property():
    """A capabilities property is read: the guide's provider refuses a system prompt."""
    provider = guide()
    with pytest.raises(ValidationError, match="system_prompt") as caught:
        provider.query("hi", ClaifOptions(system_prompt="be brief"))
    assert caught.value.provider == "guide"
    assert (provider.connects, provider.calls) == (0, 0)


class Picky(Scripted):
    """Accepts only the extras it understands, and sets ``model`` itself."""

    accepted_extras = frozenset({"seed", "top_k"})
    reserved_extras = frozenset({"model"})


async def test_accepted_extras_reach_the_attempt():
    """Extras the provider accepts pass the check and arrive in the attempt's options."""
    provider = Picky(["ok"])
    await texts(provider.query("hi", ClaifOptions(extra={"seed": 7})))
    assert provider.seen[0].extra == {"seed": 7}


def test_unknown_extra_is_refused_by_name():
    """With accepted_extras declared, other keys are refused, naming key and accepted ones."""
    provider = Picky(["never"])
    with pytest.raises(ValidationError, match=r"'mirostat'.*seed, top_k") as caught:
        provider.query("hi", ClaifOptions(extra={"seed": 1, "mirostat": 2}))
    assert caught.value.field == "extra.mirostat"
    assert (provider.connects, provider.attempts) == (0, 0)


def test_reserved_extra_collision_is_refused():
    """An extra key the provider sets itself is refused rather than silently overriding it."""
    provider = Picky(["never"])
    with pytest.raises(ValidationError, match=r"'model'.*collides") as caught:
        provider.query("hi", ClaifOptions(extra={"model": "other"}))
    assert caught.value.field == "extra.model"
    assert provider.connects == 0


@pytest.mark.parametrize("value", [object(), math.nan, math.inf, {1, 2}, "\ud800", [b"raw"]])
def test_non_json_extra_value_is_refused_when_options_are_built(value):
    """An extra value that cannot travel as JSON is a ValidationError naming its key."""
    with pytest.raises(ValidationError, match="seed") as caught:
        ClaifOptions(extra={"seed": value})
    assert caught.value.field == "extra.seed"


@pytest.mark.parametrize("prompt", [None, 42, b"bytes", ["list"], "bad \udcff byte"])
def test_prompt_that_is_not_text_is_refused_at_the_call(prompt):
    """A prompt that is not a str, or holds a lone surrogate, is refused before any I/O."""
    provider = Scripted(["never"])
    with pytest.raises(ValidationError) as caught:
        provider.query(prompt)
    assert caught.value.field == "prompt"
    assert (provider.connects, provider.attempts) == (0, 0)


def test_options_of_the_wrong_type_are_refused():
    """A dict in place of ClaifOptions is a ValidationError, not an AttributeError later."""
    with pytest.raises(ValidationError) as caught:
        Scripted(["never"]).query("hi", {"timeout": 5})
    assert caught.value.field == "options"


# --- connect ---


class Ordered(Scripted):
    """Notes the order of connect and attempts."""

    def __init__(self, *outcomes):
        super().__init__(*outcomes)
        self.events: list[str] = []

    async def connect(self):
        self.events.append("connect")

    async def query(self, prompt, options=None):
        self.events.append("attempt")
        async for message in super().query(prompt, options):
            yield message


async def test_connects_on_demand_before_the_first_attempt():
    """A provider nobody connected is connected by the call, once, before its attempts."""
    provider = Ordered(TransportError("flaky"), ["ok"])
    assert await texts(provider.query("hi")) == ["ok"]
    assert provider.events == ["connect", "attempt", "attempt"]


class BrokenConnect(Scripted):
    async def connect(self):
        raise OSError(111, "Connection refused")


async def test_connect_failing_with_a_foreign_exception_is_a_provider_error():
    """An OSError from a plugin's connect leaves the call as a ProviderError naming the provider."""
    provider = BrokenConnect(["never"])
    with pytest.raises(ProviderError) as caught:
        await texts(provider.query("hi"))
    assert caught.value.provider == "scripted"
    assert isinstance(caught.value.__cause__, OSError)
    assert provider.attempts == 0


# --- stream=False and empty replies ---


async def test_stream_false_gives_exactly_one_message():
    """With stream=False a provider that streams many parts still gives exactly one Message."""
    last = Message(Role.ASSISTANT, "c", {"finish_reason": "stop", "model": "m"})
    provider = Scripted(["a", "b", last])
    messages = [m async for m in provider.query("hi", ClaifOptions(stream=False))]
    assert len(messages) == 1
    assert messages[0].text == "abc"
    assert messages[0].metadata == {"finish_reason": "stop", "model": "m"}


async def test_stream_false_retry_keeps_nothing_of_the_failed_attempt():
    """With stream=False a failed attempt's parts are dropped: the Message is the retry's reply."""
    provider = Scripted(["par", "tial", TransportError("cut")], ["whole"])
    messages = [m async for m in provider.query("hi", ClaifOptions(stream=False))]
    assert [m.text for m in messages] == ["whole"]
    assert provider.attempts == 2


@pytest.mark.parametrize("stream", [True, False])
async def test_empty_reply_is_a_provider_error(stream):
    """A provider that ends without a single Message has failed, streamed or not."""
    provider = Scripted([])
    with pytest.raises(ProviderError, match="without a single message") as caught:
        await texts(provider.query("hi", ClaifOptions(stream=stream)))
    assert caught.value.provider == "scripted"


# --- errors leave typed and named ---


async def test_provider_name_is_filled_into_an_unnamed_error():
    """An error raised without a provider gets the provider's name; a named one keeps its own."""
    unnamed = Scripted(AuthenticationError("bad key"))
    with pytest.raises(AuthenticationError) as caught:
        await texts(unnamed.query("hi"))
    assert caught.value.provider == "scripted"
    assert str(caught.value).startswith("scripted: ")

    named = Scripted(AuthenticationError("bad key", provider="upstream"))
    with pytest.raises(AuthenticationError) as caught:
        await texts(named.query("hi"))
    assert caught.value.provider == "upstream"


async def test_name_from_a_guide_style_property_is_filled_in():
    """The name a guide-style provider gives as a property is what its errors carry."""
    provider = guide(failures=5)
    with pytest.raises(TransportError) as caught:
        await texts(provider.query("hi", ClaifOptions(max_retries=0)))
    assert caught.value.provider == "guide"


async def test_foreign_exception_becomes_provider_error_and_is_not_retried():
    """A KeyError from an attempt is a ProviderError with it as __cause__, and is not retried."""
    provider = Scripted(KeyError("choices"), ["never"])
    with pytest.raises(ProviderError, match="KeyError") as caught:
        await texts(provider.query("hi", ClaifOptions(max_retries=2)))
    assert type(caught.value) is ProviderError
    assert isinstance(caught.value.__cause__, KeyError)
    assert caught.value.provider == "scripted"
    assert (provider.attempts, provider.sleeps.waits) == (1, [])


# --- duck-typed providers through claif.host.query, the same path ---


class Replies:
    """A plain async iterator (no aclose), as a duck type's query may return."""

    def __init__(self, *texts):
        self.texts = list(texts)

    def __aiter__(self):
        return self

    async def __anext__(self):
        if not self.texts:
            raise StopAsyncIteration
        return Message(Role.ASSISTANT, self.texts.pop(0))


class Duck:
    """Only looks like a provider: name, capabilities, connect and a plain query function."""

    name = "duck"
    capabilities = frozenset({"text"})

    def __init__(self, query):
        self.query = query

    async def connect(self):
        pass


async def test_duck_type_returning_a_plain_async_iterator_works():
    """A duck type whose query returns an async iterator without aclose works via host.query."""
    provider = Duck(lambda prompt, options=None: Replies("a", "b"))
    assert await texts(host_query(provider, "hi")) == ["a", "b"]


async def test_duck_type_query_raising_at_once_is_a_provider_error():
    """A duck type's query raising before it returns an iterator leaves as a ProviderError."""

    def query(prompt, options=None):
        raise KeyError("boom")

    with pytest.raises(ProviderError, match="KeyError") as caught:
        await texts(host_query(Duck(query), "hi"))
    assert caught.value.provider == "duck"
    assert isinstance(caught.value.__cause__, KeyError)


# --- disconnect while a query runs ---


class Held(Scripted):
    """Optionally yields a first part, then waits on its 'connection' until disconnect closes it."""

    def __init__(self, *, first_part: bool):
        super().__init__([])
        self.first_part = first_part
        self.closed: anyio.Event | None = None

    async def connect(self):
        self.connects += 1
        self.closed = anyio.Event()

    async def disconnect(self):
        if self.closed is not None:
            self.closed.set()

    async def query(self, prompt, options=None):
        self.seen.append(options)
        if self.first_part:
            yield Message(Role.ASSISTANT, "partial")
        await self.closed.wait()
        raise anyio.ClosedResourceError  # what a closed client raises: not a claif error


@pytest.mark.parametrize("first_part", [True, False])
async def test_disconnect_from_another_task_ends_the_query(first_part):
    """disconnect() from another task ends a running query at once with a TransportError."""
    provider = Held(first_part=first_part)
    stream = provider.query("hi", ClaifOptions(max_retries=3))
    if first_part:
        assert (await stream.__anext__()).text == "partial"

    async def disconnect_soon():
        await anyio.sleep(0.05)
        await provider.disconnect()

    started = time.monotonic()
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(disconnect_soon)
        with pytest.raises(TransportError, match="disconnected") as caught:
            await stream.__anext__()
    assert time.monotonic() - started < 1
    assert caught.value.provider == "scripted"
    assert (provider.connects, provider.attempts, provider.sleeps.waits) == (1, 1, [])


async def test_disconnect_during_the_backoff_wait_stops_the_retries():
    """A disconnect while the call waits to retry ends it without another attempt or connect."""
    provider = Scripted(TransportError("refused"), ["never"])

    async def sleep_and_get_closed(seconds):
        await provider.disconnect()

    provider.retry_policy = RetryPolicy(sleep=sleep_and_get_closed)
    with pytest.raises(TransportError, match="disconnected"):
        await texts(provider.query("hi"))
    assert (provider.connects, provider.attempts) == (1, 1)


async def test_a_query_after_disconnect_connects_again():
    """Disconnecting only ends the queries running then: the next query connects and works."""
    provider = Scripted(["ok"])
    await provider.disconnect()
    assert await texts(provider.query("hi")) == ["ok"]
    assert provider.connects == 1


class SlowClose(Scripted):
    closed = False

    async def disconnect(self):
        await anyio.sleep(0.05)
        self.closed = True


async def test_async_with_shields_disconnect_from_cancellation():
    """A block cancelled inside ``async with provider`` still completes the disconnect."""
    provider = SlowClose(["never"])
    with anyio.CancelScope() as scope:
        async with provider:
            scope.cancel()
            await anyio.sleep(5)
    assert scope.cancelled_caught
    assert provider.closed


# --- models() and health() defaults ---


async def test_models_default_says_the_provider_cannot_list():
    """BaseProvider.models() by default raises a ValidationError naming the provider."""
    with pytest.raises(ValidationError, match="cannot list its models") as caught:
        await guide().models()
    assert (caught.value.field, caught.value.provider) == ("models", "guide")


async def test_health_default_connects_and_reports_ok():
    """BaseProvider.health() by default connects and reports the provider as usable."""
    provider = guide()
    assert await provider.health() == Health(ok=True, provider="guide", detail="connected")
    assert provider.connects == 1


async def test_mock_provider_goes_through_the_same_path():
    """MockProvider's query is the call path too: its scripted error gets retried and named."""
    provider = MockProvider([TransportError("blip"), "ok"])
    provider.retry_policy = FakeSleep().policy()
    assert (await collect(provider.query("hi"))).text == "ok"
    assert len(provider.received) == 2
