"""claif-cod: OpenAI's Codex CLI as a claif provider, an agent driven headless as a subprocess.

Importing this package is nearly free: ``CodexProvider`` loads on first use,
so ``claif-cod --help`` and ``claif providers`` stay fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from claif.lazy import lazy_exports

if TYPE_CHECKING:
    from claif.common.options import ClaifOptions
    from claif.common.types import Message

    from .provider import CodexProvider
    from .types import CodexSettings

__version__ = "2.1.0"

__all__ = ["CodexProvider", "CodexSettings", "__version__", "query"]

__getattr__, __dir__ = lazy_exports(
    __name__, {".provider": ("CodexProvider",), ".types": ("CodexSettings",)}, __all__
)


async def query(prompt: str, options: ClaifOptions | None = None) -> AsyncIterator[Message]:
    """Stream a reply with settings from the environment and config (core's whole call path)."""
    from .provider import CodexProvider

    async with CodexProvider() as provider:
        async for message in provider.query(prompt, options):
            yield message
