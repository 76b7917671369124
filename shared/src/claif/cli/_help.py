"""``--help`` text, written from the same command tree the arguments are checked against.

Plain text on standard output with no pager, flags spelt as they are typed
(``--max-tokens``), so what help shows is exactly what the parser accepts.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

from ._commands import Command, Group, Parameter

__all__ = ["help_text"]

WIDTH = 88
_COLUMN = 24


def help_text(target: Command | Group, *, program: str, short_flags: Mapping[str, str]) -> str:
    """The help for a command or a group of commands."""
    if isinstance(target, Group):
        return _group_help(target, program)
    return _command_help(target, program, short_flags)


def _group_help(group: Group, program: str) -> str:
    where = " ".join([program, *group.path])
    lines = [f"usage: {where} COMMAND [ARGS]...", ""]
    lines += _paragraphs(group.summary, group.description)
    lines += ["commands:"]
    for name in group.names():
        member = group.member(name)
        lines += _row(name, member.summary)
    lines += ["", f"Run '{where} COMMAND --help' for a command's arguments and flags."]
    return "\n".join(lines) + "\n"


def _command_help(command: Command, program: str, short_flags: Mapping[str, str]) -> str:
    where = " ".join([program, *command.path])
    positionals = " ".join(p.spelling for p in command.positionals)
    usage = " ".join(
        part for part in (where, positionals, "[FLAGS]" if command.flags else "") if part
    )
    lines = [f"usage: {usage}", ""]
    lines += _paragraphs(command.summary, command.description)
    if command.positionals:
        lines += ["arguments:"]
        for parameter in command.positionals:
            lines += _row(parameter.spelling, parameter.help)
        lines += [""]
    lines += ["flags:"]
    for parameter in command.flags:
        lines += _row(_flag_label(parameter, short_flags), parameter.help)
    lines += _row("-h, --help", "show this help and exit")
    return "\n".join(lines) + "\n"


def _flag_label(parameter: Parameter, short_flags: Mapping[str, str]) -> str:
    short = [s for s, long in short_flags.items() if long == parameter.spelling]
    label = ", ".join([*short, parameter.spelling])
    return label if parameter.switch else f"{label} {parameter.placeholder}"


def _paragraphs(summary: str, description: str) -> list[str]:
    lines = []
    for paragraph in (summary, *description.split("\n\n")):
        if paragraph.strip():
            lines += [*textwrap.wrap(" ".join(paragraph.split()), WIDTH), ""]
    return lines


def _row(label: str, text: str) -> list[str]:
    """``  label   text`` with the text wrapped in its column."""
    indent = " " * (_COLUMN + 2)
    if not text:
        return [f"  {label}"]
    if len(label) >= _COLUMN:
        first = [f"  {label}"]
        return first + textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent)
    wrapped = textwrap.wrap(text, WIDTH - _COLUMN - 2)
    rows = [f"  {label.ljust(_COLUMN)}{wrapped[0]}"]
    rows += [indent + line for line in wrapped[1:]]
    return rows
