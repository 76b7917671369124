"""The shared vocabulary: options, messages and the error tree, importable in one line."""

from .errors import (
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
from .options import ClaifOptions
from .types import (
    ImageBlock,
    Message,
    Role,
    TextBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
)

__all__ = [
    "AuthenticationError",
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
    "SessionError",
    "TextBlock",
    "Tool",
    "ToolResultBlock",
    "ToolUseBlock",
    "TransportError",
    "ValidationError",
]
