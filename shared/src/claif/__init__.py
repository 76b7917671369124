"""Claif 2.1: the contract between LLM provider plugins and the programs that use them.

The names most programs and plugins need are here, loaded on first use, so
``import claif`` costs next to nothing::

    import claif

    provider = claif.create_provider("myprovider")
    reply = claif.ask_sync(provider, "Name three rivers", claif.ClaifOptions(max_tokens=100))

The plugin guide's paths (``claif.common``, ``claif.common.types``,
``claif.providers.base``) hold the same objects.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "2.1.0"

if TYPE_CHECKING:
    from .common.errors import (
        AuthenticationError,
        ClaifError,
        ClaifTimeoutError,
        ConfigurationError,
        NotFoundError,
        ProviderError,
        RateLimitError,
        SessionError,
        TransportError,
        ValidationError,
    )
    from .common.options import ClaifOptions
    from .common.types import (
        ImageBlock,
        Message,
        Role,
        TextBlock,
        Tool,
        ToolResultBlock,
        ToolUseBlock,
    )
    from .config import Secret
    from .host import ask, ask_sync
    from .plugins import create_provider
    from .providers.base import BaseProvider
    from .providers.capabilities import Capability
    from .sessions import SessionManager
    from .settings import Setting
    from .streaming import StreamAssembler
    from .tools import run_tool_loop

_HOMES = {
    ".common.errors": (
        "AuthenticationError",
        "ClaifError",
        "ClaifTimeoutError",
        "ConfigurationError",
        "NotFoundError",
        "ProviderError",
        "RateLimitError",
        "SessionError",
        "TransportError",
        "ValidationError",
    ),
    ".common.options": ("ClaifOptions",),
    ".common.types": (
        "ImageBlock",
        "Message",
        "Role",
        "TextBlock",
        "Tool",
        "ToolResultBlock",
        "ToolUseBlock",
    ),
    ".config": ("Secret",),
    ".host": ("ask", "ask_sync"),
    ".plugins": ("create_provider",),
    ".providers.base": ("BaseProvider",),
    ".providers.capabilities": ("Capability",),
    ".sessions": ("SessionManager",),
    ".settings": ("Setting",),
    ".streaming": ("StreamAssembler",),
    ".tools": ("run_tool_loop",),
}
_WHERE = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "AuthenticationError",
    "BaseProvider",
    "Capability",
    "ClaifError",
    "ClaifOptions",
    "ClaifTimeoutError",
    "ConfigurationError",
    "ImageBlock",
    "Message",
    "NotFoundError",
    "ProviderError",
    "RateLimitError",
    "Role",
    "Secret",
    "SessionError",
    "SessionManager",
    "Setting",
    "StreamAssembler",
    "TextBlock",
    "Tool",
    "ToolResultBlock",
    "ToolUseBlock",
    "TransportError",
    "ValidationError",
    "__version__",
    "ask",
    "ask_sync",
    "create_provider",
    "run_tool_loop",
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
