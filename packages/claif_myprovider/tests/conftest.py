"""Fixtures: an isolated config, a running fake backend, a provider pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from claif.testing import isolate_claif
from claif_myprovider import MyProvider
from claif_myprovider.testing import FakeBackend


@pytest.fixture(autouse=True)
def isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """No developer's key, URL or config file leaks into a test."""
    names = ("API_KEY", "BASE_URL", "MODEL", "IDLE_TIMEOUT", "CONNECT_TIMEOUT")
    isolate_claif(monkeypatch, tmp_path, clear=[f"MYPROVIDER_{name}" for name in names])


@pytest.fixture
def backend() -> Iterator[FakeBackend]:
    with FakeBackend() as running:
        yield running


@pytest.fixture
async def provider(backend: FakeBackend) -> AsyncIterator[MyProvider]:
    instance = MyProvider(base_url=backend.url, idle_timeout=5.0)
    try:
        yield instance
    finally:
        await instance.disconnect()
