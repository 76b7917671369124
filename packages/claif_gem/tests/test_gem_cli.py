"""The real claif-gem script and the umbrella claif, against the fake gemini binary."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from claif.testing import claif_home_env, run_script
from claif.testing.executable import Run
from claif_gem.testing import FakeGemini

SCRIPT = Path(sys.executable).with_name("claif-gem")
CLAIF = Path(sys.executable).with_name("claif")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GEMINI_")}
    return {**env, "NO_COLOR": "1", **claif_home_env(tmp_path)}


def run(*args: str, env: dict[str, str], script: Path = SCRIPT):
    return run_script([script], *args, env=env)


def test_health_names_binary_and_version(fake: FakeGemini, env):
    """`claif-gem health --cli-path P` runs P --version and prints it."""
    fake.enqueue(Run().line("0.61.0"))
    done = run("health", "--cli-path", str(fake.path), env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"gemini: ok {fake.path} 0.61.0"


def test_health_without_a_binary_says_how_to_install(env, tmp_path: Path):
    """No gemini on PATH: exit 2 with the npm command."""
    done = run("health", env={**env, "PATH": str(tmp_path)})
    assert done.returncode == 2
    assert "npm install -g @google/gemini-cli" in done.stderr


def test_options_the_cli_cannot_take_are_refused(fake: FakeGemini, env):
    """--temperature and --max-tokens: exit 2 naming the option; the CLI never runs."""
    for flag, value in (("--temperature", "0.2"), ("--max-tokens", "5")):
        done = run("query", "hi", flag, value, "--cli-path", str(fake.path), env=env)
        assert done.returncode == 2, done.stderr
        assert "cannot honour" in done.stderr
    assert fake.calls() == []


def test_models_is_not_a_command(env):
    """The Gemini CLI lists no models, so claif-gem offers no models command."""
    done = run("models", env=env)
    assert done.returncode == 2
    assert "has no command 'models'" in done.stderr


def test_approval_mode_flag_reaches_the_cli(fake: FakeGemini, env):
    """--approval-mode is a checked flag of claif-gem; its value reaches gemini."""
    done = run("query", "hi", "--approval-mode", "plan", "--cli-path", str(fake.path), env=env)
    assert done.returncode == 0, done.stderr
    assert fake.calls()[0].option("--approval-mode") == "plan"
    done = run("query", "hi", "--approval-mode", "always", "--cli-path", str(fake.path), env=env)
    assert done.returncode == 2
    assert "approval_mode" in done.stderr


def test_the_umbrella_command_finds_gemini(fake: FakeGemini, env):
    """`claif query -p gemini` goes through the entry point to the same provider."""
    done = run(
        "query", "-p", "gemini", "hi", env={**env, "GEMINI_CLI_PATH": str(fake.path)}, script=CLAIF
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello from the fake Gemini CLI.\n"
