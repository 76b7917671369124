"""The turns a provider sends: earlier history, then the new user prompt with its images."""

from __future__ import annotations

from .options import ClaifOptions
from .types import ContentBlock, Message, Role, TextBlock

__all__ = ["conversation", "prompt_text"]


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


def prompt_text(
    prompt: str, options: ClaifOptions, *, resumed: bool = False, system: bool = True
) -> str:
    """One text for a CLI that reads a single prompt: system prompt, history, then the prompt.

    An agent CLI keeps its own system prompt (its tools depend on it), so ours
    goes first as tagged instructions; earlier turns go next as a tagged
    transcript, unless the CLI ``resumed`` its own session and has seen them.
    ``system=False`` leaves the system prompt out, for a CLI that takes it apart.
    :func:`claif.testing.executable.read_prompt_text` reads it back.
    """
    parts = []
    if options.system_prompt and system:
        parts.append(f"<system_instructions>\n{options.system_prompt}\n</system_instructions>")
    if options.history and not resumed:
        turns = "\n".join(_turn(message) for message in options.history if message.text)
        parts.append(f"<conversation_so_far>\n{turns}\n</conversation_so_far>")
    parts.append(prompt)
    return "\n\n".join(parts)


def _turn(message: Message) -> str:
    tag = "user" if message.role is Role.USER else "assistant"
    return f"<{tag}>\n{message.text}\n</{tag}>"
