"""A private claif home for a test: its own config file, key store, sessions and cache."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["claif_home_env", "isolate_claif"]


def claif_home_env(folder: str | os.PathLike[str]) -> dict[str, str]:
    """The environment that keeps claif's files under ``folder`` (for a child process)."""
    root = Path(folder)
    return {
        "CLAIF_CONFIG": str(root / "config.toml"),
        "CLAIF_KEYS": str(root / "keys.json"),
        "CLAIF_SESSIONS_DIR": str(root / "sessions"),
        "XDG_CACHE_HOME": str(root / "cache"),
    }


def isolate_claif(
    monkeypatch: Any, folder: str | os.PathLike[str], *, clear: Iterable[str] = ()
) -> None:
    """Point this process's claif files at ``folder`` and unset ``clear`` (a provider's
    variables), so no developer's key, config or session leaks into a test."""
    for name, value in claif_home_env(folder).items():
        monkeypatch.setenv(name, value)
    for name in clear:
        monkeypatch.delenv(name, raising=False)
