"""Core's conformance suites, run against ClaudeProvider (the real SDK) and claif-cla."""

from __future__ import annotations

import pytest

from claif.testing import CLIConformance, ProviderConformance
from claif_cla.testing import ClaudeHarness


class TestClaudeConformance(ProviderConformance):
    """The provider contract, every test on asyncio and trio."""

    @pytest.fixture
    def harness(self, harness: ClaudeHarness) -> ClaudeHarness:
        return harness


class TestClaudeCLIConformance(CLIConformance):
    """The command-line contract, through the real claif-cla script."""

    @pytest.fixture
    def harness(self, harness: ClaudeHarness) -> ClaudeHarness:
        return harness
