"""Fixtures: a fresh fake ``gemini`` per test, and a private claif home."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from claif.testing import isolate_claif
from claif_gem.testing import FakeGemini, GeminiHarness


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeGemini]:
    """A fresh fake gemini; after the test, none of its processes may be left alive."""
    binary = FakeGemini(tmp_path / "bin")
    yield binary
    deadline = time.monotonic() + 5
    while binary.live_processes() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert binary.live_processes() == 0, "a fake gemini (or a child of it) outlived its test"


@pytest.fixture
def harness(fake: FakeGemini) -> GeminiHarness:
    return GeminiHarness(fake)


@pytest.fixture(autouse=True)
def private_claif_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sessions, config and keys of these tests live in their own folder."""
    clear = ("GEMINI_CLI_PATH", "GEMINI_MODEL", "GEMINI_APPROVAL_MODE", "GEMINI_CWD")
    isolate_claif(monkeypatch, tmp_path, clear=clear)
