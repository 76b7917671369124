"""The command-line checker and help writer, in process: every rule on a small command tree."""

from __future__ import annotations

from typing import ClassVar

import pytest

from claif.cli._app import STDIN_PROMPT, CLIApp
from claif.cli._commands import Flag, Group, describe
from claif.cli._help import help_text
from claif.cli._parse import HelpRequest, Invocation, UsageError, parse_command_line
from claif.cli.main import ClaifCLI


class Notes(CLIApp):
    """Notes kept somewhere."""

    def _commands(self) -> list[str]:
        return ["add"]

    def add(self, title: str, body: str, pinned: bool = False) -> None:
        """Add a note.

        Args:
            title: its title
            body: what it says, which can be long enough that the help text has
                to wrap it onto a second line
            pinned: keep it on top
        """


class Tool(CLIApp):
    """A tool with a group and a command.

    It exists for tests.
    """

    short_flags: ClassVar[dict[str, str]] = {"-n": "--count"}

    def __init__(self) -> None:
        super().__init__()
        self.notes = Notes()

    def _commands(self) -> list[str]:
        return ["notes", "run"]

    def _extra_flags(self, command: str) -> tuple[Flag, ...]:
        return (Flag("base_url", "where", metavar="URL"), Flag("loud", switch=True))

    def run(self, prompt: str, count: int = 1, ratio: float = 0.5, json: bool = False) -> None:
        """Run it.

        Args:
            prompt: what to run; - reads standard input
            count: how many times
        """


def parse(*argv: str) -> Invocation | HelpRequest:
    return parse_command_line(describe(Tool()), argv, program="tool", short_flags=Tool.short_flags)


def invocation(*argv: str) -> Invocation:
    parsed = parse(*argv)
    assert isinstance(parsed, Invocation)
    return parsed


def refused(*argv: str) -> str:
    with pytest.raises(UsageError) as caught:
        parse(*argv)
    return caught.value.message


def test_values_flags_and_settings_are_sorted_out():
    """Positionals fill in order; declared flags go to settings, the rest to the method."""
    done = invocation("run", "hi", "-n", "3", "--ratio=-0.25", "--base-url", "http://x", "--loud")
    assert done.values == {"prompt": "hi", "count": 3, "ratio": -0.25}
    assert done.settings == {"base_url": "http://x", "loud": True}
    assert done.fire_argv(STDIN_PROMPT) == ["run", "--count=3", "--ratio=-0.25", "--prompt='hi'"]


def test_values_are_typed_by_the_annotation():
    """An int or float parameter gets a number or a one-line refusal; strings stay strings."""
    assert invocation("run", "3", "--ratio", "1e-3").values == {"prompt": "3", "ratio": 0.001}
    assert "--count takes a whole number, not '2.5'" in refused("run", "p", "-n", "2.5")
    assert "--ratio takes a number, not 'inf'" in refused("run", "p", "--ratio", "inf")
    assert "--ratio takes a number, not 'x'" in refused("run", "p", "--ratio=x")


def test_underscore_spelling_and_negative_numbers_are_accepted():
    """`--base_url` works too; `-2` is a value, not a flag."""
    done = invocation("run", "--count", "-2", "--base_url=u", "--", "-x")
    assert done.values == {"count": -2, "prompt": "-x"}
    assert done.settings == {"base_url": "u"}


def test_switch_spellings():
    """--json, --json=yes/no/1/0/on/off, --no-json; anything else is refused."""
    assert invocation("run", "p", "--json").values["json"] is True
    for word, value in [("yes", True), ("No", False), ("1", True), ("off", False)]:
        assert invocation("run", "p", f"--json={word}").values["json"] is value
    assert invocation("run", "p", "--no-json").values["json"] is False
    assert "--json=yes" in refused("run", "p", "--json=maybe")
    assert "takes no value" in refused("run", "p", "--no-json=yes")
    assert "unknown flag --no-count" in refused("run", "p", "--no-count")


def test_stdin_prompt_becomes_the_token_fire_cannot_misread():
    """A prompt of `-` goes to fire as the stdin token, as a --name=value pair."""
    assert invocation("run", "-").fire_argv(STDIN_PROMPT) == ["run", f"--prompt={STDIN_PROMPT!r}"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("run", "p", "--cuont", "2"), ["unknown flag --cuont", "did you mean --count?"]),
        (("run", "p", "--zzzzzzzz"), ["its flags: --base-url, --count"]),
        (("run", "p", "-q"), ["unknown flag -q"]),
        (("run", "p", "--count"), ["-n/--count needs a value"]),
        (("run", "p", "--count", "--json"), ["needs a value"]),
        (("run", "p", "--ratio", "1", "--ratio", "2"), ["--ratio is given twice"]),
        (("run", "a", "b"), ["takes PROMPT only", "'b'", "quote a prompt"]),
        (("run",), ["tool run needs PROMPT"]),
        (("rnu",), ["no command 'rnu'", "did you mean 'run'?"]),
        (("xyzzy",), ["commands: notes, run"]),
        (("--count",), ["takes a command before any flag"]),
        (("notes", "add", "t"), ["needs BODY"]),
        (("notes", "add", "t", "b", "c"), ["takes TITLE BODY only"]),
    ],
)
def test_wrong_words_are_named(argv, words):
    """Each mistake's message names what was wrong and how to put it right."""
    message = refused(*argv)
    for word in words:
        assert word in message


def test_a_command_without_flags_says_so():
    """The umbrella's keys path takes nothing: an unknown flag says it takes none."""
    root = describe(ClaifCLI())
    with pytest.raises(UsageError, match="it takes no flags"):
        parse_command_line(root, ["keys", "path", "--x"], program="claif", short_flags={})
    with pytest.raises(UsageError, match="takes no arguments"):
        parse_command_line(root, ["keys", "path", "x"], program="claif", short_flags={})


def test_help_requests():
    """No command, a group alone, -h or --help anywhere before `--` ask for help."""
    assert isinstance(parse(), HelpRequest)
    assert isinstance(parse("notes"), HelpRequest)
    assert isinstance(parse("notes", "-h"), HelpRequest)
    request = parse("run", "hi", "--bogus", "--help")  # help wins over the mistake
    assert isinstance(request, HelpRequest)
    assert request.target.path == ("run",)
    assert isinstance(parse("run", "--", "--help"), Invocation)


def test_group_and_command_help_text():
    """Help lists commands with their summaries, and arguments and flags as typed."""
    root = describe(Tool())
    top = help_text(root, program="tool", short_flags=Tool.short_flags)
    assert top.startswith("usage: tool COMMAND [ARGS]...\n")
    assert "It exists for tests." in top
    assert "  notes" in top
    assert "Notes kept somewhere." in top
    run = help_text(root.member("run"), program="tool", short_flags=Tool.short_flags)
    assert run.startswith("usage: tool run PROMPT [FLAGS]\n")
    assert "-n, --count N" in run
    assert "--base-url URL" in run
    assert "  --loud\n" in run  # a switch shows no placeholder
    notes = root.member("notes")
    assert isinstance(notes, Group)
    add = help_text(notes.member("add"), program="tool", short_flags={})
    assert "usage: tool notes add TITLE BODY [FLAGS]" in add
    assert "onto a second line" in add
    assert all(len(line) <= 88 for line in add.splitlines())
