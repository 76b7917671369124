"""Messages and their content blocks: the vocabulary every provider speaks.

Metadata keys (on the last Message of a reply):

- ``"model"`` (str): the model that answered.
- ``"finish_reason"`` (str): why it stopped, one of ``stop``, ``length``,
  ``tool_use``, ``content_filter``, ``error`` or ``other``.
- ``"finish_reason_raw"`` (str): the backend's own word for it, unchanged.
- ``"usage"`` (dict): ``input_tokens``, ``output_tokens``, ``total_tokens``;
  absent when the backend reported none (never zeros standing in for unknown).
- ``"reasoning"`` (str): a model's visible reasoning, kept out of the text.
- ``"native_session_id"`` (str): the backend's own session id, for backends
  that keep sessions themselves; core stores it in the claif session.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, TypeAlias, TypedDict

from .errors import ValidationError

__all__ = [
    "ContentBlock",
    "ImageBlock",
    "META_FINISH_REASON",
    "META_FINISH_REASON_RAW",
    "META_MODEL",
    "META_NATIVE_SESSION",
    "META_REASONING",
    "META_USAGE",
    "Message",
    "Role",
    "TextBlock",
    "Tool",
    "ToolResultBlock",
    "ToolUseBlock",
    "Usage",
    "make_usage",
]

META_MODEL = "model"
META_FINISH_REASON = "finish_reason"
META_FINISH_REASON_RAW = "finish_reason_raw"
META_NATIVE_SESSION = "native_session_id"
META_USAGE = "usage"
META_REASONING = "reasoning"

MAX_IMAGE_BYTES = 20 * 1024 * 1024


class Role(str, enum.Enum):
    """Who speaks a message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class Usage(TypedDict):
    """Token counts of one reply, as the backend reported them."""

    input_tokens: int
    output_tokens: int
    total_tokens: int


def make_usage(input_tokens: int | None, output_tokens: int | None) -> Usage:
    """A Usage dict whose total is derived, so it can never disagree."""
    given_in, given_out = int(input_tokens or 0), int(output_tokens or 0)
    return Usage(input_tokens=given_in, output_tokens=given_out, total_tokens=given_in + given_out)


@dataclass(frozen=True, slots=True)
class TextBlock:
    """Plain text."""

    text: str
    type: ClassVar[str] = "text"


_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
)


def sniff_image_type(data: bytes) -> str | None:
    """The media type from magic bytes, or None: extensions lie, headers rarely do."""
    for magic, offset, media_type in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            if media_type == "image/webp" and not data.startswith(b"RIFF"):
                continue
            return media_type
    return None


@dataclass(frozen=True, slots=True)
class ImageBlock:
    """Image bytes with their media type."""

    data: bytes
    media_type: str
    type: ClassVar[str] = "image"

    def __repr__(self) -> str:
        return f"ImageBlock(media_type={self.media_type!r}, size={len(self.data)})"

    @classmethod
    def from_path(cls, path: str | Path, *, max_bytes: int = MAX_IMAGE_BYTES) -> ImageBlock:
        """Read an image file, checking its size and sniffing its type.

        Only a regular file is read: a FIFO or device is refused before any read,
        and reading stops past ``max_bytes`` even if the file grows meanwhile.
        """
        from .._fileio import read_regular_file  # deferred: only images from disk need it

        target = Path(path).expanduser()
        try:
            data = read_regular_file(target, max_bytes=max_bytes)
        except OSError as exc:
            raise ValidationError(
                f"cannot read image {target}: {exc.strerror or exc}", field="images"
            ) from exc
        if data is None:
            raise ValidationError(f"cannot read image {target}: no such file", field="images")
        return cls.from_bytes(data, source=str(target))

    @classmethod
    def from_bytes(cls, data: bytes, *, source: str = "image data") -> ImageBlock:
        """Wrap raw bytes, refusing anything that is not PNG, JPEG, GIF or WebP."""
        media_type = sniff_image_type(data)
        if media_type is None:
            raise ValidationError(f"{source} is not a PNG, JPEG, GIF or WebP image", field="images")
        return cls(data=data, media_type=media_type)

    def base64(self) -> str:
        """The bytes as base64 text, as most APIs want them."""
        return base64.b64encode(self.data).decode("ascii")

    def data_url(self) -> str:
        """A ``data:`` URL, the form OpenAI-compatible servers accept."""
        return f"data:{self.media_type};base64,{self.base64()}"


@dataclass(frozen=True, slots=True)
class ToolUseBlock:
    """The model asks for a tool to run; yielded whole, once its arguments are complete."""

    tool_name: str
    parameters: dict[str, Any]
    id: str = ""
    type: ClassVar[str] = "tool_use"


@dataclass(frozen=True, slots=True)
class ToolResultBlock:
    """A tool's answer, sent back to the model."""

    tool_name: str
    result: Any
    tool_use_id: str = ""
    is_error: bool = False
    type: ClassVar[str] = "tool_result"


ContentBlock: TypeAlias = TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock


@dataclass(slots=True, init=False)
class Message:
    """One message of a conversation; a str content becomes a single TextBlock."""

    role: Role
    content: list[ContentBlock] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        role: Role | str,
        content: str | Sequence[ContentBlock] = (),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if role.__class__ is Role:  # the common case, kept cheap: streams build many Messages
            self.role = role
        else:
            try:
                self.role = Role(role)
            except ValueError as exc:
                raise ValidationError(f"unknown role {role!r}", field="role") from exc
        self.content = [TextBlock(content)] if isinstance(content, str) else list(content)
        self.metadata = dict(metadata) if metadata else {}

    @property
    def text(self) -> str:
        """All TextBlocks joined: the reply as a person reads it."""
        content = self.content
        if len(content) == 1 and content[0].__class__ is TextBlock:  # a streamed part: fast path
            return content[0].text
        return "".join(block.text for block in self.content if isinstance(block, TextBlock))

    @property
    def tool_uses(self) -> list[ToolUseBlock]:
        """The tool calls this message asks for."""
        return [block for block in self.content if isinstance(block, ToolUseBlock)]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, used by sessions and ``--json`` output."""
        from ._codec import message_to_dict

        return message_to_dict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> Message:
        """Rebuild a Message written by :meth:`to_dict`."""
        from ._codec import message_from_dict

        return message_from_dict(payload)


ToolHandler: TypeAlias = Callable[..., Any] | Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Tool:
    """A function the model may call: name, description, JSON-schema parameters, handler."""

    name: str
    description: str
    parameters: dict[str, Any]
    handler: ToolHandler | None = None

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").isalnum():
            raise ValidationError(
                f"tool name {self.name!r} must be letters, digits, '_' or '-'", field="tools"
            )
        if self.parameters.get("type", "object") != "object":
            raise ValidationError(
                f"tool {self.name!r} parameters must be a JSON schema of type object",
                field="tools",
            )
