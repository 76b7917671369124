"""The tool loop: ask, run the tools the model calls, send their results back, repeat.

Each turn goes through the one call path (:func:`claif.host.ask`), so capability
checks, connecting and retries are as for any query. With a ``session_id`` the
session's history is sent once and the whole new transcript (prompt, tool
calls, tool results, answer) is recorded when the loop ends. Tool failures are
not raised: the model gets them as ``is_error`` results and may recover, as it
would from a person saying "that did not work".
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from ..common.conversation import conversation
from ..common.errors import ValidationError
from ..common.options import ClaifOptions
from ..common.types import Message, Role, Tool, ToolResultBlock, ToolUseBlock
from ..host import ProviderLike, ask
from ..providers._turns import open_turn
from ..providers.capabilities import Capability, capabilities_of, check_options, provider_name
from ..retry import RetryPolicy

__all__ = ["ToolLoopResult", "run_tool_loop"]

logger = logging.getLogger("claif.tools")


@dataclass
class ToolLoopResult:
    """What a tool loop produced: the last answer and the whole new transcript."""

    final: Message
    """The last assistant message: the answer, or at the turn limit the last tool request."""
    messages: list[Message]
    """The new turns in order (user prompt, assistant, tool results ...), ready as history."""
    turns: int
    """How many times the provider was asked."""
    hit_turn_limit: bool = False
    """True when the model still called tools at ``max_turns``; no error is raised."""

    @property
    def text(self) -> str:
        """The final answer's text."""
        return self.final.text


async def run_tool_loop(
    provider: ProviderLike,
    prompt: str,
    options: ClaifOptions | None = None,
    *,
    tools: Sequence[Tool] | None = None,
    max_turns: int = 8,
    policy: RetryPolicy | None = None,
) -> ToolLoopResult:
    """Ask until the model answers without calling a tool, or ``max_turns`` asks were made.

    ``tools`` are offered alongside ``options.tools`` (a same-named one in ``tools``
    wins). The tools of the last turn run even at the limit, so ``messages`` always
    ends complete and can be sent back as history to carry on.
    """
    _check_max_turns(max_turns)
    registry = _registry(options, tools)
    base = (options or ClaifOptions()).replace(tools=tuple(registry.values()))
    _check_history_support(provider, base)
    session = await open_turn(provider_name(provider), prompt, base)
    result = await _loop(
        provider, prompt, session.options if session else base, registry, max_turns, policy
    )
    if session is not None:
        await session.record_messages(result.messages, result.final)
    return result


async def _loop(
    provider: ProviderLike,
    prompt: str,
    base: ClaifOptions,
    registry: Mapping[str, Tool],
    max_turns: int,
    policy: RetryPolicy | None,
) -> ToolLoopResult:
    transcript: list[Message] = []
    for turn in range(1, max_turns + 1):
        reply = await ask(provider, *_turn_request(prompt, base, transcript, turn), policy=policy)
        if turn == 1:
            transcript.extend(conversation(prompt, base.replace(history=())))
        transcript.append(reply)
        if not reply.tool_uses:
            return ToolLoopResult(reply, transcript, turn)
        transcript.append(await _run_tools(reply.tool_uses, registry, provider.name))
    return ToolLoopResult(reply, transcript, max_turns, hit_turn_limit=True)


def _turn_request(
    prompt: str, base: ClaifOptions, transcript: list[Message], turn: int
) -> tuple[str, ClaifOptions]:
    """The first turn sends the prompt; later ones send an empty prompt and the transcript."""
    if turn == 1:
        return prompt, base
    # images already travel in the transcript's first user turn; sending them again
    # would make conversation() add a second user turn.
    return "", base.replace(history=(*base.history, *transcript), images=())


def _check_max_turns(max_turns: int) -> None:
    if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
        raise ValidationError(
            f"max_turns must be a positive integer, got {max_turns!r}", field="max_turns"
        )


def _registry(options: ClaifOptions | None, tools: Sequence[Tool] | None) -> dict[str, Tool]:
    registry = {tool.name: tool for tool in (options.tools if options else ())}
    for tool in tools or ():
        if not isinstance(tool, Tool):
            raise ValidationError(f"tools must be Tool instances, got {tool!r}", field="tools")
        registry[tool.name] = tool
    return registry


def _check_history_support(provider: ProviderLike, base: ClaifOptions) -> None:
    """Refuse before any I/O what would otherwise fail on the first or second turn."""
    check_options(provider, base)
    if base.tools and Capability.SESSIONS not in capabilities_of(provider):
        raise ValidationError(
            "the tool loop sends tool results back as history, which needs the "
            "sessions capability this provider lacks",
            field="history",
            provider=provider.name,
        )


async def _run_tools(
    calls: Sequence[ToolUseBlock], registry: Mapping[str, Tool], provider: str
) -> Message:
    """Run the calls one after another, in the model's order, into one tool message."""
    results = [await _run_tool(call, registry, provider) for call in calls]
    return Message(Role.TOOL, results)


async def _run_tool(
    call: ToolUseBlock, registry: Mapping[str, Tool], provider: str
) -> ToolResultBlock:
    started = time.perf_counter()
    try:
        result = await _call_handler(_find_tool(call.tool_name, registry), call.parameters)
        block = ToolResultBlock(call.tool_name, result, call.id)
    except Exception as exc:  # noqa: BLE001 -- a tool's failure is the model's to handle
        error = f"{type(exc).__name__}: {exc}"
        block = ToolResultBlock(call.tool_name, error, call.id, is_error=True)
    fields = {
        "provider": provider,
        "tool": call.tool_name,
        "duration": round(time.perf_counter() - started, 4),
        "is_error": block.is_error,
    }
    logger.debug("tool call finished", extra=fields)
    return block


def _find_tool(name: str, registry: Mapping[str, Tool]) -> Tool:
    tool = registry.get(name)
    if tool is None:
        known = ", ".join(sorted(registry)) or "none"
        raise ValidationError(f"unknown tool {name!r}; known tools: {known}", field="tools")
    if tool.handler is None:
        raise ValidationError(f"tool {name!r} has no handler", field="tools")
    return tool


async def _call_handler(tool: Tool, parameters: Mapping[str, Any]) -> Any:
    """Await an async handler; run a sync one in a worker thread so it cannot block the loop."""
    handler = tool.handler
    assert handler is not None  # _find_tool refused a Tool without one
    if inspect.iscoroutinefunction(handler):
        return await handler(**parameters)
    result = await anyio.to_thread.run_sync(functools.partial(handler, **parameters))
    if inspect.isawaitable(result):
        result = await result
    return result
