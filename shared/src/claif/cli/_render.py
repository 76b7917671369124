"""Showing a reply on a terminal, or as JSON lines for programs."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from ..common.types import META_USAGE, Message, TextBlock, ToolResultBlock, ToolUseBlock

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["JsonLinesRenderer", "Renderer", "TextRenderer", "make_renderer"]


class Renderer:
    """Receives each Message of a stream as it arrives, then the end."""

    def message(self, message: Message) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Called once after the last Message."""

    def break_line(self) -> None:
        """End a line left open, before something else (an error) is printed."""


class TextRenderer(Renderer):
    """Text as it streams in; tool calls on lines of their own; usage when verbose."""

    def __init__(self, console: Console, errors: Console, *, verbose: bool = False) -> None:
        self.console = console
        self.errors = errors
        self.verbose = verbose
        self.metadata: dict[str, Any] = {}
        self.ends_with_newline = True

    def message(self, message: Message) -> None:
        for block in message.content:
            if isinstance(block, TextBlock):
                self._write(block.text)
            elif isinstance(block, ToolUseBlock):
                self._line(f"[tool call] {block.tool_name}({json.dumps(block.parameters)})")
            elif isinstance(block, ToolResultBlock):
                self._line(f"[tool result] {block.tool_name}: {block.result}")
        self.metadata.update(message.metadata)

    def finish(self) -> None:
        if not self.ends_with_newline:
            self._write("\n")
        if self.verbose and self.metadata:
            usage = self.metadata.get(META_USAGE) or {}
            self.errors.print(
                f"model={self.metadata.get('model')} "
                f"finish_reason={self.metadata.get('finish_reason')} "
                f"tokens in/out={usage.get('input_tokens')}/{usage.get('output_tokens')}",
                style="dim",
                markup=False,
                highlight=False,
            )

    def break_line(self) -> None:
        if not self.ends_with_newline:
            with contextlib.suppress(OSError):  # a closed stdout has nothing to end
                self._write("\n")

    def _line(self, text: str) -> None:
        if not self.ends_with_newline:
            self._write("\n")
        self._write(text + "\n")

    def _write(self, text: str) -> None:
        if not text:
            return
        self.console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
        self.ends_with_newline = text.endswith("\n")


class JsonLinesRenderer(Renderer):
    """One JSON object per Message per line, flushed at once, for pipes and scripts."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def message(self, message: Message) -> None:
        line = json.dumps(message.to_dict(), ensure_ascii=False, default=str)
        self.console.file.write(line + "\n")
        self.console.file.flush()


def make_renderer(console: Console, errors: Console, *, as_json: bool, verbose: bool) -> Renderer:
    """The renderer the flags ask for."""
    if as_json:
        return JsonLinesRenderer(console)
    return TextRenderer(console, errors, verbose=verbose)
