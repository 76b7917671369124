"""The conformance suite every provider's tests subclass.

A provider's test module writes::

    class TestMyProviderConformance(ProviderConformance):
        @pytest.fixture
        def harness(self, fake_backend) -> ConformanceHarness:
            return MyHarness(fake_backend)

and inherits one test per rule of the contract. Tests that need a capability
the provider does not declare are skipped by those declarations, not by hand.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import pytest

from ..common.errors import ValidationError
from ..common.options import ClaifOptions
from ..common.types import (
    META_FINISH_REASON,
    META_MODEL,
    META_USAGE,
    ImageBlock,
    Message,
    Role,
    TextBlock,
    Tool,
)
from ..host import query as host_query
from ..providers.capabilities import Capability, capabilities_of

__all__ = ["ConformanceHarness", "ProviderConformance", "TINY_PNG"]

# The smallest valid PNG (1x1, transparent): enough for a vision request.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


class ConformanceHarness(Protocol):
    """What a provider's tests hand the suite: a provider and a scriptable fake backend."""

    def make_provider(self) -> Any:
        """A new, unconnected provider pointed at the fake backend."""

    def script_text(self, parts: list[str], *, model: str) -> None:
        """Make the backend's next reply these text parts, streamed in order."""

    def request_count(self) -> int:
        """How many requests (or child processes) the backend has seen so far."""


async def _drain(stream: AsyncIterator[Message]) -> list[Message]:
    return [message async for message in stream]


class ProviderConformance:
    """Contract tests; a subclass provides the ``harness`` fixture."""

    model = "conformance-model"

    @pytest.fixture
    def harness(self) -> ConformanceHarness:
        raise NotImplementedError("a conformance subclass must provide a `harness` fixture")

    @pytest.fixture
    async def provider(self, harness: ConformanceHarness) -> AsyncIterator[Any]:
        provider = harness.make_provider()
        try:
            yield provider
        finally:
            await provider.disconnect()

    def _require(self, provider: Any, capability: Capability) -> None:
        if capability not in capabilities_of(provider):
            pytest.skip(f"provider does not declare {capability.value!r}")

    async def test_stream_joins_to_full_text(
        self, harness: ConformanceHarness, provider: Any
    ) -> None:
        """Streamed assistant Messages arrive in order and join to the whole reply."""
        harness.script_text(["Hel", "lo", ", wor", "ld"], model=self.model)
        messages = await _drain(host_query(provider, "Say hello", ClaifOptions(model=self.model)))
        assert messages, "the stream yielded nothing"
        assert all(message.role is Role.ASSISTANT for message in messages)
        assert "".join(message.text for message in messages) == "Hello, world"

    async def test_last_message_carries_metadata(
        self, harness: ConformanceHarness, provider: Any
    ) -> None:
        """The last Message carries model, finish_reason and integer token usage."""
        harness.script_text(["one ", "two"], model=self.model)
        messages = await _drain(host_query(provider, "Count", ClaifOptions(model=self.model)))
        metadata = messages[-1].metadata
        assert metadata.get(META_MODEL)
        assert metadata.get(META_FINISH_REASON)
        usage = metadata.get(META_USAGE)
        assert isinstance(usage, dict)
        assert {"input_tokens", "output_tokens", "total_tokens"} <= usage.keys()
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]

    async def test_streams_text_in_several_messages(
        self, harness: ConformanceHarness, provider: Any
    ) -> None:
        """A provider that declares streaming yields a multi-part reply as several Messages."""
        self._require(provider, Capability.STREAMING)
        harness.script_text(["a", "b", "c", "d"], model=self.model)
        messages = await _drain(host_query(provider, "Letters", ClaifOptions(model=self.model)))
        assert len([message for message in messages if message.text]) >= 2

    async def test_stream_false_yields_one_message(
        self, harness: ConformanceHarness, provider: Any
    ) -> None:
        """With stream=False exactly one Message comes, holding the whole text and metadata."""
        options = ClaifOptions(model=self.model, stream=False)
        for run in (provider.query, lambda *args: host_query(provider, *args)):
            harness.script_text(["Hel", "lo"], model=self.model)
            messages = await _drain(run("Say hello", options))
            assert len(messages) == 1
            assert messages[0].text == "Hello"
            assert messages[0].metadata.get(META_FINISH_REASON)

    @pytest.mark.parametrize(
        ("capability", "options"),
        [
            (Capability.VISION, {"images": [ImageBlock(TINY_PNG, "image/png")]}),
            (Capability.TOOLS, {"tools": [Tool("noop", "does nothing", {"type": "object"})]}),
            (Capability.SESSIONS, {"history": [Message(Role.USER, [TextBlock("earlier")])]}),
        ],
    )
    async def test_missing_capability_refused_before_io(
        self,
        harness: ConformanceHarness,
        provider: Any,
        capability: Capability,
        options: dict[str, Any],
    ) -> None:
        """Options needing an undeclared capability raise ValidationError and send nothing."""
        if capability in capabilities_of(provider):
            pytest.skip(f"provider declares {capability.value!r}")
        before = harness.request_count()
        claif_options = ClaifOptions(model=self.model, **options)
        with pytest.raises(ValidationError):
            await _drain(host_query(provider, "hi", claif_options))
        with pytest.raises(ValidationError):
            await _drain(provider.query("hi", claif_options))
        assert harness.request_count() == before

    async def test_connect_and_disconnect_are_idempotent(
        self, harness: ConformanceHarness, provider: Any
    ) -> None:
        """connect() and disconnect() may each be called twice, and the provider works after."""
        await provider.connect()
        await provider.connect()
        harness.script_text(["ok"], model=self.model)
        messages = await _drain(host_query(provider, "ping", ClaifOptions(model=self.model)))
        assert "".join(message.text for message in messages) == "ok"
        await provider.disconnect()
        await provider.disconnect()

    async def test_async_with_connects_and_disconnects(self, harness: ConformanceHarness) -> None:
        """``async with provider`` works and leaves it usable again later."""
        provider = harness.make_provider()
        harness.script_text(["first"], model=self.model)
        async with provider:
            first = await _drain(host_query(provider, "one", ClaifOptions(model=self.model)))
        harness.script_text(["second"], model=self.model)
        async with provider:
            second = await _drain(host_query(provider, "two", ClaifOptions(model=self.model)))
        assert "".join(m.text for m in first) == "first"
        assert "".join(m.text for m in second) == "second"
