"""Harnesses that put in-process providers (MockProvider, a guide-style one) through the suite.

Their "backend" is a queue of scripted outcomes shared by every provider the
harness makes; what they cannot imitate (a stall, a cut stream) they refuse
with Unsupported, and the suite skips those tests with the reason.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from claif.common import (
    AuthenticationError,
    Message,
    ProviderError,
    RateLimitError,
    Role,
    ToolResultBlock,
    ToolUseBlock,
    TransportError,
)
from claif.common.types import make_usage
from claif.testing import MockProvider, SentRequest, Unsupported

from .call_fixtures import GuideStyleProvider


def sent_from(prompt: str, options: Any) -> SentRequest:
    """What an in-process provider was given, in the suite's neutral terms."""
    history = list(options.history) if options else []
    texts = [message.text for message in history if message.text] + ([prompt] if prompt else [])
    results = [
        str(block.result)
        for message in history
        for block in message.content
        if isinstance(block, ToolResultBlock)
    ]
    return SentRequest(
        model=options.model if options else None,
        system=options.system_prompt if options else None,
        texts=texts,
        temperature=options.temperature if options else None,
        max_tokens=options.max_tokens if options else None,
        tool_names=[tool.name for tool in options.tools] if options else [],
        tool_results=results,
        image_count=len(options.images) if options else 0,
        extra=dict(options.extra) if options else {},
    )


class _Unreachable(MockProvider):
    async def connect(self) -> None:
        raise TransportError("connection refused (nothing listens)", provider=self.name)


class MockHarness:
    """MockProvider instances answering from one shared script."""

    def __init__(self) -> None:
        self.script: deque[Any] = deque()
        self.providers: list[MockProvider] = []
        self.model = "mock-model"

    def _made(self, provider: MockProvider) -> MockProvider:
        provider.replies = self.script
        provider.model = self.model
        self.providers.append(provider)
        return provider

    def make_provider(self) -> MockProvider:
        return self._made(MockProvider())

    def make_unreachable_provider(self) -> MockProvider:
        return self._made(_Unreachable())

    def reply(self, parts: Sequence[str], *, model: str) -> None:
        self._use(model)
        self.script.append(list(parts))

    def _use(self, model: str) -> None:
        self.model = model
        for provider in self.providers:
            provider.model = model

    def reply_with_usage(
        self, parts: Sequence[str], *, model: str, input_tokens: int, output_tokens: int
    ) -> None:
        self._use(model)
        usage = {"usage": make_usage(input_tokens, output_tokens)}
        self.script.append([*parts[:-1], Message(Role.ASSISTANT, parts[-1], usage)])

    def reply_with_tool_call(self, name: str, arguments: Mapping[str, Any], *, model: str) -> None:
        self._use(model)
        self.script.append(ToolUseBlock(name, dict(arguments), "call_1"))

    def auth_failure(self) -> None:
        self.script.append(AuthenticationError("invalid key", status=401))

    def rate_limited(self, retry_after: float) -> None:
        self.script.append(RateLimitError("slow down", status=429, retry_after=retry_after))

    def server_error_then_success(self, failures: int, parts: Sequence[str], *, model: str) -> None:
        for _ in range(failures):
            self.script.append(ProviderError("busy", status=503, retryable=True))
        self.reply(parts, model=model)

    def malformed_chunk(self) -> None:
        self.script.append(TransportError("malformed chunk from the backend"))

    def end_marker_then_hang(self, parts: Sequence[str], *, model: str) -> None:
        self.reply(parts, model=model)  # nothing of a mock can hang on after its reply

    def stall(self, *_: Any, **__: Any) -> None:
        raise Unsupported("a scripted mock cannot go quiet mid-reply")

    cut_mid_stream = error_in_stream = no_end_marker = stall

    def oversized_event(self) -> None:
        raise Unsupported("a mock has no wire events to oversize")

    def garbage(self, payload: Any) -> None:
        raise Unsupported("a mock has no wire format to garble")

    def requests(self) -> list[SentRequest]:
        return [
            sent_from(received.prompt, received.options)
            for provider in self.providers
            for received in provider.received
        ]

    def open_resources(self) -> int:
        return 0


class GuideHarness(MockHarness):
    """The guide-style provider: it streams scripted text and can do little else."""

    def __init__(self) -> None:
        super().__init__()
        self.guides: list[GuideStyleProvider] = []
        self.texts: list[list[str]] = []

    def make_provider(self) -> GuideStyleProvider:  # type: ignore[override]
        provider = GuideStyleProvider()
        provider.replies = self.texts
        self.guides.append(provider)
        return provider

    def reply(self, parts: Sequence[str], *, model: str) -> None:
        self.texts.append(list(parts))

    def requests(self) -> list[SentRequest]:
        raise Unsupported("the guide-style provider keeps no record of what it was asked")

    def _refuse(self, *_: Any, **__: Any) -> None:
        raise Unsupported("the guide-style provider only streams scripted text")

    make_unreachable_provider = reply_with_tool_call = auth_failure = rate_limited = _refuse
    reply_with_usage = _refuse
    server_error_then_success = malformed_chunk = end_marker_then_hang = _refuse
