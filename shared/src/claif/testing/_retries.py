"""Fast retries for tests: every call path waits no time, and the waits it asked for are kept."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..retry import RetryPolicy, set_testing_policy

__all__ = ["RetryClock", "fast_retries"]


class RetryClock:
    """Records each wait the call path asked for instead of sleeping it."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)


@contextmanager
def fast_retries(*, jitter: float = 1.0) -> Iterator[RetryClock]:
    """Within the block, retries wait no time (the waits are recorded on the clock).

    Every provider's policy is replaced, as stamina's test mode does, except a
    policy a caller passes explicitly. ``jitter`` fixes the random factor of
    the backoff so recorded waits are exact.
    """
    clock = RetryClock()
    previous = set_testing_policy(RetryPolicy(sleep=clock.sleep, random=lambda: jitter))
    try:
        yield clock
    finally:
        set_testing_policy(previous)
