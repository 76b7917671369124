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

import importlib
from typing import TYPE_CHECKING, Any

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
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

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


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is asked for."""
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'claif' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
