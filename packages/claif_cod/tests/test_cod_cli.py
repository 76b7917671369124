"""The real claif-cod script and the umbrella claif, against the fake codex binary."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from claif.testing import claif_home_env, run_script
from claif.testing.executable import Run
from claif_cod.testing import FakeCodex

SCRIPT = Path(sys.executable).with_name("claif-cod")
CLAIF = Path(sys.executable).with_name("claif")


@pytest.fixture
def env(fake: FakeCodex, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_")}
    return {**env, "NO_COLOR": "1", "CODEX_CLI_PATH": str(fake.path), **claif_home_env(tmp_path)}


def test_health_names_binary_and_version(fake: FakeCodex, env):
    fake.enqueue(Run().line("codex-cli 0.171.0"))
    done = run_script([SCRIPT], "health", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"codex: ok {fake.path} codex-cli 0.171.0"


def test_health_without_a_binary_says_how_to_install(env, tmp_path: Path):
    env.pop("CODEX_CLI_PATH")
    done = run_script([SCRIPT], "health", env={**env, "PATH": str(tmp_path)})
    assert done.returncode == 2
    assert "npm install -g @openai/codex" in done.stderr


def test_sandbox_and_cd_flags_reach_the_cli(fake: FakeCodex, env, tmp_path: Path):
    done = run_script(
        [SCRIPT], "query", "list files", "--sandbox", "workspace-write", "--cd", str(tmp_path),
        env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    call = fake.calls()[0]
    assert call.option("--sandbox") == "workspace-write"
    assert call.option("--cd") == str(tmp_path)
    assert call.text == "list files"


def test_a_bad_sandbox_or_folder_is_refused_before_the_agent_runs(fake: FakeCodex, env, tmp_path):
    done = run_script([SCRIPT], "query", "hi", "--sandbox", "yolo", env=env)
    assert done.returncode == 2
    assert "sandbox" in done.stderr
    assert "'read-only', 'workspace-write', 'danger-full-access', got 'yolo'" in done.stderr
    done = run_script([SCRIPT], "query", "hi", "--cd", str(tmp_path / "missing"), env=env)
    assert done.returncode == 2
    assert "missing" in done.stderr
    assert fake.calls() == []


def test_the_help_shows_the_codex_flags(env):
    done = run_script([SCRIPT], "query", "--help", env=env)
    assert done.returncode == 0
    assert "--sandbox MODE" in done.stdout
    assert "--cd DIR" in done.stdout


def test_the_agents_work_shows_in_json_lines(fake: FakeCodex, env):
    run = fake.opening().then(fake.command("ls", "a.txt\n")).then(fake.finish(["One file."]))
    fake.enqueue(run)
    done = run_script([SCRIPT], "query", "what is here?", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert '"tool_use"' in done.stdout
    assert '"tool_result"' in done.stdout
    assert "One file." in done.stdout


def test_the_umbrella_command_finds_codex(fake: FakeCodex, env):
    done = run_script([CLAIF], "query", "-p", "codex", "hi", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello from the fake Codex CLI.\n"
