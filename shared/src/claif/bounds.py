"""Caps on what one backend can make a client hold in memory.

A broken or hostile backend can send a line that never ends, an event of
gigabytes, or a small gzip body that inflates to gigabytes. Every provider caps
one event (or line) and one non-streamed body, counting what is held after
decompression, and stops with a TransportError that names the cap.
"""

from __future__ import annotations

from .common.errors import TransportError

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "oversized"]

# Far above any real chunk or reply (multi-MB lines pass), far below what hurts a machine.
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024


def oversized(what: str, cap: int, *, provider: str | None = None) -> TransportError:
    """The error for a ``what`` (an event, a line, a body) that grew past ``cap``."""
    return TransportError(
        f"{what} from the backend is over the {_size(cap)} cap "
        "(raise it with the provider's max_event_bytes setting if this is expected)",
        provider=provider,
    )


def _size(count: int) -> str:
    if count % (1024 * 1024) == 0:
        return f"{count // (1024 * 1024)} MiB"
    if count % 1024 == 0:
        return f"{count // 1024} KiB"
    return f"{count} byte"


class SeparatorCounter:
    """Counts what has arrived since the last separator, failing past the cap.

    Fed the decoded text of a stream chunk by chunk; a separator (``"\\n"`` for
    a line, the blank line of an SSE event) resets the count. Only the chunk's
    last separator is searched for, so the cost per chunk stays small. A
    separator split between two chunks (``"\n"`` then ``"\n"``) still counts:
    the end of the previous chunk is searched with the next.
    """

    __slots__ = ("_keep", "_tail", "cap", "pending", "provider", "separators", "what")

    def __init__(
        self,
        cap: int,
        *,
        separators: tuple[str, ...] = ("\n",),
        what: str = "a line",
        provider: str | None = None,
    ) -> None:
        self.cap = cap
        self.separators = separators
        self.what = what
        self.provider = provider
        self.pending = 0
        self._keep = max(map(len, separators), default=1) - 1
        self._tail = ""

    def feed(self, text: str) -> None:
        """Count ``text``; raises the TransportError of :func:`oversized` past the cap."""
        joined = self._tail + text if self._tail else text
        end = -1
        for separator in self.separators:
            found = joined.rfind(separator)
            if found >= 0:
                end = max(end, found + len(separator))
        self.pending = len(joined) - end if end >= 0 else self.pending + len(text)
        if self._keep:
            self._tail = joined[-self._keep :]
        if self.pending > self.cap:
            raise oversized(self.what, self.cap, provider=self.provider)
