"""Helpers for code that uses providers: one call, the whole reply, or a script's call.

``query(provider, ...)`` is ``provider.query(...)``, the one call path of
:mod:`claif.providers._call`, with a retry policy of the caller's choosing. It
also gives that path to an object that only looks like a provider (duck typing),
whose ``query`` is then taken as one attempt.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Protocol

from .common.options import ClaifOptions
from .common.types import Message
from .providers._call import attempt_of, call
from .retry import RetryPolicy
from .streaming import collect

__all__ = ["ask", "ask_sync", "query"]


class ProviderLike(Protocol):
    """The least a caller needs of a provider."""

    @property
    def name(self) -> str: ...

    async def connect(self) -> None: ...

    def query(self, prompt: str, options: ClaifOptions | None = None) -> AsyncIterator[Message]: ...


def query(
    provider: ProviderLike,
    prompt: str,
    options: ClaifOptions | None = None,
    *,
    policy: RetryPolicy | None = None,
) -> AsyncGenerator[Message, None]:
    """Stream a reply through the call path; bad options are refused here, before any I/O.

    It is an async generator: ``contextlib.aclosing`` ends it at once (connection
    released) when a caller stops reading early.
    """
    return call(provider, attempt_of(provider), prompt, options, policy=policy)


async def ask(
    provider: ProviderLike,
    prompt: str,
    options: ClaifOptions | None = None,
    *,
    policy: RetryPolicy | None = None,
) -> Message:
    """The whole reply as one Message."""
    return await collect(query(provider, prompt, options, policy=policy))


def ask_sync(
    provider: ProviderLike,
    prompt: str,
    options: ClaifOptions | None = None,
    *,
    policy: RetryPolicy | None = None,
) -> Message:
    """:func:`ask` for scripts with no event loop; the provider is disconnected afterwards."""
    import anyio

    async def run() -> Message:
        try:
            return await ask(provider, prompt, options, policy=policy)
        finally:
            disconnect = getattr(provider, "disconnect", None)
            if disconnect is not None:
                with anyio.CancelScope(shield=True):
                    await disconnect()

    return anyio.run(run)
