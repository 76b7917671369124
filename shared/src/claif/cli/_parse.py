"""Checking a command line against the command it names, before anything runs.

fire would find a mistyped flag only after the command had run (or take it as
a value), read ``--json=no`` as true and open a REPL for ``-- --interactive``.
So every word is checked here first; what fire then receives is only the
command's path and ``--name=value`` pairs it cannot misread.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..common.errors import ValidationError
from ._commands import Command, Group, Parameter

__all__ = ["HelpRequest", "Invocation", "UsageError", "parse_command_line"]

HELP_FLAGS = frozenset({"-h", "--help"})
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


class UsageError(ValidationError):
    """The command line itself is wrong: an unknown word, a missing or surplus value."""


@dataclass(frozen=True)
class HelpRequest:
    """``--help`` (or a group named without a command): show help for ``target``."""

    target: Command | Group


@dataclass
class Invocation:
    """A checked command line: the command, its values, and settings for the provider."""

    command: Command
    values: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    def fire_argv(self, stdin_token: str) -> list[str]:
        """The words fire gets: the command's path, then ``--name=<Python literal>``.

        Values are already typed, and written as literals fire evaluates back
        to exactly them: a model called ``3`` stays a string, ``a,b`` is not
        a tuple, ``--interactive`` is not a flag. A prompt of ``-`` becomes
        ``stdin_token``.
        """
        argv = list(self.command.path)
        for name, value in self.values.items():
            if name == "prompt" and value == "-":
                value = stdin_token
            argv.append(f"--{name}={value!r}")
        return argv


def parse_command_line(
    root: Group, argv: Sequence[str], *, program: str, short_flags: Mapping[str, str]
) -> Invocation | HelpRequest:
    """Find the command ``argv`` names and check every word after it against its parameters."""
    target: Command | Group = root
    index = 0
    while isinstance(target, Group):
        if index == len(argv) or argv[index] in HELP_FLAGS:
            return HelpRequest(target)
        word = argv[index]
        names = target.names()
        if word not in names:
            raise UsageError(_unknown_command(program, target, word, names), field="command")
        target = target.member(word)
        index += 1
    return _Reader(program, target, short_flags).read(argv[index:])


class _Reader:
    """Reads the words after a command's name into its parameters' values."""

    def __init__(self, program: str, command: Command, short_flags: Mapping[str, str]) -> None:
        self.program = program
        self.command = command
        self.short_flags = short_flags
        self.by_spelling: dict[str, Parameter] = {}
        for parameter in command.parameters:
            self.by_spelling["--" + parameter.name.replace("_", "-")] = parameter
            self.by_spelling["--" + parameter.name] = parameter
        self.given: dict[str, Any] = {}
        self.positionals: list[str] = []

    @property
    def where(self) -> str:
        return " ".join([self.program, *self.command.path])

    def read(self, words: Sequence[str]) -> Invocation | HelpRequest:
        before_separator = words[: words.index("--")] if "--" in words else words
        if HELP_FLAGS.intersection(before_separator):
            return HelpRequest(self.command)  # help wins over any other mistake on the line
        index = 0
        while index < len(words):
            word = words[index]
            index += 1
            if word == "--":
                self.positionals.extend(words[index:])
                break
            if word == "-" or not word.startswith("-") or _is_number(word):
                self.positionals.append(word)
                continue
            index = self._flag(word, words, index)
        return self._invocation()

    def _flag(self, word: str, words: Sequence[str], index: int) -> int:
        """Take one flag (and its value when it has one); returns the next word's index."""
        spelling, has_value, value = word.partition("=")
        spelling = self.short_flags.get(spelling, spelling)
        parameter = self.by_spelling.get(spelling)
        negated = False
        if parameter is None and spelling.startswith("--no-"):
            parameter = self.by_spelling.get("--" + spelling[5:])
            negated = parameter is not None and parameter.switch
            if not negated:
                parameter = None
        if parameter is None:
            raise UsageError(self._unknown_flag(spelling), field=spelling.lstrip("-"))
        if parameter.switch:
            if negated and has_value:
                raise UsageError(f"{spelling} takes no value ({self.where})", field=parameter.name)
            self._set(parameter, not negated if not has_value else _switch(spelling, value))
            return index
        if not has_value:
            if index == len(words) or _looks_like_flag(words[index]):
                raise UsageError(
                    f"{self._shown(spelling, parameter)} needs a value after it ({self.where})",
                    field=parameter.name,
                )
            value = words[index]
            index += 1
        self._set(parameter, value)
        return index

    def _set(self, parameter: Parameter, value: Any) -> None:
        if parameter.name in self.given:
            raise UsageError(
                f"{parameter.spelling if not parameter.positional else '--' + parameter.name} "
                f"is given twice ({self.where})",
                field=parameter.name,
            )
        self.given[parameter.name] = value

    def _invocation(self) -> Invocation:
        waiting = [p for p in self.command.positionals if p.name not in self.given]
        for word in self.positionals:
            if not waiting:
                raise UsageError(self._surplus(word), field="arguments")
            self.given[waiting.pop(0).name] = word
        if waiting:
            missing = " ".join(p.spelling for p in waiting)
            raise UsageError(
                f"{self.where} needs {missing} (see: {self.where} --help)", field=waiting[0].name
            )
        invocation = Invocation(self.command)
        settings = {p.name for p in self.command.parameters if p.setting}
        by_name = {p.name: p for p in self.command.parameters}
        for name, value in self.given.items():
            if isinstance(value, str):
                try:
                    value = by_name[name].convert(value)
                except ValueError as exc:
                    raise UsageError(f"{exc} ({self.where})", field=name) from None
            (invocation.settings if name in settings else invocation.values)[name] = value
        return invocation

    def _surplus(self, word: str) -> str:
        expected = self.command.positionals
        if not expected:
            return f"{self.where} takes no arguments, but got {word!r}"
        names = " ".join(p.spelling for p in expected)
        hint = " (quote a prompt of several words)" if expected[-1].name == "prompt" else ""
        return f"{self.where} takes {names} only, but also got {word!r}{hint}"

    def _unknown_flag(self, spelling: str) -> str:
        known = sorted({"--" + p.name.replace("_", "-") for p in self.command.flags})
        close = difflib.get_close_matches(spelling.replace("_", "-"), known, n=1, cutoff=0.5)
        if close:
            advice = f"did you mean {close[0]}?"
        elif known:
            advice = "its flags: " + ", ".join(known)
        else:
            advice = "it takes no flags"
        return f"unknown flag {spelling} for {self.where} ({advice})"

    def _shown(self, spelling: str, parameter: Parameter) -> str:
        short = [s for s, long in self.short_flags.items() if long == parameter.spelling]
        return "/".join([*short, parameter.spelling]) if short else spelling


def _unknown_command(program: str, group: Group, word: str, names: list[str]) -> str:
    where = " ".join([program, *group.path])
    if word.startswith("-"):
        return f"{where} takes a command before any flag, not {word} (commands: {', '.join(names)})"
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.5)
    advice = f"did you mean {close[0]!r}?" if close else "commands: " + ", ".join(names)
    return f"{where} has no command {word!r} ({advice})"


def _switch(spelling: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(
        f"{spelling} is a switch: give it alone, or as {spelling}=yes or {spelling}=no, "
        f"not {value!r}",
        field=spelling.lstrip("-"),
    )


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _looks_like_flag(word: str) -> bool:
    return word.startswith("-") and word != "-" and not _is_number(word)
