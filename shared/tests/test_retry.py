"""The core retry loop (inside the one call path), driven by a fake clock: no real sleeps."""

from __future__ import annotations

import pytest

from claif.common.errors import AuthenticationError, ProviderError, RateLimitError, TransportError
from claif.common.options import ClaifOptions
from claif.common.types import Message, Role
from claif.host import query
from claif.retry import RetryPolicy, backoff_delay


class FakeClock:
    """Records requested sleeps instead of sleeping."""

    def __init__(self):
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def policy(clock: FakeClock, max_retries: int = 2, **kwargs) -> tuple[RetryPolicy, int]:
    """A policy on the fake clock, with the retry count the options will carry."""
    return RetryPolicy(sleep=clock.sleep, random=lambda: 1.0, **kwargs), max_retries


class Scripted:
    """A duck-typed provider: each attempt plays the next outcome (an error or texts)."""

    name = "scripted"
    capabilities = frozenset({"text", "streaming"})

    def __init__(self, outcomes):
        self.outcomes = outcomes
        self.calls = []

    async def connect(self):
        pass

    async def query(self, prompt, options=None):
        outcome = self.outcomes[len(self.calls)]
        self.calls.append(outcome)
        for item in outcome if isinstance(outcome, list) else [outcome]:
            if isinstance(item, BaseException):
                raise item
            yield Message(Role.ASSISTANT, item)


def script(*outcomes):
    """A provider playing ``outcomes`` and the list of attempts it has made."""
    provider = Scripted(outcomes)
    return provider, provider.calls


def retrying(provider, chosen):
    """The call path with this policy; max_retries travels in the options, as for users."""
    retry_policy, max_retries = chosen
    return query(provider, "hi", ClaifOptions(max_retries=max_retries), policy=retry_policy)


async def drain(stream):
    return [message.text async for message in stream]


async def test_retries_transport_error_then_succeeds():
    """A connection failure before output is retried, and the reply arrives."""
    clock = FakeClock()
    factory, calls = script(TransportError("refused"), ["ok"])
    assert await drain(retrying(factory, policy(clock))) == ["ok"]
    assert len(calls) == 2
    assert clock.sleeps == [0.5]


async def test_backoff_grows_exponentially_and_is_capped():
    """Waits double each attempt up to max_delay (with jitter at its top)."""
    clock = FakeClock()
    failures = [ProviderError("503", status=503, retryable=True)] * 5
    factory, _ = script(*failures, ["ok"])
    await drain(retrying(factory, policy(clock, max_retries=5, base_delay=1, max_delay=5)))
    assert clock.sleeps == [1, 2, 4, 5, 5]


def test_full_jitter_spans_zero_to_ceiling():
    """The jittered wait is random() times the capped step."""
    assert backoff_delay(3, RetryPolicy(base_delay=1, max_delay=100, random=lambda: 0.25)) == 2.0


async def test_non_retryable_error_raises_at_once():
    """An authentication failure is not retried."""
    clock = FakeClock()
    factory, calls = script(AuthenticationError("bad key", status=401), ["never"])
    with pytest.raises(AuthenticationError):
        await drain(retrying(factory, policy(clock)))
    assert len(calls) == 1
    assert clock.sleeps == []


async def test_gives_up_after_max_retries():
    """After max_retries the last error propagates unchanged."""
    clock = FakeClock()
    factory, calls = script(*[TransportError(f"fail {i}") for i in range(3)])
    with pytest.raises(TransportError, match="fail 2"):
        await drain(retrying(factory, policy(clock, max_retries=2)))
    assert len(calls) == 3


async def test_retry_after_is_honoured():
    """A 429's Retry-After is the wait, instead of the backoff."""
    clock = FakeClock()
    factory, _ = script(RateLimitError("slow", retry_after=12.5), ["ok"])
    assert await drain(retrying(factory, policy(clock))) == ["ok"]
    assert clock.sleeps == [12.5]


async def test_retry_after_beyond_cap_raises_with_the_wait():
    """A wait longer than max_retry_after is raised, carrying the wait, not slept."""
    clock = FakeClock()
    factory, calls = script(RateLimitError("slow", retry_after=3600), ["ok"])
    with pytest.raises(RateLimitError) as info:
        await drain(retrying(factory, policy(clock, max_retry_after=60)))
    assert info.value.retry_after == 3600
    assert clock.sleeps == []
    assert len(calls) == 1


async def test_never_retries_after_first_message():
    """Once output has been yielded, a failure propagates: a retry would repeat text."""
    clock = FakeClock()
    factory, calls = script(["partial", TransportError("cut")], ["again"])
    seen = []

    async def consume():
        async for message in retrying(factory, policy(clock)):
            seen.append(message.text)

    with pytest.raises(TransportError):
        await consume()
    assert seen == ["partial"]
    assert len(calls) == 1


async def test_zero_retries_means_one_attempt():
    """max_retries=0 tries once."""
    factory, calls = script(TransportError("x"), ["ok"])
    with pytest.raises(TransportError):
        await drain(retrying(factory, policy(FakeClock(), max_retries=0)))
    assert len(calls) == 1
