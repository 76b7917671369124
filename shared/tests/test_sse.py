"""The incremental SSE decoder: framing, line endings split anywhere, and its cap."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claif.common.errors import TransportError
from claif.sse import SSEDecoder

STREAM = "data: one\n\n: keep-alive\n\nevent: x\nid: 3\ndata: two\ndata: lines\n\ndata:[DONE]\n\n"
EXPECTED = ["one", "two\nlines", "[DONE]"]


def decode(chunks: list[str], cap: int = 1024) -> list[str]:
    decoder = SSEDecoder(cap)
    out: list[str] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out + decoder.close()


def test_data_lines_join_and_other_fields_are_skipped():
    """Each event's data lines join with newlines; comments, event, id fields carry nothing."""
    assert decode([STREAM]) == EXPECTED


@pytest.mark.parametrize("ending", ["\r\n", "\r"])
def test_every_line_ending_style(ending):
    """CRLF and lone CR end lines exactly as LF does."""
    assert decode([STREAM.replace("\n", ending)]) == EXPECTED


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM) * 2), max_size=12), st.booleans())
def test_chunk_boundaries_never_change_the_events(cuts, crlf):
    """However the body is cut into chunks (a CRLF pair included), the same events come out."""
    text = STREAM.replace("\n", "\r\n") if crlf else STREAM
    points = sorted({min(cut, len(text)) for cut in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    assert decode(chunks) == EXPECTED


def test_last_event_without_blank_line_is_kept():
    """A body that ends right after ``data: [DONE]`` still gives that event."""
    assert decode(["data: a\n\ndata: [DONE]"]) == ["a", "[DONE]"]


def test_endless_line_stops_at_the_cap():
    """A line that never ends fails once it holds more than the cap, naming it."""
    with pytest.raises(TransportError, match="1 KiB cap"):
        decode(["x" * 100] * 100)


def test_event_of_many_short_lines_stops_at_the_cap():
    """An event made of many short data lines is capped as a whole."""
    with pytest.raises(TransportError, match="cap"):
        decode(["data: " + "y" * 50 + "\n"] * 100)


def test_the_cap_resets_after_each_event():
    """Events each under the cap pass, however many there are."""
    chunks = ["data: " + "z" * 900 + "\n\n"] * 50
    assert len(decode(chunks)) == 50
