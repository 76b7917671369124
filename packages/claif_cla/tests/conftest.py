"""Fixtures: a fake Messages API per test, and a private claif home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from claif.testing import isolate_claif
from claif_cla.testing import ClaudeHarness, FakeAnthropic


@pytest.fixture
def api() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as running:
        yield running


@pytest.fixture
def harness(api: FakeAnthropic) -> ClaudeHarness:
    return ClaudeHarness(api)


@pytest.fixture(autouse=True)
def private_claif_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clear = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CLAUDE_MODEL", "ANTHROPIC_AUTH_TOKEN")
    isolate_claif(monkeypatch, tmp_path, clear=clear)
