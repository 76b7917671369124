"""MyProvider: any OpenAI-compatible /chat/completions server as a claif provider.

``query`` is written as one attempt; core's call path around it adds the
retries, the overall deadline, sessions and ``stream=False``. httpx is imported
on ``connect()``, not with this module, so listing providers and
``claif-myp --help`` stay fast.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

from claif.common.errors import ProviderError
from claif.common.options import ClaifOptions
from claif.common.types import Message
from claif.logs import mask_url
from claif.providers.base import BaseProvider, Health
from claif.providers.capabilities import Capability
from claif.settings import explicit_settings

from .client import RESERVED_BODY_KEYS, ReplyDecoder, build_request, decode_completion
from .types import PROVIDER_NAME, SETTINGS, MyProviderSettings

if TYPE_CHECKING:
    from .transport import HttpTransport

__all__ = ["MyProvider"]

CHAT_PATH = "chat/completions"
MODELS_PATH = "models"
HEALTH_TIMEOUT = 10.0


class MyProvider(BaseProvider):
    """Talks to ``{base_url}/chat/completions``; one connection pool per instance.

    Arguments override ``MYPROVIDER_*`` environment variables and the claif config
    file; they are resolved on ``connect()``, so building an instance does no I/O.
    """

    name: ClassVar[str] = PROVIDER_NAME
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.TEXT,
            Capability.STREAMING,
            Capability.TOOLS,
            Capability.VISION,
            Capability.SESSIONS,
            Capability.SYSTEM_PROMPT,
            Capability.MODELS,
        }
    )

    reserved_extras: ClassVar[frozenset[str]] = RESERVED_BODY_KEYS
    enforces_timeout: ClassVar[bool] = True

    def __init__(self, **settings: Any) -> None:
        """Keywords are the settings of :data:`claif_myprovider.types.SETTINGS`.

        ``base_url``, ``api_key``, ``model``, ``connect_timeout``, ``idle_timeout``,
        ``max_connections``, ``max_event_bytes``; a keyword left out (or None)
        comes from the environment or config file when the provider connects.
        A misspelt keyword is refused here; the key is held as a ``Secret``.
        """
        self._explicit = explicit_settings(PROVIDER_NAME, SETTINGS, settings)
        self._settings: MyProviderSettings | None = None
        self._transport: HttpTransport | None = None

    def __repr__(self) -> str:
        url = self._settings.base_url if self._settings else self._explicit.get("base_url")
        shown = mask_url(url) if isinstance(url, str) else None
        return f"MyProvider(base_url={shown!r}, connected={self.connected})"

    @property
    def connected(self) -> bool:
        """Whether a connection pool is open."""
        return self._transport is not None

    @property
    def settings(self) -> MyProviderSettings:
        """The resolved settings (resolving them on first use)."""
        if self._settings is None:
            self._settings = MyProviderSettings.resolve(**self._explicit)
        return self._settings

    async def connect(self) -> None:
        """Resolve settings and open the pool; a second call does nothing."""
        self._ready()

    async def disconnect(self) -> None:
        """Close the pool; a second call does nothing. Settings are resolved anew next time."""
        transport, self._transport = self._transport, None
        self._settings = None
        if transport is not None:
            await transport.aclose()

    def _ready(self) -> HttpTransport:
        """The open transport; synchronous, so two tasks can never open two pools."""
        if self._transport is None:
            from .transport import HttpTransport

            self._transport = HttpTransport(self.settings)
        return self._transport

    async def query(
        self, prompt: str, options: ClaifOptions | None = None
    ) -> AsyncIterator[Message]:
        """One attempt at a reply, streamed per the core streaming grammar.

        The reply is complete at ``[DONE]``: its last Message is yielded at
        once, whatever the server does with the connection afterwards.
        """
        options = options or ClaifOptions()
        transport = self._ready()
        body = build_request(prompt, options, model=self.settings.model)
        deadline = transport.deadline(options.timeout)
        if not options.stream:
            payload = await transport.post_json(CHAT_PATH, body, deadline)
            yield decode_completion(payload, model=body["model"])
            return
        decoder = ReplyDecoder(model=body["model"])
        async with transport.events(CHAT_PATH, body, deadline) as events:
            async for data in events:
                for message in decoder.feed(data):
                    yield message
                if decoder.done:
                    break
            yield decoder.finish()

    async def models(self) -> list[str]:
        """The model ids the server offers (``GET /models``), sorted."""
        transport = self._ready()
        payload = await transport.get_json(MODELS_PATH, transport.deadline(HEALTH_TIMEOUT))
        entries = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(entries, list):
            raise ProviderError("GET /models did not return a model list", provider=self.name)
        return sorted(
            str(entry["id"]) for entry in entries if isinstance(entry, dict) and "id" in entry
        )

    async def health(self) -> Health:
        """Whether the server answers ``GET /models``; backend failures are reported, not raised.

        A configuration error (no key, bad URL) still raises: the user must fix it.
        """
        started = time.perf_counter()
        try:
            names = await self.models()
        except ProviderError as error:
            return Health(ok=False, provider=self.name, detail=str(error))
        latency = (time.perf_counter() - started) * 1000
        detail = f"{mask_url(self.settings.base_url)} lists {len(names)} models"
        return Health(
            ok=True, provider=self.name, detail=detail, models=names, latency_ms=round(latency, 1)
        )
