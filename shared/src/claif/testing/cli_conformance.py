"""The command-line part of the conformance suite: a provider's console script, run for real.

A provider's test module adds, next to its ProviderConformance subclass::

    class TestMyCLI(CLIConformance):
        @pytest.fixture
        def harness(self, fake_backend) -> Harness:
            return MyHarness(fake_backend)

The harness's :meth:`~claif.testing.Harness.cli_command` names the console
script; every test starts it as a child process (real pipes, real signals)
with :meth:`~claif.testing.Harness.cli_environment` added, so it talks to the
same fake backend the harness scripts. Each test checks one thing a person
meets at a terminal, in a pipe or in a script.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from ._harness import Harness, Unsupported
from ._home import claif_home_env, run_script

__all__ = ["CLIConformance"]

TIMEOUT = 60
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 141
MODEL = "cli-conformance-model"


class CLIConformance:
    """Console-script tests; a subclass provides the ``harness`` fixture."""

    @pytest.fixture
    def harness(self) -> Harness:
        raise NotImplementedError("a CLI conformance subclass must provide a `harness` fixture")

    @pytest.fixture
    def command(self, harness: Harness) -> list[str]:
        try:
            return list(harness.cli_command())
        except Unsupported as reason:
            pytest.skip(str(reason))

    @pytest.fixture
    def env(self, harness: Harness, tmp_path: Path) -> dict[str, str]:
        """The caller's environment without colour forcing, a private config home, the fake."""
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
        env.update(NO_COLOR="1", COLUMNS="200", **claif_home_env(tmp_path))
        env.update(harness.cli_environment())
        return env

    @pytest.fixture
    def run(self, command: list[str], env: dict[str, str]) -> Any:
        def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
            return run_script(command, *args, env=env, stdin=stdin, timeout=TIMEOUT)

        return run

    @pytest.fixture
    def commands(self, run: Any) -> list[str]:
        """The commands the top-level help lists."""
        done = run("--help")
        assert done.returncode == 0, done.stderr
        section = done.stdout.split("commands:", 1)[1].split("\n\n", 1)[0]
        return re.findall(r"^  (\S+)", section, flags=re.MULTILINE)

    # -- the common case -------------------------------------------------------------

    def test_query_prints_the_reply(self, harness: Harness, run: Any) -> None:
        """`query TEXT` prints the reply on standard output, one line break at its end, exit 0."""
        harness.reply(["Hel", "lo"], model=MODEL)
        done = run("query", "hi")
        assert done.returncode == 0, done.stderr
        assert done.stdout == "Hello\n"

    def test_json_lines(self, harness: Harness, run: Any) -> None:
        """--json prints one JSON object per message whose texts make the reply."""
        harness.reply(["Hel", "lo"], model=MODEL)
        done = run("query", "hi", "--json")
        assert done.returncode == 0, done.stderr
        lines = [json.loads(line) for line in done.stdout.splitlines()]
        texts = [b["text"] for line in lines for b in line["content"] if b["type"] == "text"]
        assert "".join(texts) == "Hello"

    def test_a_switch_set_to_no_is_off(self, harness: Harness, run: Any) -> None:
        """`--json=no` means text, not JSON."""
        harness.reply(["plain"], model=MODEL)
        done = run("query", "hi", "--json=no")
        assert done.returncode == 0, done.stderr
        assert done.stdout == "plain\n"

    # -- wrong arguments: exit 2, one line, nothing sent -------------------------------

    def test_a_mistyped_flag_is_refused_before_any_request(
        self, harness: Harness, run: Any, env: dict[str, str]
    ) -> None:
        """`query hi --sytem X --session s1`: exit 2 naming --sytem and --system; no request."""
        harness.reply(["never"], model=MODEL)
        done = run("query", "hi", "--sytem", "be terse", "--session", "s1")
        _usage_error(done, "--sytem", "--system")
        assert harness.requests() == []
        assert not Path(env["CLAIF_SESSIONS_DIR"]).exists()

    def test_every_command_refuses_an_unknown_flag(self, run: Any, commands: list[str]) -> None:
        """Each command listed in --help refuses a flag it does not have, naming it."""
        assert commands
        for name in commands:
            _usage_error(run(name, "--no-such-flag"), "--no-such-flag")

    def test_a_flag_without_its_value(self, harness: Harness, run: Any) -> None:
        """`query hi --model` says the value is missing."""
        _usage_error(run("query", "hi", "--model"), "--model", "value")
        assert harness.requests() == []

    def test_a_surplus_argument_is_refused(self, harness: Harness, run: Any) -> None:
        """`query hi there` (unquoted) and `health extra` are errors, not silently dropped words."""
        _usage_error(run("query", "hi", "there"), "'there'")
        _usage_error(run("health", "extra"), "'extra'")
        assert harness.requests() == []

    def test_an_unknown_command_suggests_the_closest(self, run: Any) -> None:
        """`qeury hi` names the command it did not find and suggests query."""
        _usage_error(run("qeury", "hi"), "qeury", "query")

    def test_after_a_double_dash_every_word_is_an_argument(
        self, harness: Harness, run: Any
    ) -> None:
        """`query -- --interactive` asks "--interactive": no REPL, no flag."""
        harness.reply(["ok"], model=MODEL)
        done = run("query", "--", "--interactive")
        assert done.returncode == 0, done.stderr
        assert done.stdout == "ok\n"
        assert "--interactive" in harness.requests()[-1].texts[-1]

    # -- help ---------------------------------------------------------------------------

    def test_help_everywhere(self, run: Any, commands: list[str]) -> None:
        """--help for the program and each command: usage on stdout, nothing on stderr, exit 0."""
        for args in (["--help"], ["-h"], *([name, "--help"] for name in commands)):
            done = run(*args)
            assert done.returncode == 0, (args, done.stderr)
            assert done.stdout.startswith("usage:"), args
            assert done.stderr == "", args
            assert not re.search(r"--\w+_\w+", done.stdout), f"{args}: flags are spelt with -"

    def test_query_help_lists_its_flags_as_typed(self, run: Any) -> None:
        """`query --help` shows --max-tokens and --no-stream, the spellings the docs use."""
        done = run("query", "--help")
        for flag in ("--model", "--system", "--max-tokens", "--no-stream", "--json", "--session"):
            assert flag in done.stdout

    # -- pipes and streams --------------------------------------------------------------

    def test_a_prompt_from_standard_input(self, harness: Harness, run: Any) -> None:
        """`query -` reads the prompt from standard input, without the line break echo adds."""
        harness.reply(["ok"], model=MODEL)
        done = run("query", "-", stdin="from a pipe\r\n")
        assert done.returncode == 0, done.stderr
        assert harness.requests()[-1].texts[-1] == "from a pipe"

    def test_empty_standard_input_is_a_usage_error(self, harness: Harness, run: Any) -> None:
        """`query -` with nothing on standard input: exit 2, nothing sent."""
        _usage_error(run("query", "-", stdin=""), "empty")
        assert harness.requests() == []

    def test_closed_standard_input_is_a_usage_error(
        self, harness: Harness, command: list[str], env: dict[str, str]
    ) -> None:
        """`query - <&-`: exit 2 saying standard input is closed."""
        done = subprocess.run(
            [*command, "query", "-"],
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            preexec_fn=lambda: os.close(0),
        )
        _usage_error(done, "standard input")
        assert harness.requests() == []

    def test_a_reader_that_leaves_early_ends_the_command_quietly(
        self, harness: Harness, command: list[str], env: dict[str, str]
    ) -> None:
        """`query hi | head -c1` on a long streamed reply: no traceback, nothing left open."""
        harness.reply(["word " * 2000] * 64, model=MODEL)  # far beyond one pipe buffer
        child = _start([*command, "query", "hi"], env)
        assert child.stdout is not None
        assert child.stdout.read(1) == b"w"
        child.stdout.close()
        _, stderr = child.communicate(timeout=TIMEOUT)
        assert stderr == b"", stderr.decode(errors="replace")
        assert child.returncode in (0, EXIT_CLOSED_PIPE)
        _settled(harness)

    def test_an_error_after_partial_output_starts_on_its_own_line(
        self, harness: Harness, run: Any
    ) -> None:
        """A stream cut after some text: the text, a line break, one error line, exit 1."""
        harness.cut_mid_stream(["partial"], model=MODEL)
        done = run("query", "hi")
        assert done.returncode == 1, done.stderr
        assert done.stdout == "partial\n"
        assert done.stderr.startswith("error:")
        assert len(done.stderr.strip().splitlines()) == 1
        assert "Traceback" not in done.stderr

    def test_a_provider_error_is_one_line_exit_1(self, harness: Harness, run: Any) -> None:
        """A refused key: exit 1, one line on standard error, nothing on standard output."""
        harness.auth_failure()
        done = run("query", "hi")
        assert done.returncode == 1, done.stderr
        assert done.stdout == ""
        assert done.stderr.startswith("error:")
        assert len(done.stderr.strip().splitlines()) == 1

    def test_ctrl_c_mid_stream_exits_130_and_leaves_nothing_open(
        self, harness: Harness, command: list[str], env: dict[str, str]
    ) -> None:
        """SIGINT while a reply is streaming: exit 130, "interrupted", backend released."""
        harness.stall(["first "], model=MODEL)
        child = _start([*command, "query", "hi"], env)
        assert child.stdout is not None
        assert child.stdout.read(6) == b"first "
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=TIMEOUT)
        assert child.returncode == EXIT_INTERRUPTED, stderr
        assert b"interrupted" in stderr
        assert b"Traceback" not in stderr
        _settled(harness)


def _start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A child with its output on pipes the test reads (and may close) itself."""
    child = subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert child.stdout is not None
    return child


def _usage_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2 with a single ``error:`` line on stderr containing each of ``words``."""
    assert done.returncode == EXIT_USAGE, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error:"), lines[0]
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def _settled(harness: Harness) -> None:
    """Wait (up to 3 s) until the backend holds nothing open for the finished command."""
    deadline = time.monotonic() + 3
    while harness.open_resources() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert harness.open_resources() == 0, "the backend still has a connection or child open"
