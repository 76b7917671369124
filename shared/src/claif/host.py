"""How a host application calls any provider: checks, connect, retries, logging.

These wrap a provider from outside, relying on nothing but its ``name``,
``capabilities``, ``connect`` and ``query``, so a provider written straight from
the plugin guide gets the same treatment as one built on every helper in core.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any, Protocol

import anyio

from .common.options import ClaifOptions
from .common.types import Message
from .providers.capabilities import check_options
from .retry import RetryPolicy, retrying
from .streaming import collect

__all__ = ["ProviderLike", "ask", "ask_sync", "query"]

logger = logging.getLogger("claif.host")


class ProviderLike(Protocol):
    """The least a host needs of a provider."""

    @property
    def name(self) -> str: ...

    async def connect(self) -> None: ...

    def query(self, prompt: str, options: ClaifOptions | None = None) -> AsyncIterator[Message]: ...


async def query(
    provider: ProviderLike,
    prompt: str,
    options: ClaifOptions | None = None,
    *,
    policy: RetryPolicy | None = None,
) -> AsyncIterator[Message]:
    """Stream a reply: refuse unsupported options, connect, retry before the first Message."""
    check_options(provider, options)
    chosen = policy or RetryPolicy()
    if options is not None and policy is None:
        chosen = replace(chosen, max_retries=options.max_retries)
    await provider.connect()
    fields: dict[str, Any] = {
        "provider": provider.name,
        "model": options.model if options else None,
    }
    started = time.perf_counter()
    logger.debug("query started", extra=fields)
    stream = retrying(lambda: provider.query(prompt, options), chosen, provider=provider.name)
    if options is not None and not options.stream:
        yield await collect(stream)  # the grammar holds even for a provider that streams anyway
    else:
        async for message in stream:
            yield message
    fields["duration"] = round(time.perf_counter() - started, 4)
    logger.debug("query finished", extra=fields)


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

    async def run() -> Message:
        try:
            return await ask(provider, prompt, options, policy=policy)
        finally:
            disconnect = getattr(provider, "disconnect", None)
            if disconnect is not None:
                await disconnect()

    return anyio.run(run)
