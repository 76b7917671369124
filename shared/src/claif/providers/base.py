"""BaseProvider: the class every Claif provider plugin subclasses.

A provider needs a ``name``, a ``capabilities`` set and an async-generator
``query``. Everything else has a default. The base class keeps no state a
subclass must initialise: a provider written with its own ``__init__`` that
never calls ``super().__init__()`` works with every part of core.
"""

from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, TypeVar

from ..common.options import ClaifOptions
from ..common.types import Message
from .capabilities import Capability, check_options

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


def _guard_query(
    query: Callable[..., AsyncIterator[Message]],
) -> Callable[..., AsyncIterator[Message]]:
    """Wrap a subclass's ``query`` so bad options are refused before its body runs.

    The wrapper is a plain function handing back the provider's own generator:
    the check runs at the call, and streaming pays for no extra generator layer.
    """

    @functools.wraps(query)
    def guarded(
        self: BaseProvider, prompt: str, options: ClaifOptions | None = None, **kwargs: Any
    ) -> AsyncIterator[Message]:
        check_options(self, options)
        return query(self, prompt, options, **kwargs)

    guarded.__claif_guarded__ = True  # type: ignore[attr-defined]
    return guarded


class BaseProvider(ABC):
    """Subclass this, set ``name`` and ``capabilities``, implement ``query``.

    ``query`` yields assistant Messages per the streaming grammar (see the core
    README). Whatever a subclass writes, its ``query`` is wrapped so options that
    need a missing capability raise ValidationError before any I/O.
    """

    name: ClassVar[str] = "provider"
    capabilities: ClassVar[frozenset[Capability | str] | set[str]] = frozenset({Capability.TEXT})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        query = cls.__dict__.get("query")
        if query is None or getattr(query, "__claif_guarded__", False):
            return
        if not inspect.isasyncgenfunction(query):
            raise TypeError(f"{cls.__name__}.query must be an async generator (async def + yield)")
        cls.query = _guard_query(query)  # type: ignore[method-assign]

    async def connect(self) -> None:  # noqa: B027 -- optional hook, a no-op by design
        """Open connections or clients; calling it twice is harmless."""

    async def disconnect(self) -> None:  # noqa: B027 -- optional hook, a no-op by design
        """Release what ``connect`` opened; calling it twice is harmless."""

    @abstractmethod
    def query(self, prompt: str, options: ClaifOptions | None = None) -> AsyncIterator[Message]:
        """Yield the reply's Messages in order, per the streaming grammar."""

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
        await self.disconnect()
