"""Property tests of the event decoder: whatever the CLI prints, only claif errors come out."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claif.common import ClaifError, Message
from claif_cod.client import EventDecoder, error_from_text

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ANY_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
KEYS = st.sampled_from(
    [
        "type", "id", "item", "text", "command", "aggregated_output", "exit_code", "status",
        "changes", "path", "kind", "server", "tool", "arguments", "result", "error", "message",
        "query", "action", "items", "completed", "usage", "input_tokens", "output_tokens",
        "thread_id",
    ]
)  # fmt: skip
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | ANY_TEXT, inner, max_size=5),
    max_leaves=20,
)
EVENT_TYPES = st.sampled_from(
    [
        "thread.started", "turn.started", "item.started", "item.updated", "item.completed",
        "turn.completed", "turn.failed", "error", "item.plan.delta",
    ]
)  # fmt: skip
ITEM_TYPES = st.sampled_from(
    [
        "agent_message", "reasoning", "command_execution", "file_change", "mcp_tool_call",
        "web_search", "todo_list", "error", "collab_tool_call",
    ]
)  # fmt: skip


def maybe(shape: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return shape | JSON_VALUES


ITEM = st.fixed_dictionaries(
    {"type": maybe(ITEM_TYPES), "id": maybe(st.sampled_from(["a", "b"]))},
    optional={key: JSON_VALUES for key in ("text", "command", "status", "exit_code", "changes",
                                            "arguments", "result", "error", "items", "query")},
)  # fmt: skip
EVENT = st.fixed_dictionaries(
    {"type": maybe(EVENT_TYPES)},
    optional={
        "item": maybe(ITEM),
        "usage": maybe(st.dictionaries(KEYS, maybe(st.integers(-5, 10**6)), max_size=4)),
        "error": maybe(st.fixed_dictionaries({}, optional={"message": maybe(ANY_TEXT)})),
        "message": maybe(ANY_TEXT),
        "thread_id": maybe(ANY_TEXT),
    },
)
LINES = st.lists(
    EVENT.map(lambda value: json.dumps(value).encode()) | st.binary(max_size=30), max_size=12
)


@FUZZ
@given(LINES)
def test_any_lines_give_messages_or_claif_errors(lines: list[bytes]) -> None:
    decoder = EventDecoder(model="m")
    with contextlib.suppress(ClaifError):
        for line in lines:
            for message in decoder.feed(line):
                assert isinstance(message, Message)
                json.dumps(message.to_dict())  # every Message can be saved in a session
        decoder.final()


@FUZZ
@given(ANY_TEXT)
def test_any_failure_text_is_a_claif_error(text: str) -> None:
    error = error_from_text(text)
    assert isinstance(error, ClaifError)
    assert str(error)
