"""Caps on what one backend can make a client hold: SeparatorCounter and its error."""

from __future__ import annotations

import pytest

from claif.bounds import DEFAULT_MAX_EVENT_BYTES, SeparatorCounter, oversized
from claif.common.errors import TransportError


def test_default_cap_lets_multi_megabyte_lines_through():
    """The default cap is 16 MiB: far above a real chunk, far below what hurts a machine."""
    assert DEFAULT_MAX_EVENT_BYTES == 16 * 1024 * 1024


def test_counts_what_arrived_since_the_last_separator():
    """Text after the chunk's last separator is what is pending; a chunk without one adds to it."""
    counter = SeparatorCounter(100)
    counter.feed("abc")
    counter.feed("de")
    assert counter.pending == 5
    counter.feed("line one\nline two\nsix")
    assert counter.pending == 3
    counter.feed("\n")
    assert counter.pending == 0


def test_many_short_lines_never_reach_the_cap():
    """However much arrives in total, lines under the cap never fail."""
    counter = SeparatorCounter(10)
    for _ in range(1000):
        counter.feed("123456789\n")
    assert counter.pending == 0


def test_the_cap_itself_is_allowed_and_one_more_fails():
    """Exactly ``cap`` pending characters pass; one more is a TransportError."""
    counter = SeparatorCounter(10, provider="vendor")
    counter.feed("x" * 10)
    with pytest.raises(
        TransportError, match="a line from the backend is over the 10 byte cap"
    ) as caught:
        counter.feed("x")
    assert caught.value.provider == "vendor"


def test_a_line_growing_across_chunks_fails_past_the_cap():
    """An endless line split into small chunks fails once it passes the cap, naming the cap."""
    counter = SeparatorCounter(1024, separators=("\n\n",), what="an event")
    for _ in range(128):  # 1024 characters: at the cap, not past it
        counter.feed("data: x\n")  # single newlines never end an SSE event
    with pytest.raises(TransportError, match=r"an event .* over the 1 KiB cap"):
        counter.feed("data: x\n")


def test_the_last_of_several_separators_resets():
    """With several separators, the one latest in the chunk is where counting restarts."""
    counter = SeparatorCounter(100, separators=("\n", "\r"))
    counter.feed("ab\rcd\nefg")
    assert counter.pending == 3
    counter.feed("hij\rk")
    assert counter.pending == 1


def test_a_separator_split_between_chunks_still_resets():
    """A blank line whose two newlines arrive in different chunks still ends the event."""
    counter = SeparatorCounter(12, separators=("\n\n",), what="an event")
    for _ in range(100):
        counter.feed("data: 12\n")
        counter.feed("\n")
    assert counter.pending == 0
    counter.feed("data: 1\n")
    counter.feed("\ndata")
    assert counter.pending == 4


@pytest.mark.parametrize(
    ("cap", "shown"),
    [(16 * 1024 * 1024, "16 MiB"), (64 * 1024, "64 KiB"), (1000, "1000 byte")],
)
def test_oversized_names_the_cap_and_the_setting(cap, shown):
    """The error names the cap in readable units and the setting that raises it."""
    error = oversized("a body", cap, provider="vendor")
    assert isinstance(error, TransportError)
    assert f"over the {shown} cap" in str(error)
    assert "max_event_bytes" in str(error)
    assert error.provider == "vendor"
