"""claif-myprovider: any OpenAI-compatible /chat/completions server as a claif provider.

Works with OpenAI, Ollama, vLLM, llama.cpp, LM Studio and OpenRouter. Importing
this package is nearly free: ``MyProvider`` loads on first use (so
``claif-myp --help`` stays fast) and httpx only on ``MyProvider.connect()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from claif.lazy import lazy_exports

if TYPE_CHECKING:
    from claif.common.options import ClaifOptions
    from claif.common.types import Message

    from .provider import MyProvider
    from .types import MyProviderSettings

__version__ = "2.1.0"

__all__ = ["MyProvider", "MyProviderSettings", "__version__", "query"]

__getattr__, __dir__ = lazy_exports(
    __name__, {".provider": ("MyProvider",), ".types": ("MyProviderSettings",)}, __all__
)


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
