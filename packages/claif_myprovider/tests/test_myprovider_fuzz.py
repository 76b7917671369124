"""Property tests of the wire decoder: whatever a backend sends, only claif errors come out."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claif.common import ClaifError, Message
from claif_myprovider.client import ReplyDecoder, decode_completion

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text with lone surrogates and control characters, which hypothesis leaves out by default.
ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
WIRE_KEYS = st.sampled_from(
    [
        "choices", "delta", "message", "content", "text", "tool_calls", "function", "name",
        "arguments", "id", "index", "usage", "prompt_tokens", "completion_tokens",
        "finish_reason", "error", "code", "model", "reasoning", "reasoning_content",
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | ANY_TEXT
)
# Any JSON value, its object keys mostly the names the decoder looks for.
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(WIRE_KEYS | ANY_TEXT, inner, max_size=5)
    ),
    max_leaves=20,
)


def maybe(shape: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The right shape or any JSON value in its place."""
    return shape | JSON_VALUES


def optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


FUNCTION = optional(name=maybe(ANY_TEXT), arguments=maybe(ANY_TEXT | JSON_VALUES))
FRAGMENT = optional(index=maybe(st.integers(0, 3)), id=maybe(ANY_TEXT), function=maybe(FUNCTION))
DELTA = optional(
    content=maybe(ANY_TEXT | st.lists(optional(text=maybe(ANY_TEXT)), max_size=3)),
    tool_calls=maybe(st.lists(maybe(FRAGMENT), max_size=3)),
    reasoning_content=maybe(ANY_TEXT),
    reasoning=maybe(ANY_TEXT),
)
CHOICE = optional(delta=maybe(DELTA), message=maybe(DELTA), finish_reason=maybe(ANY_TEXT))
USAGE = optional(prompt_tokens=JSON_VALUES, completion_tokens=JSON_VALUES)
ERROR = optional(message=maybe(ANY_TEXT), code=maybe(st.integers(100, 700)))


def nested(*path: str | int) -> Callable[[Any], Any]:
    """Puts a value at ``path`` inside an otherwise well-formed chunk."""

    def build(value: Any) -> Any:
        for step in reversed(path):
            value = [value] if isinstance(step, int) else {step: value}
        return value

    return build


# Chunks shaped nearly like the real thing, and any value planted at each depth, so every
# path of the decoder is reached often, not by luck.
CHUNKS = st.one_of(
    optional(
        choices=maybe(st.lists(maybe(CHOICE), max_size=2)),
        usage=maybe(USAGE),
        model=maybe(ANY_TEXT),
        error=maybe(ERROR),
    ),
    maybe(CHOICE).map(nested("choices", 0)),
    maybe(DELTA).map(nested("choices", 0, "delta")),
    maybe(DELTA).map(nested("choices", 0, "message")),
    JSON_VALUES.map(nested("choices", 0, "delta", "content")),
    maybe(st.lists(maybe(FRAGMENT), max_size=3)).map(nested("choices", 0, "delta", "tool_calls")),
    maybe(FUNCTION).map(nested("choices", 0, "delta", "tool_calls", 0, "function")),
    maybe(USAGE).map(nested("usage")),
    maybe(ERROR).map(nested("error")),
)


def only_claif_errors(run: Callable[[], object]) -> None:
    """Run ``run``; a ClaifError is a fine outcome, any other exception fails the test."""
    with contextlib.suppress(ClaifError):
        run()


def stream(events: list[str]) -> list[Message]:
    """Feed the events to one decoder as a stream does, then take its last Message."""
    decoder = ReplyDecoder(model="fuzz")
    out = [message for data in events for message in decoder.feed(data)]
    return [*out, decoder.finish()]


@FUZZ
@given(st.lists(ANY_TEXT, max_size=4))
def test_feed_takes_any_text(events):
    """Arbitrary event data (not JSON, lone surrogates, control characters): only claif errors."""
    only_claif_errors(lambda: stream(events))


@FUZZ
@given(st.lists(JSON_VALUES | CHUNKS, max_size=4))
def test_feed_takes_any_json(payloads):
    """Arbitrary JSON values and near-chunks, then [DONE], give Messages or claif errors only."""
    events = [json.dumps(payload) for payload in payloads]
    only_claif_errors(lambda: stream([*events, "[DONE]"]))


@FUZZ
@given(JSON_VALUES | CHUNKS)
def test_decode_completion_takes_any_json(payload):
    """A whole body of any JSON shape is one Message or a claif error, nothing else."""
    only_claif_errors(lambda: decode_completion(payload, model="fuzz"))


@FUZZ
@given(st.lists(CHUNKS, max_size=4))
def test_decoded_text_is_always_encodable(payloads):
    """Whatever the chunks hold, text that comes out encodes as UTF-8 (no lone surrogates)."""
    events = [json.dumps(payload) for payload in payloads]
    try:
        messages = stream([*events, "[DONE]"])
    except ClaifError:
        return
    for message in messages:
        message.text.encode("utf-8")
