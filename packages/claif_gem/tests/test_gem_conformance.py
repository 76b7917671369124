"""Core's conformance suites, run against GeminiProvider, claif-gem and the fake CLI."""

from __future__ import annotations

import pytest

from claif.testing import CLIConformance, ProviderConformance
from claif_gem.testing import GeminiHarness


class TestGeminiConformance(ProviderConformance):
    """The provider contract, every test on asyncio and trio."""

    @pytest.fixture
    def harness(self, harness: GeminiHarness) -> GeminiHarness:
        return harness


class TestGeminiCLIConformance(CLIConformance):
    """The command-line contract, through the real claif-gem script."""

    @pytest.fixture
    def harness(self, harness: GeminiHarness) -> GeminiHarness:
        return harness
