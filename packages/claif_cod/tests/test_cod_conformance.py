"""Core's conformance suites, run against CodexProvider, claif-cod and the fake CLI."""

from __future__ import annotations

import pytest

from claif.testing import CLIConformance, ProviderConformance
from claif_cod.testing import CodexHarness


class TestCodexConformance(ProviderConformance):
    """The provider contract, every test on asyncio and trio."""

    @pytest.fixture
    def harness(self, harness: CodexHarness) -> CodexHarness:
        return harness


class TestCodexCLIConformance(CLIConformance):
    """The command-line contract, through the real claif-cod script."""

    @pytest.fixture
    def harness(self, harness: CodexHarness) -> CodexHarness:
        return harness
