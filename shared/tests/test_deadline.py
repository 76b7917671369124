"""One deadline for the whole call: every attempt, every wait between them, and connect."""

from __future__ import annotations

import time

import anyio

from claif._deadline import Deadline
from claif.common.errors import ClaifTimeoutError, RateLimitError, TransportError
from claif.common.options import ClaifOptions
from claif.retry import RetryPolicy
from claif.testing import MockProvider

from .call_fixtures import Scripted


async def timed(stream) -> tuple[BaseException | None, float]:
    """Drain ``stream`` within a 5 s safety net: what it raised, and how long it took."""
    started = time.monotonic()
    try:
        with anyio.fail_after(5):
            async for _ in stream:
                pass
    except (ClaifTimeoutError, RateLimitError, TransportError) as error:
        return error, time.monotonic() - started
    return None, time.monotonic() - started


def test_deadline_without_a_limit_never_expires():
    """Deadline(None) has nothing remaining to count, never expires and fits any wait."""
    deadline = Deadline(None)
    assert (deadline.remaining(), deadline.expired(), deadline.fits(1e9)) == (None, False, True)


async def test_deadline_counts_down_and_expires():
    """A Deadline counts down, a wait as long as what is left does not fit, and it expires."""
    deadline = Deadline(0.1)
    left = deadline.remaining()
    assert 0 < left <= 0.1
    assert deadline.fits(left / 2)
    assert not deadline.fits(0.1)
    await anyio.sleep(0.12)
    assert (deadline.remaining(), deadline.expired()) == (0.0, True)


async def test_each_attempt_gets_what_is_left():
    """Each attempt's options.timeout is what is left of the call's timeout."""
    provider = Scripted([0.2, TransportError("reset")], ["ok"])
    provider.retry_policy = RetryPolicy(base_delay=0.1, random=lambda: 1.0)  # a real 0.1 s wait
    error, _ = await timed(provider.query("hi", ClaifOptions(timeout=2, max_retries=1)))
    assert error is None
    first, second = (options.timeout for options in provider.seen)
    assert 1.9 < first <= 2
    assert 1.5 < second <= first - 0.3


async def test_without_a_timeout_attempts_get_none():
    """Without a call timeout, each attempt's options.timeout stays None."""
    provider = Scripted(TransportError("reset"), ["ok"])
    await timed(provider.query("hi"))
    assert [options.timeout for options in provider.seen] == [None, None]


async def test_retry_after_longer_than_the_timeout_ends_the_call_at_once():
    """A 429 asking for 30 s under timeout=2 ends at once with that RateLimitError carrying 30."""
    provider = MockProvider([RateLimitError("slow down", retry_after=30), "never"])
    error, took = await timed(provider.query("hi", ClaifOptions(timeout=2)))
    assert isinstance(error, RateLimitError)
    assert error.retry_after == 30
    assert took < 1
    assert len(provider.received) == 1


async def test_backoff_that_does_not_fit_ends_the_call():
    """A backoff longer than what is left ends the call with its cause, carrying the wait."""
    provider = Scripted(TransportError("refused"), ["never"])
    provider.retry_policy = provider.sleeps.policy(base_delay=10, max_delay=10)
    error, took = await timed(provider.query("hi", ClaifOptions(timeout=1)))
    assert isinstance(error, TransportError)
    assert str(error) == "scripted: refused"
    assert error.retry_after == 10
    assert (provider.attempts, provider.sleeps.waits) == (1, [])
    assert took < 0.5


async def test_retry_after_that_fits_is_waited():
    """A Retry-After that fits in what is left is waited, and the next attempt runs."""
    provider = Scripted(RateLimitError("slow", retry_after=1.5), ["ok"])
    error, _ = await timed(provider.query("hi", ClaifOptions(timeout=5)))
    assert error is None
    assert provider.sleeps.waits == [1.5]


async def test_stall_mid_stream_is_cut_at_the_deadline():
    """A provider without enforces_timeout stalling after its first Message is cut by core."""
    provider = Scripted(["thinking", 30, "never"])
    error, took = await timed(provider.query("hi", ClaifOptions(timeout=0.3)))
    assert isinstance(error, ClaifTimeoutError)
    assert (error.timeout, error.attempts, error.provider) == (0.3, 1, "scripted")
    assert "0.3s timeout" in str(error)
    assert "1 attempt)" in str(error)
    assert took < 2


class SelfTimed(Scripted):
    """Honours options.timeout itself: each attempt waits up to 0.15 s, then times out."""

    enforces_timeout = True

    async def query(self, prompt, options=None):
        self.seen.append(options)
        await anyio.sleep(min(0.15, options.timeout + 0.01))
        raise ClaifTimeoutError("idle timeout")
        yield  # pragma: no cover


async def test_timeout_error_names_the_limit_and_the_attempts():
    """When the time runs out over several attempts, the error says the limit and how many ran."""
    provider = SelfTimed()
    provider.retry_policy = RetryPolicy(sleep=provider.sleeps, random=lambda: 0.0)  # no backoff
    error, took = await timed(provider.query("hi", ClaifOptions(timeout=0.4, max_retries=10)))
    assert isinstance(error, ClaifTimeoutError)
    assert (error.timeout, error.attempts) == (0.4, 3)
    assert "no complete reply within the 0.4s timeout (3 attempts)" in str(error)
    assert provider.attempts == 3
    assert took < 1


class HangingConnect(Scripted):
    async def connect(self):
        self.connects += 1
        await anyio.sleep(30)


async def test_connect_that_hangs_is_bounded_by_the_timeout():
    """A connect that never returns is cut at the call's timeout, before any attempt."""
    provider = HangingConnect(["never"])
    error, took = await timed(provider.query("hi", ClaifOptions(timeout=0.3)))
    assert isinstance(error, ClaifTimeoutError)
    assert (error.timeout, error.attempts, error.provider) == (0.3, 0, "scripted")
    assert "0.3s timeout" in str(error)
    assert provider.attempts == 0
    assert took < 2


async def test_provider_sleeping_30s_ends_within_2s():
    """timeout=0.3 against a provider sleeping 30 s ends within 2 s, naming limit and attempts."""
    provider = Scripted(30)
    provider.retry_policy = None  # core's own policy and real sleeps
    error, took = await timed(provider.query("hi", ClaifOptions(timeout=0.3, max_retries=5)))
    assert isinstance(error, ClaifTimeoutError)
    assert error.timeout == 0.3
    assert error.attempts == provider.attempts == 1
    assert "0.3s timeout (1 attempt)" in str(error)
    assert took < 2
