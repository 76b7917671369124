"""A session around one call: its history sent before, the turn recorded after.

The backend's own session id (the Gemini CLI's session, a Codex thread) travels
the same way: stored per provider in the session, handed to the next attempt as
``options.native_session_id``, and read back from the reply's
``native_session_id`` metadata.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..common.conversation import conversation
from ..common.options import ClaifOptions
from ..common.types import META_MODEL, META_NATIVE_SESSION, Message

__all__ = ["Turn", "open_turn"]


@dataclass
class Turn:
    """The session a call continues, and the options that carry its history."""

    provider: str
    prompt: str
    options: ClaifOptions
    asked: ClaifOptions
    manager: Any

    async def record(self, parts: Sequence[Message]) -> None:
        """Append the user's turn and the merged reply; called only after a whole reply."""
        from ..streaming import merge_messages

        reply = merge_messages(parts)
        await self.record_messages([*self.user_turn(), reply], reply)

    def user_turn(self) -> list[Message]:
        """The user's message of this turn: the prompt and its images (none for an empty one)."""
        return conversation(self.prompt, self.asked.replace(history=()))

    async def record_messages(self, messages: Sequence[Message], reply: Message) -> None:
        """Append ``messages``; ``reply`` (the last answer) names the model and native id."""
        import anyio.to_thread

        native = reply.metadata.get(META_NATIVE_SESSION)
        model = reply.metadata.get(META_MODEL)
        await anyio.to_thread.run_sync(
            lambda: self.manager.record_turn(
                self.asked.session_id,
                list(messages),
                provider=self.provider,
                model=model if isinstance(model, str) and model else self.asked.model,
                system_prompt=self.asked.system_prompt,
                native_id=native if isinstance(native, str) and native else None,
            )
        )


async def open_turn(provider: str, prompt: str, options: ClaifOptions) -> Turn | None:
    """The session named by ``options.session_id`` loaded into the options, or None."""
    if not options.session_id:
        return None
    import anyio.to_thread

    from ..sessions import SessionManager, history_options

    manager = SessionManager()
    session = await anyio.to_thread.run_sync(manager.get_or_create, options.session_id)
    changes: dict[str, Any] = {"session_id": None}  # attempts see history; the Turn records
    native = session.native.get(provider)
    if native and options.native_session_id is None:
        changes["native_session_id"] = native
    carried = history_options(options, session).replace(**changes)
    return Turn(provider, prompt, carried, options, manager)
