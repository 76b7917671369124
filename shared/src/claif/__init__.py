"""Claif 2.1: the contract between LLM provider plugins and the programs that use them.

The names most programs and plugins need are here, loaded on first use, so
``import claif`` costs next to nothing::

    import claif

    provider = claif.create_provider("myprovider")
    reply = claif.ask_sync(provider, "Name three rivers", claif.ClaifOptions(max_tokens=100))

These are the names a program calling providers needs most, and the two a
provider's author starts from (``BaseProvider``, ``StreamAssembler``). The
rest lives in the plugin guide's paths (``claif.common``, ``claif.common.types``,
``claif.providers.base``) and the modules the core README describes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

__version__ = "2.1.0"

if TYPE_CHECKING:
    from .common.errors import (
        ClaifError,
        ClaifTimeoutError,
        ConfigurationError,
        ProviderError,
        RateLimitError,
        ValidationError,
    )
    from .common.options import ClaifOptions
    from .common.types import Message
    from .host import ask, ask_sync
    from .plugins import create_provider
    from .providers.base import BaseProvider
    from .streaming import StreamAssembler

_HOMES = {
    ".common.errors": (
        "ClaifError",
        "ClaifTimeoutError",
        "ConfigurationError",
        "ProviderError",
        "RateLimitError",
        "ValidationError",
    ),
    ".common.options": ("ClaifOptions",),
    ".common.types": ("Message",),
    ".host": ("ask", "ask_sync"),
    ".plugins": ("create_provider",),
    ".providers.base": ("BaseProvider",),
    ".streaming": ("StreamAssembler",),
}
__all__ = [
    "BaseProvider",
    "ClaifError",
    "ClaifOptions",
    "ClaifTimeoutError",
    "ConfigurationError",
    "Message",
    "ProviderError",
    "RateLimitError",
    "StreamAssembler",
    "ValidationError",
    "__version__",
    "ask",
    "ask_sync",
    "create_provider",
]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, __all__)
