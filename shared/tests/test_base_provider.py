"""BaseProvider, host-side checks and the conformance suite on in-process providers."""

from __future__ import annotations

import pytest

from claif.common import ClaifOptions, ProviderError, TransportError, ValidationError
from claif.host import ask, ask_sync, query
from claif.providers.base import BaseProvider
from claif.providers.capabilities import Capability, capabilities_of
from claif.retry import RetryPolicy
from claif.streaming import collect
from claif.testing import MockProvider, ProviderConformance
from claif.testing.conformance import TINY_PNG

from .call_fixtures import GuideStyleProvider
from .conformance_harnesses import GuideHarness, MockHarness


class TestGuideStyleConformance(ProviderConformance):
    """A provider written straight from the guide passes the suite."""

    @pytest.fixture
    def harness(self):
        return GuideHarness()


class TestMockConformance(ProviderConformance):
    """MockProvider passes the suite it is used to test."""

    @pytest.fixture
    def harness(self):
        return MockHarness()


def test_guide_provider_capabilities_read_from_property():
    """A capabilities property holding plain strings is understood."""
    assert capabilities_of(GuideStyleProvider()) == {Capability.TEXT, Capability.STREAMING}


def test_unknown_capability_is_refused():
    """A provider declaring a word outside the vocabulary fails the check, naming it."""

    class Odd(MockProvider):
        capabilities = frozenset({"text", "telepathy"})

    with pytest.raises(ValidationError, match="telepathy"):
        capabilities_of(Odd())


def test_query_must_be_async_generator():
    """A subclass whose query is not an async generator is rejected at class creation."""
    with pytest.raises(TypeError, match="async generator"):

        class Bad(BaseProvider):
            async def query(self, prompt, options=None):
                return []


async def test_direct_query_refuses_images_without_vision():
    """Calling a provider's own query with images it cannot see fails before its body runs."""
    provider = GuideStyleProvider()
    with pytest.raises(ValidationError) as info:
        await collect(provider.query("look", ClaifOptions(images=[_png()])))
    assert info.value.field == "images"
    assert provider.calls == 0


async def test_host_retries_before_output_with_options_max_retries():
    """The host wraps the provider in the retry loop, honouring options.max_retries."""
    provider = MockProvider([TransportError("refused"), TransportError("refused"), "fine"])
    sleeps = []

    async def sleep(seconds):
        sleeps.append(seconds)

    reply = await ask(provider, "hi", ClaifOptions(max_retries=2), policy=RetryPolicy(sleep=sleep))
    assert reply.text == "fine"
    assert len(sleeps) == 2


async def test_host_connects_provider():
    """host.query connects the provider before querying."""
    provider = MockProvider(["x"])
    await ask(provider, "hi")
    assert provider.connect_calls == 1


async def test_collect_merges_text_and_keeps_metadata():
    """collect joins text parts and keeps the last metadata."""
    provider = MockProvider([["a", "b"]])
    reply = await collect(query(provider, "hi"))
    assert reply.text == "ab"
    assert reply.metadata["finish_reason"] == "stop"


async def test_collect_of_empty_stream_is_error():
    """A provider that yields nothing has failed."""

    async def empty():
        return
        yield  # pragma: no cover

    with pytest.raises(ProviderError, match="without a single message"):
        await collect(empty())


def test_ask_sync_serves_scripts():
    """ask_sync runs a query without an event loop and disconnects afterwards."""
    provider = MockProvider(["sync hello"])
    assert ask_sync(provider, "hi").text == "sync hello"
    assert provider.disconnect_calls == 1


async def test_typed_errors_pass_through_host_unchanged():
    """A RateLimitError stays a RateLimitError through the host and retry loop."""
    from claif.common import RateLimitError

    provider = MockProvider([RateLimitError("slow", retry_after=999)])
    with pytest.raises(RateLimitError) as info:
        await ask(provider, "hi")
    assert info.value.retry_after == 999


def _png():
    from claif.common.types import ImageBlock

    return ImageBlock(TINY_PNG, "image/png")
