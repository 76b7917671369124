"""Every provider is found through its entry point, cheaply, and answers through ``claif``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from claif.testing import Harness, claif_home_env, run_script

CLAIF = Path(sys.executable).with_name("claif")
NAMES = {
    "myprovider": "claif_myprovider",
    "gemini": "claif_gem",
    "claude": "claif_cla",
    "codex": "claif_cod",
}


def env_for(tmp_path: Path, harness: Harness | None = None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE_", "GEMINI_", "CODEX_"))
    }
    env.update(NO_COLOR="1", **claif_home_env(tmp_path))
    if harness is not None:
        env.update(harness.cli_environment())
    return env


def test_claif_providers_lists_all_four_without_importing_them(tmp_path):
    """The listing reads entry-point metadata only: no provider package is imported."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "from claif.cli.main import main; main()",
         "providers"],
        env=env_for(tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = {line.split("\t")[0] for line in done.stdout.splitlines() if line.strip()}
    assert set(NAMES) <= listed
    imported = set(re.findall(r"\|\s+(\S+)\s*$", done.stderr, re.MULTILINE))
    assert "claif.cli.main" in imported  # importtime did report what was imported
    assert not {m for m in imported if m.split(".")[0] in set(NAMES.values()) | {"anthropic"}}


@pytest.fixture
def harnesses(tmp_path: Path) -> Iterator[dict[str, Harness]]:
    """Each provider's own conformance harness over its own fake, running."""
    from claif_cla.testing import ClaudeHarness, FakeAnthropic
    from claif_cod.testing import CodexHarness, FakeCodex
    from claif_gem.testing import FakeGemini, GeminiHarness
    from claif_myprovider.testing import FakeBackend, MyProviderHarness

    with ExitStack() as stack:
        yield {
            "myprovider": MyProviderHarness(stack.enter_context(FakeBackend())),
            "gemini": GeminiHarness(FakeGemini(tmp_path / "gemini")),
            "claude": ClaudeHarness(stack.enter_context(FakeAnthropic())),
            "codex": CodexHarness(FakeCodex(tmp_path / "codex")),
        }


@pytest.mark.parametrize("name", sorted(NAMES))
def test_claif_query_reaches_each_provider_through_its_entry_point(name, harnesses, tmp_path):
    harness = harnesses[name]
    harness.reply(["Through ", "the entry point."], model="m")
    done = run_script([CLAIF], "query", "-p", name, "hi", env=env_for(tmp_path, harness))
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Through the entry point.\n"
