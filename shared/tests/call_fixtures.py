"""In-process providers for tests of the call path: each attempt plays a scripted outcome."""

from __future__ import annotations

import anyio

from claif.common.errors import TransportError
from claif.common.options import ClaifOptions
from claif.common.types import Message, Role, TextBlock
from claif.providers.base import BaseProvider
from claif.retry import RetryPolicy


class FakeSleep:
    """A RetryPolicy sleep that records each wait instead of sleeping."""

    def __init__(self):
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    def policy(self, **kwargs) -> RetryPolicy:
        """A policy on this fake clock whose jitter always takes the full step."""
        return RetryPolicy(sleep=self, random=lambda: 1.0, **kwargs)


class Scripted(BaseProvider):
    """Attempt N plays outcome N (the last one repeats); ``seen`` keeps each attempt's options.

    An outcome is a list of steps, or one step: a str or Message is yielded, an
    exception raised, a number slept in real time. Backoff waits are recorded in
    ``sleeps``, not slept, unless a test sets ``retry_policy``.
    """

    name = "scripted"

    def __init__(self, *outcomes, capabilities=("text", "streaming")):
        self.outcomes = outcomes
        self.capabilities = frozenset(capabilities)
        self.seen: list[ClaifOptions | None] = []
        self.connects = 0
        self.sleeps = FakeSleep()
        self.retry_policy = self.sleeps.policy()

    @property
    def attempts(self) -> int:
        return len(self.seen)

    async def connect(self):
        self.connects += 1

    async def query(self, prompt, options=None):
        self.seen.append(options)
        outcome = self.outcomes[min(len(self.seen), len(self.outcomes)) - 1]
        for step in outcome if isinstance(outcome, list) else [outcome]:
            if isinstance(step, BaseException):
                raise step
            if isinstance(step, int | float):
                await anyio.sleep(step)
                continue
            yield step if isinstance(step, Message) else Message(Role.ASSISTANT, step)


class GuideStyleProvider(BaseProvider):
    """Written the way the plugin guide shows: no super().__init__, properties, own query.

    It honours stream=False, which the guide leaves out and the contract requires.
    Each attempt plays the next of ``replies`` (an echo of the prompt when none is
    left); the first ``failures`` attempts fail as a flaky backend would.
    """

    def __init__(self, failures: int = 0):
        self._connected = False
        self.replies: list[list[str]] = []
        self.failures = failures
        self.calls = 0
        self.connects = 0

    @property
    def name(self) -> str:
        return "guide"

    @property
    def capabilities(self) -> set[str]:
        return {"text", "streaming"}

    async def connect(self) -> None:
        self.connects += 1
        self._connected = True

    async def disconnect(self) -> None:
        self._connected = False

    async def query(self, prompt, options=None):
        self.calls += 1
        if not self._connected:
            await self.connect()
        if self.calls <= self.failures:
            raise TransportError("connection reset")
        parts = self.replies.pop(0) if self.replies else [f"echo: {prompt}"]
        if options is not None and not options.stream:
            parts = ["".join(parts)]
        for index, text in enumerate(parts):
            metadata = {}
            if index == len(parts) - 1:
                metadata = {"model": "guide-1", "finish_reason": "stop"}  # usage unknown
            yield Message(role=Role.ASSISTANT, content=[TextBlock(text=text)], metadata=metadata)
