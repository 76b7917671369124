"""claif-gem: Google's Gemini CLI as a claif provider, driven headless as a subprocess.

Importing this package is nearly free: ``GeminiProvider`` loads on first use,
so ``claif-gem --help`` and ``claif providers`` stay fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from claif.lazy import lazy_exports

if TYPE_CHECKING:
    from claif.common.options import ClaifOptions
    from claif.common.types import Message

    from .provider import GeminiProvider
    from .types import GeminiSettings

__version__ = "2.1.0"

__all__ = ["GeminiProvider", "GeminiSettings", "__version__", "query"]

__getattr__, __dir__ = lazy_exports(
    __name__, {".provider": ("GeminiProvider",), ".types": ("GeminiSettings",)}, __all__
)


async def query(prompt: str, options: ClaifOptions | None = None) -> AsyncIterator[Message]:
    """Stream a reply with settings from the environment and config (core's whole call path)."""
    from .provider import GeminiProvider

    async with GeminiProvider() as provider:
        async for message in provider.query(prompt, options):
            yield message
