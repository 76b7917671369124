"""Where a MyProvider instance points and how patient it is: settings resolved once.

:data:`SETTINGS` declares them; core's :func:`claif.settings.resolve_settings`
takes each from the constructor argument, else the environment
(``MYPROVIDER_BASE_URL``, ``MYPROVIDER_MODEL`` ...), else, for the key,
``claif keys set myprovider``, else ``[providers.myprovider]`` in the claif
config file, else the default below. A server on loopback (Ollama, llama.cpp,
the fake backend) needs no key.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from claif.config import Secret
from claif.logs import register_url_secret
from claif.settings import Setting, http_url, positive, resolve_settings

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_EVENT_BYTES",
    "DEFAULT_MODEL",
    "PROVIDER_NAME",
    "SETTINGS",
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
# Far above any real chunk or reply, yet a broken or hostile server cannot exhaust memory.
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024


def is_loopback(url: str) -> bool:
    """Whether the URL's host is this machine, where local servers need no key."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


SETTINGS = (
    Setting("base_url", str, DEFAULT_BASE_URL, check=http_url, doc="the API root, up to /v1"),
    Setting(
        "api_key",
        secret=True,
        key_store=True,
        optional=lambda earlier: is_loopback(earlier["base_url"]),
        doc="sent as a Bearer token; a loopback server needs none",
    ),
    Setting("model", str, DEFAULT_MODEL, doc="used when a query names none"),
    Setting("connect_timeout", float, DEFAULT_CONNECT_TIMEOUT, check=positive, doc="seconds"),
    Setting("idle_timeout", float, DEFAULT_IDLE_TIMEOUT, check=positive, doc="seconds"),
    Setting("max_connections", int, DEFAULT_MAX_CONNECTIONS, check=positive),
    Setting(
        "max_event_bytes",
        int,
        DEFAULT_MAX_EVENT_BYTES,
        check=positive,
        doc="cap on one SSE event or line and one non-streamed body, decompressed",
    ),
)


@dataclass(frozen=True)
class MyProviderSettings:
    """Resolved settings of one provider instance; the key is a redacted ``Secret``.

    The fields mirror :data:`SETTINGS` (a test keeps them in step); build one
    with :meth:`resolve`.
    """

    base_url: str
    api_key: Secret | None
    model: str
    connect_timeout: float
    idle_timeout: float
    max_connections: int
    max_event_bytes: int

    @classmethod
    def resolve(cls, **keywords: Any) -> MyProviderSettings:
        """Settings from arguments (None meaning unset), environment, key store and config file.

        A keyword that names no setting is a ValidationError; a bad value or a
        missing key is a ConfigurationError naming the variable and config key.
        A password in ``base_url`` is registered for redaction, like the key.
        """
        values = resolve_settings(PROVIDER_NAME, SETTINGS, keywords)
        values["base_url"] = values["base_url"].rstrip("/")
        register_url_secret(values["base_url"])  # a server may quote the URL back in an error
        return cls(**values)
