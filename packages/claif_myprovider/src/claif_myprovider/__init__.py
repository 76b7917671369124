"""claif-myprovider: any OpenAI-compatible /chat/completions server as a claif provider.

Works with OpenAI, Ollama, vLLM, llama.cpp, LM Studio and OpenRouter. Importing
this package loads no HTTP client; ``MyProvider.connect()`` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from claif.common.options import ClaifOptions
from claif.common.types import Message

from .provider import MyProvider
from .types import MyProviderSettings

__version__ = "2.0.0"

__all__ = ["MyProvider", "MyProviderSettings", "__version__", "query"]


async def query(prompt: str, options: ClaifOptions | None = None) -> AsyncIterator[Message]:
    """Stream a reply with settings from the environment and config, with core's retries.

    Each call makes its own provider and closes it at the end: an httpx client
    belongs to one event loop, and a module-level one would break the second
    ``asyncio.run``. For many queries, keep a ``MyProvider`` open instead.
    """
    from claif.host import query as host_query

    provider = MyProvider()
    try:
        async for message in host_query(provider, prompt, options):
            yield message
    finally:
        await provider.disconnect()
