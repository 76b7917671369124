"""The real ``claif-myp`` console script, run as a child process against the fake backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claif_myprovider.testing import FakeBackend, FakeFailure, FakeReply, refused_url

SCRIPT = Path(sys.executable).with_name("claif-myp")


def run(args: list[str], base_url: str, tmp_path: Path, stdin: str | None = None):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("MYPROVIDER_") and key not in ("FORCE_COLOR", "CLICOLOR_FORCE")
    }
    env.update(
        MYPROVIDER_BASE_URL=base_url,
        CLAIF_CONFIG=str(tmp_path / "config.toml"),
        CLAIF_KEYS=str(tmp_path / "keys.json"),
        NO_COLOR="1",
        COLUMNS="200",
    )
    return subprocess.run(
        [str(SCRIPT), *args], input=stdin, capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture
def backend():
    with FakeBackend() as running:
        yield running


def test_query_streams_the_reply(backend, tmp_path):
    """`claif-myp query Hi` prints the reply and exits 0."""
    result = run(["query", "Hi"], backend.url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Hello from the fake backend."


def test_query_json_prints_json_lines(backend, tmp_path):
    """--json prints one JSON object per message, the last with usage."""
    result = run(["query", "Hi", "--json"], backend.url, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) >= 2
    assert "usage" in json.dumps(lines[-1])


def test_prompt_dash_reads_stdin(backend, tmp_path):
    """A prompt of - is read from standard input and sent to the server."""
    result = run(["query", "-"], backend.url, tmp_path, stdin="from standard input\n")
    assert result.returncode == 0, result.stderr
    sent = backend.chat_requests[-1].json()["messages"][-1]["content"]
    assert sent.strip() == "from standard input"


def test_model_and_system_flags_reach_the_server(backend, tmp_path):
    """--model and --system are sent in the request."""
    result = run(["query", "Hi", "--model", "m-cli", "--system", "Be kind."], backend.url, tmp_path)
    assert result.returncode == 0, result.stderr
    body = backend.chat_requests[-1].json()
    assert body["model"] == "m-cli"
    assert body["messages"][0] == {"role": "system", "content": "Be kind."}


def test_provider_error_exits_1_with_one_line(backend, tmp_path):
    """A 401 exits 1 with a single error line and no traceback."""
    backend.enqueue(FakeFailure.json_error(401, "Incorrect API key provided"))
    result = run(["query", "Hi"], backend.url, tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "Incorrect API key provided" in result.stderr
    assert result.stderr.strip().startswith("error:")


def test_user_mistake_exits_2_with_one_line(backend, tmp_path):
    """A bad option value exits 2 with one line naming it, and sends nothing."""
    result = run(["query", "Hi", "--temperature", "5"], backend.url, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "temperature" in result.stderr
    assert backend.chat_requests == []


def test_missing_key_for_remote_url_exits_2(tmp_path):
    """No key for a remote URL exits 2 naming MYPROVIDER_API_KEY, before any network use."""
    result = run(["query", "Hi"], "https://api.example.invalid/v1", tmp_path)
    assert result.returncode == 2
    assert "MYPROVIDER_API_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_connection_refused_exits_1(tmp_path):
    """A server that is not running exits 1 with a cannot-connect line."""
    result = run(["query", "Hi"], refused_url(), tmp_path)
    assert result.returncode == 1
    assert "cannot connect" in result.stderr
    assert "Traceback" not in result.stderr


def test_health_and_models(backend, tmp_path):
    """health exits 0 when the server answers; models lists its model ids."""
    health = run(["health"], backend.url, tmp_path)
    assert health.returncode == 0
    assert "ok" in health.stdout
    models = run(["models"], backend.url, tmp_path)
    assert models.returncode == 0
    assert models.stdout.split() == ["fake-model", "fake-model-large"]


def test_health_of_a_dead_server_exits_1(tmp_path):
    """health against nothing listening exits 1."""
    result = run(["health"], refused_url(), tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    line = result.stdout.strip()
    assert line.startswith("myprovider: failing")
    assert line.count("myprovider:") == 1, line  # the name is said once


def test_stream_cut_exits_1(backend, tmp_path):
    """A stream cut mid-way prints what arrived, then an error line, and exits 1."""
    backend.enqueue(FakeReply(text=["par", "tial"], cut_after=2))
    result = run(["query", "Hi"], backend.url, tmp_path)
    assert result.returncode == 1
    assert "par" in result.stdout
    assert result.stdout.endswith("\n")  # the error line does not continue the partial text
    assert "Traceback" not in result.stderr


def test_help_does_not_import_httpx(tmp_path):
    """Importing the CLI module (all --help needs) loads neither httpx nor the provider."""
    code = (
        "import sys, claif_myprovider.cli;"
        "print(sorted({'httpx', 'claif_myprovider.provider'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    help_run = run(["--help"], "http://127.0.0.1:1/v1", tmp_path)
    assert help_run.returncode == 0  # fire writes help to stderr when not on a terminal
    assert "query" in help_run.stdout + help_run.stderr


def test_demo_streams_and_exits_0(tmp_path):
    """`python -m claif_myprovider.demo` serves, runs claif-myp against it, and exits 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYPROVIDER_")}
    env.update(CLAIF_CONFIG=str(tmp_path / "config.toml"), CLAIF_KEYS=str(tmp_path / "k.json"))
    result = subprocess.run(
        [sys.executable, "-m", "claif_myprovider.demo", "Say hi"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "claif-myp query 'Say hi'" in result.stdout
    assert "A claif provider is a small plugin" in result.stdout
