"""The core README's examples run, in order, in one namespace: the docs cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks() -> list[str]:
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def test_readme_has_examples():
    """The README shows the call path, deadline, assembler, bounds, settings and sessions."""
    text = "\n".join(python_blocks())
    for name in ("ClaifTimeoutError", "StreamAssembler", "SSEDecoder", "resolve_settings"):
        assert name in text
    assert "session_id=" in text


def test_readme_examples_run(tmp_path, monkeypatch):
    """Every Python block of the README runs without error, each after the ones before it."""
    monkeypatch.setenv("CLAIF_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("CLAIF_KEYS", str(tmp_path / "keys.json"))
    monkeypatch.setenv("CLAIF_SESSIONS_DIR", str(tmp_path / "sessions"))
    monkeypatch.delenv("SHOUT_VOLUME", raising=False)
    namespace: dict[str, object] = {"__name__": "readme"}
    for index, block in enumerate(python_blocks()):
        try:
            exec(compile(block, f"README block {index}", "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 -- reported with the block that failed
            pytest.fail(f"README block {index} failed: {exc!r}\n{block}")
