"""A provider written from the core README alone, put through the suite in another project.

This file is copied into a throwaway folder and run there with pytest-asyncio
in strict mode and no anyio setting, as a third-party provider's project would.
"""

from __future__ import annotations

from collections import deque

import pytest

from claif import BaseProvider, StreamAssembler
from claif.providers.capabilities import Capability
from claif.testing import ProviderConformance, SentRequest, Unsupported


class EchoBackend:
    """The provider's backend: answers from a script and remembers what it was sent."""

    def __init__(self):
        self.script = deque()
        self.sent = []


class ReadmeProvider(BaseProvider):
    name = "readme"
    capabilities = frozenset({Capability.TEXT, Capability.STREAMING})

    def __init__(self, backend):
        self.backend = backend

    async def query(self, prompt, options=None):
        self.backend.sent.append(
            SentRequest(
                model=options.model,
                texts=[prompt],
                temperature=options.temperature,
                max_tokens=options.max_tokens,
            )
        )
        parts, usage = self.backend.script.popleft()
        reply = StreamAssembler(provider=self.name, model=options.model or "readme-1")
        for part in parts:
            yield reply.text(part)
        if usage:
            reply.usage(*usage)
        reply.end()
        yield reply.final()


class ReadmeHarness:
    def __init__(self):
        self.backend = EchoBackend()

    def make_provider(self):
        return ReadmeProvider(self.backend)

    def reply(self, parts, *, model):
        self.backend.script.append((list(parts), None))

    def reply_with_usage(self, parts, *, model, input_tokens, output_tokens):
        self.backend.script.append((list(parts), (input_tokens, output_tokens)))

    def requests(self):
        return list(self.backend.sent)

    def open_resources(self):
        return 0

    def __getattr__(self, name):
        def unsupported(*args, **kwargs):
            raise Unsupported(f"this in-memory backend has no {name}")

        return unsupported


class TestReadmeProvider(ProviderConformance):
    @pytest.fixture
    def harness(self):
        return ReadmeHarness()
