"""Where a MyProvider instance points and how patient it is: settings resolved once.

Each value comes from the constructor argument, else the environment
(``MYPROVIDER_BASE_URL``, ``MYPROVIDER_MODEL`` ...), else ``[providers.myprovider]``
in the claif config file, else the default below. The API key goes through
core's resolver; a server on loopback (Ollama, llama.cpp, the fake backend)
needs none.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from claif.common.errors import ConfigurationError
from claif.config import Secret, get_api_key, get_setting

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MODEL",
    "PROVIDER_NAME",
    "MyProviderSettings",
    "is_loopback",
]

PROVIDER_NAME = "myprovider"
DEFAULT_BASE_URL = "https://api.openai.com/v1"
DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_CONNECT_TIMEOUT = 10.0
# Reasoning models can think for minutes before their first token arrives.
DEFAULT_IDLE_TIMEOUT = 120.0
# One pool serves every concurrent query of an instance; 1,000 streams must fit.
DEFAULT_MAX_CONNECTIONS = 1000


@dataclass(frozen=True)
class MyProviderSettings:
    """Resolved settings of one provider instance; the key is a redacted ``Secret``."""

    base_url: str = DEFAULT_BASE_URL
    api_key: Secret | None = None
    model: str = DEFAULT_MODEL
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    @classmethod
    def resolve(
        cls,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        connect_timeout: float | None = None,
        idle_timeout: float | None = None,
        max_connections: int | None = None,
    ) -> MyProviderSettings:
        """Settings from arguments, environment and config file, in that order."""
        url = _base_url(base_url)
        return cls(
            base_url=url,
            api_key=_api_key(url, api_key),
            model=_setting("model", model) or DEFAULT_MODEL,
            connect_timeout=_seconds("connect_timeout", connect_timeout, DEFAULT_CONNECT_TIMEOUT),
            idle_timeout=_seconds("idle_timeout", idle_timeout, DEFAULT_IDLE_TIMEOUT),
            max_connections=max_connections or DEFAULT_MAX_CONNECTIONS,
        )


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine, where local servers need no key."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _setting(key: str, explicit: str | None) -> str | None:
    return get_setting(PROVIDER_NAME, key, explicit=explicit)


def _base_url(explicit: str | None) -> str:
    url = (_setting("base_url", explicit) or DEFAULT_BASE_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"base URL {url!r} must be an http:// or https:// URL with a host "
            "(set MYPROVIDER_BASE_URL or providers.myprovider.base_url)",
            provider=PROVIDER_NAME,
        )
    return url


def _api_key(base_url: str, explicit: str | None) -> Secret | None:
    """The key, or None for a loopback server that was given none."""
    try:
        return get_api_key(PROVIDER_NAME, explicit=explicit)
    except ConfigurationError:
        if is_loopback(base_url):
            return None
        raise


def _seconds(key: str, explicit: float | None, default: float) -> float:
    raw = _setting(key, None if explicit is None else str(explicit))
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ConfigurationError(
            f"{key} must be a positive number of seconds, got {raw!r} "
            f"(MYPROVIDER_{key.upper()} or providers.myprovider.{key})",
            provider=PROVIDER_NAME,
        )
    return value
