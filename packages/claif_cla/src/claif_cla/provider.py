"""ClaudeProvider: Anthropic's Messages API through the official SDK, as a claif provider.

``query`` is one attempt: ``messages.create(stream=True)``, each raw event
through core's assembler. Core's call path adds retries (the SDK's own are
off), the overall deadline, sessions and ``stream=False``. The SDK is imported
on ``connect()``, never with this module.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, ClassVar

import anyio

from claif.common.errors import ClaifError, ProviderError
from claif.common.options import ClaifOptions
from claif.common.types import Message
from claif.logs import mask_url
from claif.providers.base import BaseProvider, Health
from claif.providers.capabilities import Capability
from claif.settings import explicit_settings

from .client import EventDecoder, build_request, decode_message
from .types import PROVIDER_NAME, SETTINGS, ClaudeSettings

if TYPE_CHECKING:
    from .transport import SdkClient


__all__ = ["ClaudeProvider"]

HEALTH_TIMEOUT = 10.0


class ClaudeProvider(BaseProvider):
    """Claude through ``anthropic.AsyncAnthropic``; one SDK client per instance.

    Keywords are the settings of :data:`claif_cla.types.SETTINGS` (``api_key``,
    ``base_url``, ``model``, ``max_tokens``, ``connect_timeout``,
    ``idle_timeout``); one left out comes from the environment, the key store
    or the config file when the provider connects.
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
    reserved_extras: ClassVar[frozenset[str]] = frozenset(
        {"model", "messages", "max_tokens", "system", "tools", "stream"}
    )

    def __init__(self, **settings: Any) -> None:
        self._explicit = explicit_settings(PROVIDER_NAME, SETTINGS, settings)
        self._settings: ClaudeSettings | None = None
        self._sdk: SdkClient | None = None

    def __repr__(self) -> str:
        url = self._settings.base_url if self._settings else self._explicit.get("base_url")
        shown = mask_url(url) if isinstance(url, str) else None
        return f"ClaudeProvider(base_url={shown!r}, connected={self.connected})"

    @property
    def connected(self) -> bool:
        return self._sdk is not None

    @property
    def settings(self) -> ClaudeSettings:
        if self._settings is None:
            self._settings = ClaudeSettings.resolve(**self._explicit)
        return self._settings

    async def connect(self) -> None:
        """Resolve settings and make the SDK client (importing the SDK the first time)."""
        self._ready()

    async def disconnect(self) -> None:
        """Close the SDK client; a second call does nothing."""
        sdk, self._sdk = self._sdk, None
        self._settings = None
        if sdk is not None:
            await sdk.aclose()

    def _ready(self) -> SdkClient:
        if self._sdk is None:
            from .transport import SdkClient

            self._sdk = SdkClient(self.settings)
        return self._sdk

    async def query(
        self, prompt: str, options: ClaifOptions | None = None
    ) -> AsyncIterator[Message]:
        """One attempt, streamed per the core grammar; ``message_stop`` completes it."""
        options = options or ClaifOptions()
        sdk = self._ready()
        request = build_request(
            prompt, options, model=self.settings.model, max_tokens=self.settings.max_tokens
        )
        if not options.stream:
            reply = await sdk.create(request, options.timeout)
            yield decode_message(reply, model=request["model"])
            return
        decoder = EventDecoder(model=request["model"])
        stream = await sdk.open_stream(request, options.timeout)
        events = stream.__aiter__()
        failure: ClaifError | None = None
        try:
            async for event in events:
                for message in decoder.feed(event):
                    yield message
                if decoder.done:
                    break
        except Exception as exc:  # noqa: BLE001 -- the SDK's or httpx2's, mapped (a claif error unchanged)
            from .transport import error_from_sdk

            failure = error_from_sdk(exc, reading=True)
        finally:
            # The SDK's event iterator is an async generator over httpx2's byte
            # generator: closed here, in order, not by the garbage collector later
            # (which on trio finalizes them concurrently and fails).
            with anyio.CancelScope(shield=True):
                await events.aclose()
                await stream.close()
        if failure is not None:
            raise _released(failure)
        yield decoder.final()

    async def models(self) -> list[str]:
        """The model ids the API lists, sorted."""
        sdk = self._ready()
        try:
            page = await sdk.client.models.list(timeout=HEALTH_TIMEOUT)
        except Exception as exc:
            from .transport import error_from_sdk

            raise error_from_sdk(exc) from exc
        return sorted(
            str(item.id) for item in getattr(page, "data", []) if getattr(item, "id", None)
        )

    async def health(self) -> Health:
        """Whether the API lists models; backend failures are reported, not raised."""
        started = time.perf_counter()
        try:
            names = await self.models()
        except ProviderError as error:
            return Health(ok=False, provider=self.name, detail=str(error))
        latency = (time.perf_counter() - started) * 1000
        return Health(
            ok=True,
            provider=self.name,
            detail=f"{mask_url(self.settings.base_url)} lists {len(names)} models",
            models=names,
            latency_ms=round(latency, 1),
        )


def _released(error: ClaifError) -> ClaifError:
    """``error`` without the SDK's exception behind it, whose frames are collected now.

    An SDK failure mid-stream leaves httpx2's byte generators suspended inside
    its traceback's frames, in reference cycles. Collected later by whichever
    thread the garbage collector happens to run in, their finalizer fails
    ("async generator already executing"); collected here, in the task that
    owns them, they close quietly. The SDK's words are in the error's message.
    """
    import gc

    error.__cause__ = error.__context__ = None
    error.__suppress_context__ = True
    gc.collect()
    return error
