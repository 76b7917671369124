"""What a command line accepts, read from its commands' signatures and docstrings.

A command is a public method of a CLI object (or of a command group it holds);
its parameters without a default are positional arguments, the rest are flags,
and a flag whose default is a bool is a switch. A CLI can add flags of its own
(:class:`Flag`), which reach the provider's constructor as settings. This is
read without :mod:`inspect` or fire, so ``--help`` stays fast.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Command", "Flag", "Group", "Parameter", "describe"]


@dataclass(frozen=True)
class Flag:
    """A flag a provider CLI declares beyond its commands' own; its value becomes a setting.

    ``name`` is the provider's setting (``base_url`` is spelt ``--base-url``);
    a ``switch`` takes no value; ``metavar`` names the value in help.
    """

    name: str
    help: str = ""
    switch: bool = False
    metavar: str = ""

    @property
    def spelling(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Parameter:
    """One argument of a command: positional (no default) or a flag."""

    name: str
    positional: bool
    switch: bool
    help: str = ""
    setting: bool = False  # a declared Flag: goes to the provider, not to the method
    metavar: str = ""
    kind: type = str  # what a value is converted to: str, int or float

    def convert(self, value: str) -> object:
        """The typed value, or ValueError naming what was expected."""
        if self.kind is str:
            return value
        what = "a whole number" if self.kind is int else "a number"
        try:
            number = self.kind(value)
        except ValueError:
            number = None
        if number is None or not math.isfinite(number):
            raise ValueError(f"{self.spelling} takes {what}, not {value!r}")
        return number

    @property
    def spelling(self) -> str:
        """How help and errors write it: ``PROMPT`` or ``--max-tokens``."""
        if self.positional:
            return self.name.upper()
        return "--" + self.name.replace("_", "-")

    @property
    def placeholder(self) -> str:
        return self.metavar or self.name.upper()


@dataclass(frozen=True)
class Command:
    """A runnable command: its words after the program name, and its parameters."""

    path: tuple[str, ...]
    summary: str
    description: str
    parameters: tuple[Parameter, ...]

    @property
    def positionals(self) -> list[Parameter]:
        return [p for p in self.parameters if p.positional]

    @property
    def flags(self) -> list[Parameter]:
        return [p for p in self.parameters if not p.positional]


@dataclass(frozen=True)
class Group:
    """A CLI object or one of its command groups (``claif keys``): names of commands."""

    path: tuple[str, ...]
    summary: str
    description: str
    target: Any

    def names(self) -> list[str]:
        return list(self.target._commands())

    def member(self, name: str) -> Command | Group:
        """The command or group called ``name`` (which must be one of ``names()``)."""
        member = getattr(self.target, name)
        summary, description = _doc_parts(getattr(member, "__doc__", None))
        if hasattr(member, "_commands"):
            return Group((*self.path, name), summary, description, member)
        return Command((*self.path, name), summary, description, _parameters(self.target, member))


def describe(app: Any) -> Group:
    """The top of ``app``'s command tree."""
    summary, description = _doc_parts(type(app).__doc__)
    return Group((), summary, description, app)


def _parameters(app: Any, method: Any) -> tuple[Parameter, ...]:
    """The method's parameters (``self`` left out), then the flags the CLI adds to it."""
    function = getattr(method, "__func__", method)
    code = function.__code__
    names = code.co_varnames[1 : code.co_argcount]  # 0 is self
    defaults = function.__defaults__ or ()
    first_default = len(names) - len(defaults)
    helps: dict[str, str] = {}
    for klass in reversed(type(app).__mro__):  # an override documents only what it changes
        inherited = klass.__dict__.get(function.__name__)
        helps.update(_arg_help(getattr(inherited, "__doc__", None)))
    annotations = function.__annotations__
    parameters = []
    for index, name in enumerate(names):
        has_default = index >= first_default
        default = defaults[index - first_default] if has_default else None
        kind = _kind(annotations.get(name))
        parameters.append(
            Parameter(
                name,
                positional=not has_default,
                switch=isinstance(default, bool),
                help=helps.get(name, ""),
                metavar="N" if kind is not str else "",
                kind=kind,
            )
        )
    extra = getattr(app, "_extra_flags", None)
    for flag in extra(function.__name__) if extra else ():
        parameters.append(
            Parameter(flag.name, False, flag.switch, flag.help, setting=True, metavar=flag.metavar)
        )
    return tuple(parameters)


def _kind(annotation: object) -> type:
    """int or float when the annotation (a string, with postponed annotations) names one."""
    words = set(re.findall(r"\w+", str(annotation)))
    if "int" in words:
        return int
    return float if "float" in words else str


def _doc_parts(doc: str | None) -> tuple[str, str]:
    """First paragraph and the rest up to ``Args:``, each as plain text."""
    if not doc:
        return "", ""
    body = _dedent(doc).split("\nArgs:", 1)[0].replace("``", "").strip()
    summary, _, rest = body.partition("\n\n")
    return " ".join(summary.split()), rest.strip()


def _arg_help(doc: str | None) -> dict[str, str]:
    """``name: text`` lines of a Google-style ``Args:`` section, continuations joined."""
    if not doc or "\nArgs:" not in _dedent(doc):
        return {}
    section = _dedent(doc).split("\nArgs:", 1)[1]
    helps: dict[str, str] = {}
    current = None
    for line in section.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        name, colon, text = stripped.partition(":")
        if colon and indent <= 4 and name.isidentifier():
            current = name
            helps[name] = text.strip()
        elif current and indent > 4:
            helps[current] += " " + stripped
        else:
            break  # the section ended
    return helps


def _dedent(doc: str) -> str:
    """A docstring with the indentation of its second and later lines removed."""
    lines = doc.expandtabs().splitlines()
    rest = [line for line in lines[1:] if line.strip()]
    margin = min((len(line) - len(line.lstrip()) for line in rest), default=0)
    return "\n".join([lines[0].strip(), *(line[margin:] for line in lines[1:])])
