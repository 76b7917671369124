"""claif-myprovider: any OpenAI-compatible /chat/completions server as a claif provider.

Works with OpenAI, Ollama, vLLM, llama.cpp, LM Studio and OpenRouter. Importing
this package is nearly free: ``MyProvider`` loads on first use (so
``claif-myp --help`` stays fast) and httpx only on ``MyProvider.connect()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from claif.common.options import ClaifOptions
    from claif.common.types import Message

    from .provider import MyProvider
    from .types import MyProviderSettings

__version__ = "2.1.0"

__all__ = ["MyProvider", "MyProviderSettings", "__version__", "query"]

_LAZY = {"MyProvider": ".provider", "MyProviderSettings": ".types"}


def __getattr__(name: str) -> Any:
    """Load ``MyProvider`` and ``MyProviderSettings`` when first asked for."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


async def query(prompt: str, options: ClaifOptions | None = None) -> AsyncIterator[Message]:
    """Stream a reply with settings from the environment and config (core's whole call path).

    Each call makes its own provider and closes it at the end: an httpx client
    belongs to one event loop, and a module-level one would break the second
    ``asyncio.run``. For many queries, keep a ``MyProvider`` open instead.
    """
    from .provider import MyProvider

    async with MyProvider() as provider:
        async for message in provider.query(prompt, options):
            yield message
