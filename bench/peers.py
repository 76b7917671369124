"""Benchmark-only peers (the openai SDK, llm) live in their own throwaway environments.

They are never installed into the workspace: once click sits beside httpx and
rich, ``import httpx`` also loads httpx's CLI and every start-up figure shifts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def uv_command() -> list[str]:
    """uv from PATH, else the copy pip installed as a module."""
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


PEERS_DIR = Path(__file__).resolve().parent / ".peers"


def peer_env(name: str, *packages: str) -> Path:
    """The bin folder of a virtual environment of its own holding ``packages``.

    Kept under bench/.peers (ignored by git) so repeated runs reuse it.
    """
    venv = PEERS_DIR / name
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": str(venv)}
    if not (venv / "bin" / "python").exists():
        subprocess.run(
            [*uv_command(), "venv", "--quiet", "--python", sys.executable, str(venv)],
            check=True,
            env=env,
        )
    subprocess.run([*uv_command(), "pip", "install", "--quiet", *packages], check=True, env=env)
    return venv / "bin"
