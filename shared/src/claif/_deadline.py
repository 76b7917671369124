"""One overall deadline for a whole call: every attempt and every wait between them.

``ClaifOptions.timeout`` starts a :class:`Deadline` when the call starts. Each
attempt is handed what is left (as its own ``options.timeout``), and a wait
before a retry that does not fit in what is left ends the call at once.
"""

from __future__ import annotations

import time

__all__ = ["Deadline"]


class Deadline:
    """A monotonic point in time, or none at all (``limit`` None: no overall limit)."""

    __slots__ = ("expires", "limit")

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.expires = None if limit is None else time.monotonic() + limit

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a limit."""
        if self.expires is None:
            return None
        return max(self.expires - time.monotonic(), 0.0)

    def expired(self) -> bool:
        """Whether the limit has passed."""
        return self.expires is not None and time.monotonic() >= self.expires

    def fits(self, wait: float) -> bool:
        """Whether waiting ``wait`` seconds still leaves time for another attempt."""
        left = self.remaining()
        return left is None or wait < left
