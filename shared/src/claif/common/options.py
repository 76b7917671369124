"""ClaifOptions: what a caller may ask of any provider, checked when built."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ValidationError
from .types import ImageBlock, Message, TextBlock, Tool, ToolResultBlock, ToolUseBlock

__all__ = ["ClaifOptions", "check_text", "validate_session_id"]

MAX_SESSION_ID_CHARS = 128
_SESSION_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def check_text(name: str, value: object) -> None:
    """Refuse what is not text a backend can be sent: not a str, or not encodable as UTF-8.

    A lone surrogate (what ``surrogateescape`` makes of undecodable bytes in
    ``sys.argv`` or a file) would otherwise fail deep inside a JSON encoder.
    """
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}", field=name)
    if value.isascii():
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{name} is not valid UTF-8 text: a lone surrogate at character {exc.start}",
            field=name,
        ) from exc


def check_json_values(name: str, values: dict[str, Any]) -> None:
    """Refuse values that cannot travel as JSON (objects, NaN, infinity), naming the key."""
    for key, value in values.items():
        if not isinstance(key, str):
            raise ValidationError(f"{name} keys must be strings, got {key!r}", field=name)
        try:
            json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError, RecursionError) as exc:  # UnicodeEncodeError included
            raise ValidationError(
                f"{name}[{key!r}] is not a JSON value: {exc}", field=f"{name}.{key}"
            ) from exc


def validate_session_id(session_id: str) -> str:
    """Return the id if it is safe as a file name, else raise ValidationError.

    Letters, digits, ``_ . -``; no leading dot or dash, no separators, at most 128 characters,
    so an id can never point outside the sessions folder.
    """
    if not isinstance(session_id, str) or not session_id:
        raise ValidationError("session id must be a non-empty string", field="session_id")
    if len(session_id) > MAX_SESSION_ID_CHARS:
        raise ValidationError(
            f"session id is {len(session_id)} characters, over {MAX_SESSION_ID_CHARS}",
            field="session_id",
        )
    if not _SESSION_ID.fullmatch(session_id):
        raise ValidationError(
            f"session id {session_id!r} may hold only letters, digits, '_', '.', '-' "
            "and may not start with '.' or '-'",
            field="session_id",
        )
    return session_id


@dataclass(frozen=True)
class ClaifOptions:
    """Options for one query; every field is checked on construction.

    ``images`` accepts paths or ImageBlocks and holds ImageBlocks afterwards, so a
    missing or non-image file fails here, before any provider is contacted.
    ``extra`` holds provider-specific keys; each value must be plain JSON.
    ``native_session_id`` is the backend's own session id (a Gemini CLI
    session, a Codex thread) to continue; the call path fills it in from the
    claif session, so users rarely set it.
    """

    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    system_prompt: str | None = None
    images: Sequence[str | Path | ImageBlock] = ()
    tools: Sequence[Tool] = ()
    history: Sequence[Message] = ()
    session_id: str | None = None
    max_retries: int = 2
    stream: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    native_session_id: str | None = None

    def __post_init__(self) -> None:
        for name in ("model", "system_prompt", "native_session_id"):
            value = getattr(self, name)
            if value is not None:
                check_text(name, value)
        self._check_temperature()
        self._check_positive_int("max_tokens", self.max_tokens)
        self._check_timeout()
        self._check_max_retries()
        if not isinstance(self.stream, bool):
            raise ValidationError("stream must be true or false", field="stream")
        if self.session_id is not None:
            validate_session_id(self.session_id)
        if not isinstance(self.extra, dict):
            raise ValidationError("extra must be a dict", field="extra")
        check_json_values("extra", self.extra)
        object.__setattr__(self, "images", tuple(_to_image(item) for item in self.images))
        object.__setattr__(self, "tools", self._checked_tools())
        object.__setattr__(self, "history", self._checked_history())

    @property
    def image_blocks(self) -> tuple[ImageBlock, ...]:
        """``images`` as loaded ImageBlocks (construction converted every path)."""
        return tuple(image for image in self.images if isinstance(image, ImageBlock))

    def replace(self, **changes: Any) -> ClaifOptions:
        """A copy with some fields changed, validated again."""
        return replace(self, **changes)

    def _check_temperature(self) -> None:
        value = self.temperature
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(
                f"temperature must be a number, got {value!r}", field="temperature"
            )
        if not 0.0 <= value <= 2.0:
            raise ValidationError(
                f"temperature must be between 0 and 2, got {value}", field="temperature"
            )

    @staticmethod
    def _check_positive_int(name: str, value: object) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValidationError(f"{name} must be a positive integer, got {value!r}", field=name)

    def _check_timeout(self) -> None:
        value = self.timeout
        if value is None:
            return
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ValidationError(
                f"timeout must be a positive number of seconds, got {value!r}", field="timeout"
            )

    def _check_max_retries(self) -> None:
        value = self.max_retries
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 20:
            raise ValidationError(
                f"max_retries must be an integer from 0 to 20, got {value!r}", field="max_retries"
            )

    def _checked_tools(self) -> tuple[Tool, ...]:
        tools = tuple(self.tools)
        names = [tool.name for tool in tools if isinstance(tool, Tool)]
        if len(names) != len(tools):
            raise ValidationError("tools must be Tool instances", field="tools")
        if len(set(names)) != len(names):
            raise ValidationError(f"tool names must be unique, got {names}", field="tools")
        return tools

    def _checked_history(self) -> tuple[Message, ...]:
        history = tuple(self.history)
        if not all(isinstance(message, Message) for message in history):
            raise ValidationError("history must be a sequence of Message", field="history")
        for message in history:
            for block in message.content:
                if isinstance(block, TextBlock):
                    check_text("history", block.text)
                elif isinstance(block, ToolUseBlock | ToolResultBlock):
                    _check_tool_text(block)
        return history


def _check_tool_text(block: ToolUseBlock | ToolResultBlock) -> None:
    """Tool arguments and results in history must encode as UTF-8 (objects show as str)."""
    payload = block.parameters if isinstance(block, ToolUseBlock) else block.result
    try:
        json.dumps(payload, default=str, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise ValidationError(
            f"history holds a tool {block.type} for {block.tool_name!r} that cannot be sent: "
            f"{type(exc).__name__}",
            field="history",
        ) from exc


def _to_image(item: str | Path | ImageBlock) -> ImageBlock:
    if isinstance(item, ImageBlock):
        return item
    if isinstance(item, str | Path):
        return ImageBlock.from_path(item)
    raise ValidationError(f"images must be paths or ImageBlocks, got {item!r}", field="images")
