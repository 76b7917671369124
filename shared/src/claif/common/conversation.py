"""The turns a provider sends: earlier history, then the new user prompt with its images."""

from __future__ import annotations

from .options import ClaifOptions
from .types import ContentBlock, Message, Role, TextBlock

__all__ = ["conversation"]


def conversation(prompt: str, options: ClaifOptions | None = None) -> list[Message]:
    """History followed by a user turn holding the prompt and any images.

    An empty prompt with no images adds no user turn: that is how the tool loop
    continues a conversation that ends in tool results.
    """
    history = list(options.history) if options else []
    blocks: list[ContentBlock] = [TextBlock(prompt)] if prompt else []
    if options:
        blocks.extend(options.image_blocks)
    if blocks:
        history.append(Message(Role.USER, blocks))
    return history
