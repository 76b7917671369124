"""BaseProvider: the class every Claif provider plugin subclasses.

A provider needs a ``name``, a ``capabilities`` set and an async-generator
``query`` that makes ONE attempt at a reply. Core turns that method into the
whole call (see :mod:`claif.providers._call`): checks, connect, retries, one
deadline, ``stream=False``, sessions, logging. The base class keeps no state a
subclass must initialise: a provider written with its own ``__init__`` that
never calls ``super().__init__()`` works with every part of core.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from ..common.errors import ValidationError
from ..common.options import ClaifOptions
from ..common.types import Message
from ..retry import RetryPolicy
from ._call import mark_disconnected, wrap_disconnect, wrap_query
from .capabilities import Capability

__all__ = ["BaseProvider", "Health"]

P = TypeVar("P", bound="BaseProvider")


@dataclass(frozen=True)
class Health:
    """The answer of ``health()``: whether the backend is usable, and what was seen."""

    ok: bool
    provider: str
    detail: str = ""
    models: list[str] = field(default_factory=list)
    latency_ms: float | None = None


class BaseProvider(ABC):
    """Subclass this, set ``name`` and ``capabilities``, write one attempt as ``query``.

    ``query`` yields assistant Messages per the streaming grammar (see the core
    README). Whatever a subclass writes there becomes the body of one attempt
    inside core's call path. What a provider declares is data:

    - ``capabilities``: what options it can honour; others are refused before I/O.
    - ``accepted_extras``: the ``ClaifOptions.extra`` keys it understands, or
      None when it passes any key through to its backend.
    - ``reserved_extras``: keys it sets itself, which ``extra`` may not override.
    - ``unsupported_options``: ClaifOptions fields its backend has no way to
      take (a CLI without a temperature flag); setting one is refused before I/O
      rather than silently ignored.
    - ``enforces_timeout``: True when each attempt honours ``options.timeout``
      itself (every read bounded by it); otherwise core bounds each step of the
      stream, which costs a little per Message.
    - ``retry_policy``: backoff settings; None means core's default.
    """

    name: ClassVar[str] = "provider"
    capabilities: ClassVar[frozenset[Capability | str] | set[str]] = frozenset({Capability.TEXT})
    accepted_extras: ClassVar[frozenset[str] | None] = None
    reserved_extras: ClassVar[frozenset[str]] = frozenset()
    unsupported_options: ClassVar[frozenset[str]] = frozenset()
    enforces_timeout: ClassVar[bool] = False
    retry_policy: ClassVar[RetryPolicy | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        query = cls.__dict__.get("query")
        if query is not None and not hasattr(query, "__claif_body__"):
            if not inspect.isasyncgenfunction(query):
                raise TypeError(
                    f"{cls.__name__}.query must be an async generator (async def + yield)"
                )
            cls.query = wrap_query(query)  # type: ignore[method-assign]
        disconnect = cls.__dict__.get("disconnect")
        if disconnect is not None and not hasattr(disconnect, "__claif_body__"):
            cls.disconnect = wrap_disconnect(disconnect)  # type: ignore[method-assign, assignment]

    async def connect(self) -> None:  # noqa: B027 -- optional hook, a no-op by design
        """Open connections or clients; calling it twice is harmless."""

    async def disconnect(self) -> None:
        """Release what ``connect`` opened; calling it twice is harmless.

        Called from another task while a query runs, it ends that query with a
        TransportError, and the query is not retried.
        """
        mark_disconnected(self)

    @abstractmethod
    def query(self, prompt: str, options: ClaifOptions | None = None) -> AsyncIterator[Message]:
        """Yield the reply's Messages in order, per the streaming grammar."""

    async def models(self) -> list[str]:
        """The model names the backend offers; the default says it cannot list them."""
        raise ValidationError(
            f"provider {self.name!r} cannot list its models", field="models", provider=self.name
        )

    async def health(self) -> Health:
        """Whether the provider can be used; the default only checks that it connects."""
        await self.connect()
        return Health(ok=True, provider=self.name, detail="connected")

    async def __aenter__(self: P) -> P:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        import anyio

        with anyio.CancelScope(shield=True):  # a cancelled block still releases everything
            await self.disconnect()
