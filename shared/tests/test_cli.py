"""The umbrella ``claif`` command, run as a real console script in child processes."""

from __future__ import annotations

import json
import re
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


# -- every word checked before anything runs ------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["query", "hi", "-p", "echo", "--sytem", "x"], ["--sytem", "--system"]),
        (["query", "hi", "-p", "echo", "--modle", "x"], ["--modle", "--model"]),
        (["providers", "extra"], ["'extra'", "no arguments"]),
        (["providers", "--capabilites"], ["--capabilities"]),
        (["keys", "set"], ["NAME"]),
        (["keys", "lst"], ["'lst'", "'list'"]),
        (["sessions", "show", "s1", "--jsn"], ["--json"]),
        (["sessions", "show", "s1", "--json=perhaps"], ["--json=yes", "'perhaps'"]),
        (["helth"], ["'helth'", "'health'"]),
        (["--json"], ["command"]),
        (["query", "hi", "-p", "echo", "-x"], ["-x"]),
        (["query", "hi", "-p", "echo", "--json", "--json"], ["twice"]),
    ],
)
def test_wrong_words_are_one_line_exit_2(env, args, words):
    """Unknown flags, commands and surplus words: exit 2, one line, nothing printed on stdout."""
    done = claif(*args, env=env)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    for word in words:
        assert word in line


def test_a_mistyped_flag_saves_no_session(env, tmp_path):
    """`--sytem` found before the query: no reply printed and no session written."""
    done = claif("query", "hi", "-p", "echo", "--sytem", "x", "--session", "s1", env=env)
    assert done.returncode == 2
    assert not (tmp_path / "sessions").exists()


def test_json_no_writes_text(env):
    """`--json=no` turns the switch off; `--no-json` too."""
    for flag in ("--json=no", "--no-json", "--json=false"):
        done = claif("query", "-p", "echo", "hello there", flag, env=env)
        assert done.stdout == "hello there\n", flag


def test_double_dash_makes_the_rest_the_prompt(env):
    """`-- --interactive` is a prompt, not fire's REPL."""
    done = claif("query", "-p", "echo", "--", "--interactive", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "--interactive\n"


def test_keys_set_refuses_a_bad_name_before_asking(env):
    """`claif keys set ../x` refuses the name without reading a key."""
    done = subprocess.run(
        [CLAIF, "keys", "set", "../x"],
        env=env,
        input="sk-should-never-be-read\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "../x" in done.stderr
    assert "standard input" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [[], ["--help"], ["keys"], ["keys", "--help"], ["sessions", "show", "--help"], ["query", "-h"]],
)
def test_help_is_plain_and_hyphenated(env, args):
    """Help goes to stdout with exit 0, without fire's INFO line, flags spelt with -."""
    done = claif(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.startswith("usage: claif")
    assert "INFO" not in done.stdout
    assert "_" not in "".join(re.findall(r"--[\w-]+", done.stdout))


def test_query_help_shows_the_short_provider_flag(env):
    """`claif query --help` lists -p, --provider and --max-tokens."""
    done = claif("query", "--help", env=env)
    assert "-p, --provider PROVIDER" in done.stdout
    assert "--max-tokens N" in done.stdout


PROVIDER_CLI = '''
from typing import ClassVar

from claif.cli.base import Flag, ProviderCLI, run_cli
from echo_mod import EchoProvider


class Shouting(EchoProvider):
    def __init__(self, greeting="hello", loud=False):
        super().__init__()
        self.greeting, self.loud = greeting, loud

    async def query(self, prompt, options=None):
        text = f"{self.greeting} {prompt}"
        async for message in super().query(text.upper() if self.loud else text, options):
            yield message


class ShoutCLI(ProviderCLI):
    """A provider CLI with flags and a command of its own."""

    provider_name: ClassVar[str] = "echo"
    provider_flags: ClassVar[tuple[Flag, ...]] = (
        Flag("greeting", "what to say first", metavar="WORD"),
        Flag("loud", "shout", switch=True),
    )

    def _commands(self):
        return [*super()._commands(), "repeat"]

    def make_provider(self):
        return Shouting(**self.settings)

    def repeat(self, word: str, times: int = 2) -> None:
        """Print WORD several times.

        Args:
            word: what to print
            times: how many times
        """
        print(" ".join([str(word)] * int(times)))


run_cli(ShoutCLI, name="shout")
'''


@pytest.fixture
def shout(env, tmp_path):
    script = tmp_path / "shout.py"
    script.write_text(PROVIDER_CLI)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(script), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )

    return run


def test_a_provider_cli_adds_flags_that_become_settings(shout):
    """Declared flags reach the provider's constructor; they are checked like the others."""
    done = shout("query", "hi", "--greeting", "hey", "--loud")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "HEY HI\n"
    done = shout("query", "hi", "--greting", "hey")
    assert done.returncode == 2
    assert "did you mean --greeting?" in done.stderr
    assert "--greeting WORD" in shout("query", "--help").stdout


def test_a_provider_cli_adds_a_command(shout):
    """A method listed in _commands is a command, with its own checked arguments and help."""
    assert shout("repeat", "ho", "--times", "3").stdout == "ho ho ho\n"
    assert shout("repeat", "ho", "--loud").returncode == 2  # provider flags are not its flags
    assert "repeat" in shout("--help").stdout
    assert "--times N" in shout("repeat", "--help").stdout


@pytest.mark.parametrize(
    "prompt", ["3", "a,b", "[1, 2]", "True", "None", "{'x': 1}", 'it\'s "x"\n\\n']
)
def test_a_prompt_reaches_the_provider_exactly_as_typed(env, prompt):
    """Words fire would evaluate (numbers, commas, lists, True) arrive as the text typed."""
    done = claif("query", "-p", "echo", prompt, "--model", "3", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == prompt + "\n"
