"""Where a ClaudeProvider sends its requests and how patient it is: settings resolved by core.

Each comes from the constructor argument, else the environment
(``ANTHROPIC_API_KEY``, ``ANTHROPIC_BASE_URL``, ``CLAUDE_MODEL`` ...), else,
for the key, ``claif keys set claude``, else ``[providers.claude]`` in the
claif config file, else the default below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from claif.config import Secret
from claif.logs import register_url_secret
from claif.settings import Setting, http_url, positive, resolve_settings

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "DEFAULT_MODEL",
    "PROVIDER_NAME",
    "SETTINGS",
    "ClaudeSettings",
]

PROVIDER_NAME = "claude"
DEFAULT_MODEL = "claude-sonnet-5-5"
# The Messages API requires max_tokens; this is used when a query gives none.
DEFAULT_MAX_TOKENS = 4096

SETTINGS = (
    Setting(
        "api_key",
        secret=True,
        key_store=True,
        env="ANTHROPIC_API_KEY",
        doc="the Anthropic API key",
    ),
    Setting(
        "base_url",
        str,
        "https://api.anthropic.com",
        env="ANTHROPIC_BASE_URL",
        check=http_url,
        doc="the API root (a gateway, or a local fake)",
    ),
    Setting("model", str, DEFAULT_MODEL, doc="used when a query names none"),
    Setting(
        "max_tokens",
        int,
        DEFAULT_MAX_TOKENS,
        check=positive,
        doc="the reply's token limit when a query gives none",
    ),
    Setting("connect_timeout", float, 10.0, check=positive, doc="seconds"),
    Setting("idle_timeout", float, 120.0, check=positive, doc="seconds between two reads"),
)


@dataclass(frozen=True)
class ClaudeSettings:
    """Resolved settings of one provider instance (fields mirror :data:`SETTINGS`)."""

    api_key: Secret
    base_url: str
    model: str
    max_tokens: int
    connect_timeout: float
    idle_timeout: float

    @classmethod
    def resolve(cls, **keywords: Any) -> ClaudeSettings:
        """Settings from arguments, environment, key store and config file."""
        values = resolve_settings(PROVIDER_NAME, SETTINGS, keywords)
        values["base_url"] = values["base_url"].rstrip("/")
        register_url_secret(values["base_url"])
        return cls(**values)
