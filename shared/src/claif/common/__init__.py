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
    error_from_http,
    parse_retry_after,
)
from .options import ClaifOptions, validate_session_id
from .types import (
    ImageBlock,
    Message,
    Role,
    TextBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    make_usage,
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
    "Usage",
    "ValidationError",
    "error_from_http",
    "make_usage",
    "parse_retry_after",
    "validate_session_id",
]
