"""MockProvider: a provider that answers from a script, for tests of code that uses providers."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import ClassVar, TypeAlias

from ..common.errors import ClaifError
from ..common.options import ClaifOptions
from ..common.types import (
    ContentBlock,
    Message,
    Role,
    TextBlock,
    ToolUseBlock,
)
from ..providers.base import BaseProvider
from ..providers.capabilities import Capability
from ..streaming import merge_messages

__all__ = ["MockProvider", "Reply", "ReceivedQuery"]

Reply: TypeAlias = "str | ToolUseBlock | Message | list[str | ToolUseBlock | Message] | ClaifError"


@dataclass(frozen=True)
class ReceivedQuery:
    """What one call to ``query`` was given, kept for assertions."""

    prompt: str
    options: ClaifOptions | None


class MockProvider(BaseProvider):
    """Answers each query with the next scripted reply.

    A reply is a str, a ToolUseBlock, a Message, a list of those (streamed as
    separate Messages), or a ClaifError to raise before any output. With
    ``stream=False`` a list arrives merged into one Message. ``connect`` and
    ``disconnect`` are counted so tests can check a host calls them.
    """

    name: ClassVar[str] = "mock"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(Capability)

    def __init__(self, replies: Iterable[Reply] = (), *, model: str = "mock-model") -> None:
        self.replies: deque[Reply] = deque(replies)
        self.model = model
        self.received: list[ReceivedQuery] = []
        self.connected = False
        self.connect_calls = 0
        self.disconnect_calls = 0

    def enqueue(self, *replies: Reply) -> MockProvider:
        """Add replies to the script; returns self for chaining."""
        self.replies.extend(replies)
        return self

    async def connect(self) -> None:
        self.connect_calls += 1
        self.connected = True

    async def disconnect(self) -> None:
        self.disconnect_calls += 1
        self.connected = False

    async def query(
        self, prompt: str, options: ClaifOptions | None = None
    ) -> AsyncIterator[Message]:
        self.received.append(ReceivedQuery(prompt, options))
        if not self.replies:
            raise ClaifError("MockProvider has no scripted reply left", provider=self.name)
        reply = self.replies.popleft()
        if isinstance(reply, ClaifError):
            raise reply
        parts = reply if isinstance(reply, list) else [reply]
        messages = [_as_message(part) for part in parts]
        if options is not None and not options.stream:
            messages = [merge_messages(messages)]
        for index, message in enumerate(messages):
            if index == len(messages) - 1:  # scripted metadata (usage ...) wins
                message.metadata = {**self._final_metadata(messages), **message.metadata}
            yield message

    def _final_metadata(self, messages: list[Message]) -> dict[str, object]:
        calls = any(message.tool_uses for message in messages)
        return {"model": self.model, "finish_reason": "tool_use" if calls else "stop"}


def _as_message(part: str | ToolUseBlock | Message) -> Message:
    if isinstance(part, Message):
        return Message(part.role, list(part.content), dict(part.metadata))
    block: ContentBlock = TextBlock(part) if isinstance(part, str) else part
    return Message(Role.ASSISTANT, [block])
