"""Server-sent events, decoded incrementally from text chunks, with a cap on each event.

Only what model servers use is kept: the ``data`` lines of each event, joined
by newlines. ``event``, ``id`` and ``retry`` fields and ``:`` comments (the
keep-alives some servers send) are skipped; an event without data is not
dispatched. Lines may end in ``\\n``, ``\\r\\n`` or ``\\r``, split anywhere
between chunks. The decoder never holds more than ``cap`` characters of one
event or one unfinished line: past that it raises the TransportError of
:func:`claif.bounds.oversized`, so an endless line cannot exhaust memory.
"""

from __future__ import annotations

from .bounds import oversized

__all__ = ["SSEDecoder"]


class SSEDecoder:
    """Feed decoded text as it arrives; get back the data of each completed event."""

    __slots__ = ("_carry_cr", "_data", "_partial", "_partial_size", "_size", "cap", "provider")

    def __init__(self, cap: int, *, provider: str | None = None) -> None:
        self.cap = cap
        self.provider = provider
        self._partial: list[str] = []  # an unfinished line, in pieces (no quadratic joins)
        self._partial_size = 0
        self._data: list[str] = []
        self._size = 0
        self._carry_cr = False

    def feed(self, text: str) -> list[str]:
        """The data of every event that ``text`` completes (often none, often one)."""
        if (  # the common case, one whole ``data:`` event per chunk, without the line loop
            text.endswith("\n\n")
            and text.startswith("data: ")
            and text.find("\n") == len(text) - 2
            and not self._partial
            and not self._data
            and not self._carry_cr
        ):
            if len(text) - 8 > self.cap:
                raise oversized("an event", self.cap, provider=self.provider)
            return [text[6:-2]]
        if self._carry_cr:
            text = "\r" + text
            self._carry_cr = False
        if text.endswith("\r"):  # maybe the first half of \r\n: wait for the next chunk
            text = text[:-1]
            self._carry_cr = True
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            self._hold(text)
            return []
        lines = text.split("\n")
        if self._partial:
            lines[0] = "".join(self._partial) + lines[0]
            self._partial.clear()
            self._partial_size = 0
        self._hold(lines.pop())
        return self._lines(lines)

    def close(self) -> list[str]:
        """At the end of the body: the last event, even without its closing blank line."""
        lines = ["".join(self._partial), ""] if self._partial else [""]
        self._partial.clear()
        self._partial_size = 0
        self._carry_cr = False
        return self._lines(lines)

    def _hold(self, piece: str) -> None:
        if not piece:
            return
        self._partial.append(piece)
        self._partial_size += len(piece)
        if self._partial_size + self._size > self.cap:
            raise oversized("an event", self.cap, provider=self.provider)

    def _lines(self, lines: list[str]) -> list[str]:
        done: list[str] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    done.append(data[0] if len(data) == 1 else "\n".join(data))
                    data.clear()
                    self._size = 0
                continue
            if line.startswith("data:"):
                value = line[6:] if line.startswith("data: ") else line[5:]
                data.append(value)
                self._size += len(value)
                if self._size > self.cap:
                    raise oversized("an event", self.cap, provider=self.provider)
        return done
