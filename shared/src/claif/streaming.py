"""The streaming grammar, made executable: assemble a stream, or check one.

The grammar every provider's ``query`` follows:

1. It yields assistant Messages, in order.
2. Joining the TextBlocks of all of them gives the full text.
3. A tool call is yielded whole, as one ToolUseBlock, once its arguments are complete.
4. The last Message carries ``model``, ``finish_reason`` and ``usage`` in metadata.
5. With ``stream=False`` exactly one Message comes.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable

from .common.errors import ProviderError
from .common.types import ContentBlock, Message, Role, TextBlock

__all__ = ["collect", "merge_messages"]


def merge_messages(messages: Iterable[Message]) -> Message:
    """One assistant Message from the parts of a stream: text joined, other blocks kept in order."""
    content: list[ContentBlock] = []
    metadata: dict[str, object] = {}
    pending: list[str] = []
    for message in messages:
        for block in message.content:
            if isinstance(block, TextBlock):
                pending.append(block.text)
                continue
            if pending:
                content.append(TextBlock("".join(pending)))
                pending = []
            content.append(block)
        metadata.update(message.metadata)
    if pending:
        content.append(TextBlock("".join(pending)))
    return Message(Role.ASSISTANT, content, metadata)


async def collect(stream: AsyncIterable[Message]) -> Message:
    """Drain a ``query`` stream into one Message; an empty stream is a ProviderError."""
    parts = [message async for message in stream]
    if not parts:
        raise ProviderError("the provider ended its reply without a single message")
    return merge_messages(parts)
