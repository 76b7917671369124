"""Fixtures: a fresh fake ``codex`` per test, and a private claif home."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from claif.testing import isolate_claif
from claif_cod.testing import CodexHarness, FakeCodex

SETTINGS_VARIABLES = (
    "CODEX_CLI_PATH",
    "CODEX_MODEL",
    "CODEX_SANDBOX",
    "CODEX_CWD",
    "CODEX_HOME",
    "CODEX_CONFIG_OVERRIDES",
    "CODEX_EXTRA_ENV",
    "CODEX_SKIP_GIT_REPO_CHECK",
)


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeCodex]:
    """A fresh fake codex; after the test, none of its processes may be left alive."""
    binary = FakeCodex(tmp_path / "bin")
    yield binary
    deadline = time.monotonic() + 5
    while binary.live_processes() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert binary.live_processes() == 0, "a fake codex (or a child of it) outlived its test"


@pytest.fixture
def harness(fake: FakeCodex) -> CodexHarness:
    return CodexHarness(fake)


@pytest.fixture(autouse=True)
def private_claif_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_claif(monkeypatch, tmp_path, clear=SETTINGS_VARIABLES)
