"""The umbrella ``claif`` command, run as a real console script in child processes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .plugin_fixtures import add_echo_plugin, env_with

CLAIF = str(Path(sys.executable).parent / "claif")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    plugins = tmp_path / "site"
    plugins.mkdir()
    add_echo_plugin(plugins)
    return env_with(
        plugins,
        CLAIF_CONFIG=str(tmp_path / "config" / "config.toml"),
        CLAIF_SESSIONS_DIR=str(tmp_path / "sessions"),
        CLAIF_KEYS=str(tmp_path / "config" / "keys.json"),
    )


def claif(
    *args: str, env: dict[str, str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLAIF, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def test_providers_lists_name_distribution_version(env):
    """`claif providers` shows each plugin from metadata."""
    done = claif("providers", env=env)
    assert done.returncode == 0
    assert "echo\tclaif-echo\t1.2.3" in done.stdout


def test_providers_with_capabilities(env):
    """--capabilities imports each provider and lists what it declares."""
    done = claif("providers", "--capabilities", env=env)
    assert done.returncode == 0
    assert "streaming" in done.stdout
    assert "tools" in done.stdout


def test_query_streams_reply(env):
    """`claif query -p echo TEXT` prints the reply and exits 0."""
    done = claif("query", "-p", "echo", "hello there", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello there\n"


def test_query_reads_stdin_with_dash(env):
    """A prompt of `-` is read from standard input."""
    done = claif("query", "-p", "echo", "-", env=env, stdin="from stdin")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "from stdin"


def test_query_json_lines(env):
    """--json prints one JSON object per streamed Message."""
    done = claif("query", "-p", "echo", "abcd", "--json", env=env)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["content"][0]["text"] for line in lines] == ["ab", "cd"]
    assert lines[-1]["metadata"]["finish_reason"] == "stop"


def test_switch_before_prompt(env):
    """A switch such as --json may come before the prompt without swallowing it."""
    done = claif("query", "--json", "-p", "echo", "abcd", env=env)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 2


def test_provider_error_exit_1_one_line(env):
    """A provider failure prints one line on stderr, no traceback, and exits 1."""
    done = claif("query", "-p", "echo", "fail-auth", env=env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "bad key" in done.stderr


def test_bad_option_exit_2(env):
    """A bad option value is a usage error: exit 2 and one plain line naming the problem."""
    done = claif("query", "-p", "echo", "hi", "--temperature", "7", env=env)
    assert done.returncode == 2
    assert "temperature" in done.stderr
    assert "Traceback" not in done.stderr
    assert "\x1b[" not in done.stderr, "no colour codes when stderr is not a terminal"


def test_ctrl_c_exits_130(env):
    """SIGINT during a query stops it with exit code 130 and no traceback."""
    child = subprocess.Popen(
        [CLAIF, "query", "-p", "echo", "sleep"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "sleeping"
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 130
    assert "Traceback" not in stderr


def test_unknown_provider_exit_2(env):
    """An unknown provider name is a configuration error: exit 2."""
    done = claif("query", "-p", "nope", "hi", env=env)
    assert done.returncode == 2
    assert "no provider named 'nope'" in done.stderr


def test_missing_image_exit_2(env, tmp_path):
    """An image path that does not exist is refused with exit 2."""
    done = claif("query", "-p", "echo", "hi", "--image", str(tmp_path / "nope.png"), env=env)
    assert done.returncode == 2
    assert "nope.png" in done.stderr


def test_session_keeps_history(env):
    """--session stores each turn; `sessions show` prints them."""
    assert claif("query", "-p", "echo", "first", "--session", "s1", env=env).returncode == 0
    assert claif("query", "-p", "echo", "second", "--session", "s1", env=env).returncode == 0
    shown = claif("sessions", "show", "s1", env=env)
    assert shown.stdout.splitlines() == [
        "user: first",
        "assistant: first",
        "user: second",
        "assistant: second",
    ]
    listed = claif("sessions", "list", env=env)
    assert listed.stdout.startswith("s1\t4 messages")
    assert claif("sessions", "delete", "s1", env=env).returncode == 0
    assert claif("sessions", "show", "s1", env=env).returncode == 2


def test_bad_session_id_exit_2(env):
    """A session id that could escape the folder is refused."""
    done = claif("query", "-p", "echo", "hi", "--session", "../x", env=env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


def test_keys_set_list_never_shows_key(env):
    """`keys set` reads the key from stdin; `keys list` shows names only."""
    assert claif("keys", "set", "echo", env=env, stdin="sk-verysecretvalue\n").returncode == 0
    listed = claif("keys", "list", env=env)
    assert listed.stdout.strip() == "echo"
    assert "sk-verysecretvalue" not in listed.stdout
    assert claif("keys", "path", env=env).stdout.strip().endswith("keys.json")


def test_health_of_a_provider(env):
    """`claif health -p echo` reports ok and exits 0."""
    done = claif("health", "-p", "echo", env=env)
    assert done.returncode == 0
    assert "echo: ok" in done.stdout


def test_help_imports_no_http_client(env):
    """--help loads neither httpx nor any vendor SDK."""
    code = (
        "import sys; sys.argv=['claif','--help']\n"
        "from claif.cli.main import main\n"
        "try:\n main()\nexcept SystemExit: pass\n"
        "print([m for m in ('httpx','anthropic','openai') if m in sys.modules], file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PAGER": "cat"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stderr.strip().splitlines()[-1] == "[]"
    assert "query" in done.stdout + done.stderr


def test_closed_stdout_ends_quietly(env):
    """A reader that closes the pipe early ends the command without a traceback."""
    prompt = "word " * 20000  # the echo reply is far larger than one pipe buffer
    child = subprocess.Popen(
        [CLAIF, "query", "-p", "echo", prompt],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    child.stdout.read(1)
    child.stdout.close()  # like `| head -c1`
    _, stderr = child.communicate(timeout=60)
    assert b"Traceback" not in stderr
    assert b"BrokenPipeError" not in stderr
    assert stderr.strip() == b""


def test_closed_stdin_for_dash_is_a_usage_error(env):
    """`query -` with standard input closed is a one-line usage error, exit 2."""
    done = subprocess.run(
        [CLAIF, "query", "-p", "echo", "-"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        pass_fds=(),
        preexec_fn=lambda: __import__("os").close(0),
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("error:")
    assert "Traceback" not in done.stderr


def test_keys_set_with_closed_stdin_is_a_usage_error(env):
    """`claif keys set NAME` with standard input closed says so in one line, exit 2."""
    done = subprocess.run(
        [CLAIF, "keys", "set", "echo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: __import__("os").close(0),
    )
    assert done.returncode == 2, done.stderr
    assert "standard input" in done.stderr
    assert "Traceback" not in done.stderr


def test_stdin_prompt_loses_its_trailing_newline(env):
    """A prompt piped in (`echo hi | claif query -`) arrives without the newline echo adds."""
    done = claif("query", "-p", "echo", "-", "--json", env=env, stdin="hello there\r\n")
    assert done.returncode == 0, done.stderr
    texts = [json.loads(line)["content"][0]["text"] for line in done.stdout.splitlines()]
    assert "".join(texts) == "hello there"


@pytest.mark.parametrize("command", [["query", "hi", "-p"], ["health", "-p"]])
def test_provider_flag_without_a_name_says_so(env, command):
    """`-p` with no name after it is a usage error saying a name is missing."""
    done = claif(*command, env=env)
    assert done.returncode == 2, done.stderr
    assert "--provider needs a value" in done.stderr
    assert "True" not in done.stderr
