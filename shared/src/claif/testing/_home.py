"""A private claif home for a test (its own config file, key store, sessions and cache),
and running a console script in it as a child process."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["claif_home_env", "isolate_claif", "run_script"]


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


def run_script(
    command: Sequence[str | os.PathLike[str]],
    *args: str,
    env: Mapping[str, str],
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with ``args`` as a child, text in and out; no stdin unless given."""
    return subprocess.run(
        [os.fspath(word) for word in command] + list(args),
        env=dict(env),
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
