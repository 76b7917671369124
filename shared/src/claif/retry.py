"""When the core call path tries again, and how long it waits first.

Only errors marked ``retryable`` are retried (connection failures, timeouts,
408, 409, 429, 5xx), with exponential backoff and full jitter, capped. A
backend's Retry-After (on any retryable error) replaces the backoff, up to
``max_retry_after``; a longer wait is not slept through but raised, carrying
it. A wait that does not fit in what is left of the call's timeout ends the
call the same way. The loop itself lives in :mod:`claif.providers._call`: once
a Message has been yielded it never retries, since a second attempt would
repeat output.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ._deadline import Deadline
from .common.errors import ClaifError

__all__ = ["RetryPolicy", "backoff_delay"]


async def _anyio_sleep(seconds: float) -> None:
    import anyio  # here, not at import: importing core stays light

    await anyio.sleep(seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait; ``sleep`` and ``random`` are swappable for tests.

    How often to retry is the caller's: ``ClaifOptions.max_retries``.
    """

    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=_anyio_sleep, repr=False)
    random: Callable[[], float] = field(default=random.random, repr=False)


_DEFAULT = RetryPolicy()


# Set by claif.testing.fast_retries(): replaces every provider's policy (not an explicit one).
_testing_policy: RetryPolicy | None = None


def active_policy(explicit: RetryPolicy | None, provider: object) -> RetryPolicy:
    """The policy a call uses: the caller's, else test mode's, else the provider's, else core's."""
    if explicit is not None:
        return explicit
    if _testing_policy is not None:
        return _testing_policy
    declared = getattr(provider, "retry_policy", None)
    return declared if isinstance(declared, RetryPolicy) else _DEFAULT


def set_testing_policy(policy: RetryPolicy | None) -> RetryPolicy | None:
    """Install (or with None remove) the test-mode policy; returns the one it replaces."""
    global _testing_policy
    previous, _testing_policy = _testing_policy, policy
    return previous


def backoff_delay(attempt: int, policy: RetryPolicy) -> float:
    """Full jitter: a uniform wait between 0 and the capped exponential step."""
    ceiling = min(policy.max_delay, policy.base_delay * (2.0**attempt))
    return policy.random() * ceiling


def retry_wait(
    error: ClaifError, attempt: int, max_retries: int, policy: RetryPolicy, deadline: Deadline
) -> float | None:
    """Seconds to wait before retrying after ``error``, or None when the call must end.

    ``attempt`` counts the retries made so far, out of ``max_retries``. When the
    wait is too long (over ``max_retry_after``, or past the deadline) the error
    is given the wait as ``retry_after`` so the caller can see it, and None
    comes back.
    """
    if not error.retryable or attempt >= max_retries:
        return None
    asked = error.retry_after
    wait = asked if asked is not None else backoff_delay(attempt, policy)
    if (asked is not None and asked > policy.max_retry_after) or not deadline.fits(wait):
        error.retry_after = wait
        return None
    return wait
