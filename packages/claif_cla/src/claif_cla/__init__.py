"""claif-cla: Anthropic's Claude as a claif provider, through the official anthropic SDK.

Importing this package is nearly free: ``ClaudeProvider`` loads on first use
and the SDK (one to two seconds to import) only on ``ClaudeProvider.connect()``,
so ``claif-cla --help`` and ``claif providers`` never pay for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from claif.lazy import lazy_exports

if TYPE_CHECKING:
    from claif.common.options import ClaifOptions
    from claif.common.types import Message

    from .provider import ClaudeProvider
    from .types import ClaudeSettings

__version__ = "2.1.0"

__all__ = ["ClaudeProvider", "ClaudeSettings", "__version__", "query"]

__getattr__, __dir__ = lazy_exports(
    __name__, {".provider": ("ClaudeProvider",), ".types": ("ClaudeSettings",)}, __all__
)


async def query(prompt: str, options: ClaifOptions | None = None) -> AsyncIterator[Message]:
    """Stream a reply with settings from the environment and config (core's whole call path)."""
    from .provider import ClaudeProvider

    async with ClaudeProvider() as provider:
        async for message in provider.query(prompt, options):
            yield message
