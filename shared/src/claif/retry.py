"""The one retry loop every provider's queries go through.

Retries only errors marked ``retryable`` (connection failures, timeouts, 408,
409, 429, 5xx), with exponential backoff and full jitter, capped. A server's
Retry-After is honoured up to ``max_retry_after``; a longer wait is not slept
through but raised, as a RateLimitError carrying it. Once a Message has been
yielded the loop never retries: a second attempt would repeat output.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field

import anyio

from .common.errors import ClaifError, RateLimitError
from .common.types import Message

__all__ = ["RetryPolicy", "backoff_delay", "retrying"]

logger = logging.getLogger("claif.retry")


async def _anyio_sleep(seconds: float) -> None:
    await anyio.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait; ``sleep`` and ``random`` are swappable for tests."""

    max_retries: int = 2
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=_anyio_sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)


def backoff_delay(attempt: int, policy: RetryPolicy) -> float:
    """Full jitter: a uniform wait between 0 and the capped exponential step."""
    ceiling = min(policy.max_delay, policy.base_delay * (2.0**attempt))
    return policy.random() * ceiling


def _wait_for(error: ClaifError, attempt: int, policy: RetryPolicy) -> float:
    """The wait before the next attempt; raises ``error`` when the server wants too long."""
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        if error.retry_after > policy.max_retry_after:
            raise error
        return error.retry_after
    return backoff_delay(attempt, policy)


async def retrying(
    attempt_stream: Callable[[], AsyncIterator[Message]],
    policy: RetryPolicy,
    *,
    provider: str | None = None,
) -> AsyncIterator[Message]:
    """Yield from ``attempt_stream()``, starting it again on retryable errors before output."""
    attempt = 0
    while True:
        yielded = False
        try:
            async with aclosing(attempt_stream()) as stream:  # type: ignore[type-var]
                async for message in stream:
                    yielded = True
                    yield message
            return
        except ClaifError as error:
            if yielded or not error.retryable or attempt >= policy.max_retries:
                raise
            delay = _wait_for(error, attempt, policy)
            attempt += 1
            logger.info(
                "retrying after %s in %.2fs",
                type(error).__name__,
                delay,
                extra={"provider": provider, "attempt": attempt, "delay": delay},
            )
            await policy.sleep(delay)
