"""Messages to and from plain JSON data, for session files and ``--json`` output."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .errors import ValidationError
from .types import (
    ContentBlock,
    ImageBlock,
    Message,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)

__all__ = ["block_from_dict", "block_to_dict", "message_from_dict", "message_to_dict"]


def block_to_dict(block: ContentBlock) -> dict[str, Any]:
    """One block as a JSON-ready dict tagged by ``type``."""
    if isinstance(block, TextBlock):
        return {"type": "text", "text": block.text}
    if isinstance(block, ImageBlock):
        return {"type": "image", "media_type": block.media_type, "data": block.base64()}
    if isinstance(block, ToolUseBlock):
        return {
            "type": "tool_use",
            "id": block.id,
            "tool_name": block.tool_name,
            "parameters": block.parameters,
        }
    return {
        "type": "tool_result",
        "tool_use_id": block.tool_use_id,
        "tool_name": block.tool_name,
        "result": block.result,
        "is_error": block.is_error,
    }


def block_from_dict(payload: dict[str, Any]) -> ContentBlock:
    """The inverse of :func:`block_to_dict`; unknown or broken blocks raise ValidationError."""
    kind = payload.get("type")
    try:
        if kind == "text":
            return TextBlock(str(payload["text"]))
        if kind == "image":
            return ImageBlock(
                data=base64.b64decode(payload["data"], validate=True),
                media_type=str(payload["media_type"]),
            )
        if kind == "tool_use":
            return ToolUseBlock(
                tool_name=str(payload["tool_name"]),
                parameters=dict(payload.get("parameters") or {}),
                id=str(payload.get("id", "")),
            )
        if kind == "tool_result":
            return ToolResultBlock(
                tool_name=str(payload["tool_name"]),
                result=payload.get("result"),
                tool_use_id=str(payload.get("tool_use_id", "")),
                is_error=bool(payload.get("is_error", False)),
            )
    except (KeyError, TypeError, binascii.Error) as exc:
        raise ValidationError(f"broken {kind} block: {exc!r}", field="content") from exc
    raise ValidationError(f"unknown content block type {kind!r}", field="content")


def message_to_dict(message: Message) -> dict[str, Any]:
    """A Message as a JSON-ready dict."""
    return {
        "role": message.role.value,
        "content": [block_to_dict(block) for block in message.content],
        "metadata": message.metadata,
    }


def message_from_dict(payload: dict[str, Any]) -> Message:
    """The inverse of :func:`message_to_dict`."""
    if not isinstance(payload, dict) or "role" not in payload:
        raise ValidationError("a message needs a role", field="role")
    content = payload.get("content", [])
    if isinstance(content, str):
        return Message(payload["role"], content, payload.get("metadata"))
    blocks = [block_from_dict(item) for item in content]
    return Message(payload["role"], blocks, payload.get("metadata"))
