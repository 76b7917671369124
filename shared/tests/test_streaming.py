"""StreamAssembler, decode_json and finish_reason: vendor deltas in, the streaming grammar out."""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claif.common.errors import ProviderError, TransportError
from claif.common.types import Message, ToolUseBlock
from claif.streaming import FINISH_REASONS, StreamAssembler, decode_json, finish_reason

BOUNDED = settings(max_examples=200, deadline=None)


def assembler(**kwargs) -> StreamAssembler:
    return StreamAssembler(provider="vendor", model="v-1", **kwargs)


def ended(reply: StreamAssembler) -> Message:
    reply.end()
    return reply.final()


# --- text, reasoning, model ---


def test_text_delta_is_one_message_to_yield():
    """A text delta comes back as the assistant Message to yield for it."""
    message = assembler().text("Hel")
    assert (message.role.value, message.text, message.metadata) == ("assistant", "Hel", {})


def test_final_carries_model_reasoning_and_extra_metadata():
    """The last Message names the model, keeps reasoning out of the text, adds set metadata."""
    reply = assembler()
    reply.reasoning("first ")
    reply.reasoning("think")
    reply.metadata["native_session_id"] = "thread-1"
    last = ended(reply)
    assert last.text == ""
    assert last.metadata == {
        "model": "v-1",
        "finish_reason": "stop",
        "reasoning": "first think",
        "native_session_id": "thread-1",
    }


# --- tool calls ---


def test_tool_call_fragments_by_index():
    """Fragments keyed by the vendor's index join; a new index completes the call before it."""
    reply = assembler()
    assert reply.tool_call(0, id="c1", name="add", arguments='{"a": ') is None
    assert reply.tool_call(0, arguments="2}") is None
    done = reply.tool_call(1, id="c2", name="neg", arguments='{"x": 1}')
    assert done is not None
    assert done.tool_uses == [ToolUseBlock("add", {"a": 2}, "c1")]
    reply.finish("tool_calls")
    assert ended(reply).tool_uses == [ToolUseBlock("neg", {"x": 1}, "c2")]


def test_tool_call_fragments_by_id():
    """Fragments keyed by the call's id join under that id."""
    reply = assembler()
    reply.tool_call("call_9", id="call_9", name="look", arguments='{"q": "cat')
    reply.tool_call("call_9", arguments='s"}')
    assert ended(reply).tool_uses == [ToolUseBlock("look", {"q": "cats"}, "call_9")]


def test_new_id_under_a_known_index_starts_a_new_call():
    """A vendor that reuses index 0 for every call still gets one call per id."""
    reply = assembler()
    reply.tool_call(0, id="a", name="one", arguments="{}")
    done = reply.tool_call(0, id="b", name="two", arguments="{}")
    assert done is not None
    assert done.tool_uses == [ToolUseBlock("one", {}, "a")]
    assert ended(reply).tool_uses == [ToolUseBlock("two", {}, "b")]


def test_tool_call_fragments_without_a_key():
    """Without a key, a fragment naming an id or tool starts a call; a bare one continues."""
    reply = assembler()
    reply.tool_call(id="c1", name="add", arguments='{"a":')
    reply.tool_call(arguments=" 1}")
    done = reply.tool_call(name="neg", arguments='{"x": 2}')
    assert done is not None
    assert done.tool_uses == [ToolUseBlock("add", {"a": 1}, "c1")]
    (call,) = ended(reply).tool_uses
    assert (call.tool_name, call.parameters) == ("neg", {"x": 2})
    assert call.id  # a generated id, so results can still be matched to the call


def test_unkeyed_fragments_repeating_the_id_continue_the_call():
    """Without a key, a fragment repeating the open call's id continues that call."""
    reply = assembler()
    assert reply.tool_call(id="c1", name="add", arguments='{"a":') is None
    assert reply.tool_call(id="c1", name="add", arguments=" 1}") is None
    assert ended(reply).tool_uses == [ToolUseBlock("add", {"a": 1}, "c1")]


def test_whole_parameters_are_taken_as_they_are():
    """A call whose arguments arrive as a whole object needs no parsing."""
    reply = assembler()
    reply.tool_call(0, id="c", name="f", parameters={"deep": {"list": [1, 2]}})
    assert ended(reply).tool_uses == [ToolUseBlock("f", {"deep": {"list": [1, 2]}}, "c")]


def test_a_call_without_arguments_has_empty_parameters():
    """A call that never got argument text is called with no parameters."""
    reply = assembler()
    reply.tool_call(0, id="c", name="now")
    assert ended(reply).tool_uses == [ToolUseBlock("now", {}, "c")]


def test_arguments_with_lone_surrogates_become_replacement_characters():
    """Escaped lone surrogates in tool arguments become U+FFFD, so the call can be saved."""
    reply = assembler()
    reply.tool_call(0, id="c", name="f", arguments='{"s": "a\\ud800b"}')
    assert ended(reply).tool_uses[0].parameters == {"s": "a\ufffdb"}


def test_lone_surrogates_from_an_sdk_become_replacement_characters():
    """Lone surrogates an SDK's json.loads leaves in text, reasoning or parameters become U+FFFD."""
    reply = assembler()
    assert reply.text("a\udc80b").text == "a\ufffdb"
    reply.reasoning("\ud800")
    reply.tool_call(0, id="c", name="f", parameters={"k\udfff": ["\ud800"]})
    last = ended(reply)
    assert last.metadata["reasoning"] == "\ufffd"
    assert last.tool_uses[0].parameters == {"k\ufffd": ["\ufffd"]}


@pytest.mark.parametrize(
    "arguments", ['{"a": ', "[1, 2]", '"text"', "5", "{'a': 1}", "[" * 100_000]
)
def test_malformed_arguments_are_a_provider_error(arguments):
    """Arguments that are not one JSON object are a ProviderError naming tool and provider."""
    reply = assembler()
    reply.tool_call(0, id="c", name="add", arguments=arguments)
    reply.end()
    with pytest.raises(
        ProviderError, match="'add' has arguments that are not a JSON object"
    ) as caught:
        reply.final()
    assert caught.value.provider == "vendor"


def test_malformed_arguments_fail_when_the_next_call_starts():
    """A malformed call fails as soon as a new call completes it, not only at the end."""
    reply = assembler()
    reply.tool_call(0, id="c", name="add", arguments="{oops")
    with pytest.raises(ProviderError):
        reply.tool_call(1, id="d", name="neg", arguments="{}")


# --- usage ---


def test_cumulative_usage_keeps_the_latest_report():
    """In cumulative mode each report replaces the last; a field left out keeps its value."""
    reply = assembler(usage="cumulative")
    reply.usage(10, 1)
    reply.usage(None, 5)
    assert ended(reply).metadata["usage"] == {
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
    }


def test_incremental_usage_adds_up():
    """In incremental mode each report adds to the totals."""
    reply = assembler(usage="incremental")
    reply.usage(10, 1)
    reply.usage(2, 5)
    reply.usage(output_tokens=3.0)
    assert ended(reply).metadata["usage"] == {
        "input_tokens": 12,
        "output_tokens": 9,
        "total_tokens": 21,
    }


@pytest.mark.parametrize("mode", ["cumulative", "incremental"])
def test_unknown_usage_is_absent_not_zero(mode):
    """A reply whose backend reported no usage has no "usage" key at all."""
    reply = assembler(usage=mode)
    reply.usage(None, None)
    assert "usage" not in ended(reply).metadata


GARBAGE_COUNTS = ["many", 1e400, -1, True, False, math.nan, 1.5, 2**64, "12", [3], {"n": 1}]


@pytest.mark.parametrize("mode", ["cumulative", "incremental"])
@pytest.mark.parametrize("garbage", GARBAGE_COUNTS)
def test_garbage_counts_are_ignored(mode, garbage):
    """A count that is not a sane non-negative integer is unknown: ignored, and never crashes."""
    reply = assembler(usage=mode)
    reply.usage(garbage, garbage)
    assert "usage" not in ended(reply).metadata

    reply = assembler(usage=mode)
    reply.usage(4, 2)
    reply.usage(garbage, garbage)
    assert ended(reply).metadata["usage"]["total_tokens"] == 6


# --- finish reasons and the end of a stream ---


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("stop", "stop"),
        ("end_turn", "stop"),
        ("STOP", "stop"),
        ("length", "length"),
        ("MAX_TOKENS", "length"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "content_filter"),
        ("SAFETY", "content_filter"),
        ("error", "error"),
        ("something_new", "other"),
        ("", "other"),
    ],
)
def test_finish_reason_vocabulary(raw, reason):
    """A vendor's finish reason maps to claif's vocabulary; an unknown word is "other"."""
    assert finish_reason(raw) == reason
    assert reason in FINISH_REASONS


@pytest.mark.parametrize(("raw", "reason"), [("end_turn", "stop"), ("weird", "other")])
def test_final_keeps_the_raw_finish_reason(raw, reason):
    """The last Message has the mapped reason and the vendor's own word unchanged."""
    reply = assembler()
    reply.finish(raw)
    metadata = reply.final().metadata
    assert (metadata["finish_reason"], metadata["finish_reason_raw"]) == (reason, raw)


def test_end_marker_without_a_reason_is_a_stop():
    """A stream ended properly without a finish reason is a stop; no raw word is made up."""
    metadata = ended(assembler()).metadata
    assert metadata["finish_reason"] == "stop"
    assert "finish_reason_raw" not in metadata


def test_tool_calls_make_the_reason_tool_use():
    """A reply that calls tools finished for tool use, even when the vendor said "stop"."""
    reply = assembler()
    reply.tool_call(0, id="c", name="f", arguments="{}")
    reply.finish("stop")
    metadata = reply.final().metadata
    assert (metadata["finish_reason"], metadata["finish_reason_raw"]) == ("tool_use", "stop")


def test_final_without_end_marker_is_a_transport_error():
    """A stream cut before its end marker or finish reason must not pass for a whole reply."""
    reply = assembler()
    reply.text("half a rep")
    with pytest.raises(TransportError, match="ended early") as caught:
        reply.final()
    assert caught.value.provider == "vendor"
    assert not reply.ended


# --- decode_json ---


def test_decode_json_reads_a_document():
    """decode_json returns the parsed value of valid JSON."""
    assert decode_json('{"a": [1, 2.5, null, true]}') == {"a": [1, 2.5, None, True]}


def test_decode_json_turns_lone_surrogates_into_replacement_characters():
    """Lone surrogates in strings and keys become U+FFFD; a proper pair stays one character."""
    data = '{"k\\udc00": ["\\ud800x", {"y": "\\uDFFF"}], "emoji": "\\ud83d\\ude00"}'
    assert decode_json(data) == {"k\ufffd": ["\ufffdx", {"y": "\ufffd"}], "emoji": "\U0001f600"}


@pytest.mark.parametrize("data", ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1"])
def test_decode_json_refuses_deep_nesting(data):
    """JSON nested 100000 deep is a TransportError, not a RecursionError."""
    with pytest.raises(TransportError, match="malformed chunk"):
        decode_json(data, provider="vendor", what="chunk")


@pytest.mark.parametrize("data", ["", "garbage", "{'a': 1}", '{"a": 1', "NaN!", "\x00"])
def test_decode_json_refuses_garbage_quoting_it(data):
    """Unreadable data is a TransportError naming the provider and quoting what came."""
    with pytest.raises(TransportError) as caught:
        decode_json(data, provider="vendor")
    assert caught.value.provider == "vendor"
    assert repr(data) in str(caught.value)


# --- property tests: whatever arrives, only claif errors come out ---

# Text with lone surrogates in about half the examples (st.text leaves them out).
TEXT = st.lists(st.characters() | st.characters(categories=["Cs"]), max_size=8).map("".join)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=20,
)


LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def sendable(value) -> bool:
    """Whether ``value`` can be written as UTF-8 JSON, as sessions and requests must.

    NaN and infinity pass: Python's json reads and writes them, and servers such
    as vLLM send ``-Infinity`` for log-probabilities.
    """
    json.dumps(value, ensure_ascii=False).encode("utf-8")
    return True


@BOUNDED
@given(st.text())
def test_decode_json_of_any_text_is_a_value_or_a_transport_error(data):
    """Any text gives a value that can be sent on, or a TransportError; never another exception."""
    try:
        value = decode_json(data)
    except TransportError:
        return
    assert sendable(value)


@BOUNDED
@given(JSON_VALUES)
def test_decode_json_of_any_json_round_trips_with_surrogates_scrubbed(value):
    """Any JSON document decodes to something sendable, equal to the original if that was."""
    decoded = decode_json(json.dumps(value))
    assert sendable(decoded)
    if not LONE_SURROGATE.search(json.dumps(value, ensure_ascii=False)):
        assert decoded == value


KEYS = st.none() | st.integers(0, 3) | st.sampled_from(["call_a", "call_b"])
FRAGMENTS = st.fixed_dictionaries(
    {},
    optional={
        "id": st.none() | st.sampled_from(["call_a", "call_b", "x"]),
        "name": st.none() | st.sampled_from(["add", "look"]),
        "arguments": st.none() | st.text(max_size=12) | st.just('{"a": 1}') | st.just("{"),
        "parameters": st.none() | st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=3),
    },
)
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("text"), TEXT),
        st.tuples(st.just("reasoning"), TEXT),
        st.tuples(st.just("tool_call"), st.tuples(KEYS, FRAGMENTS)),
        st.tuples(st.just("usage"), st.tuples(JSON_VALUES, JSON_VALUES)),
        st.tuples(st.just("finish"), st.text(max_size=12)),
        st.tuples(st.just("end"), st.none()),
    ),
    max_size=12,
)


def play(reply: StreamAssembler, steps) -> list[Message]:
    out: list[Message] = []
    for kind, argument in steps:
        if kind == "tool_call":
            key, fragment = argument
            message = reply.tool_call(key, **fragment)
        elif kind == "usage":
            message = reply.usage(*argument)
        elif kind == "end":
            message = reply.end()
        else:
            message = getattr(reply, kind)(argument)
        if message is not None:
            out.append(message)
    out.append(reply.final())
    return out


@BOUNDED
@given(STEPS, st.sampled_from(["cumulative", "incremental"]))
def test_assembler_fed_anything_gives_the_grammar_or_a_claif_error(steps, mode):
    """Any sequence of deltas gives whole tool calls and a proper last Message, or a typed error."""
    try:
        messages = play(StreamAssembler(provider="vendor", usage=mode), steps)
    except (ProviderError, TransportError):
        return
    last = messages[-1]
    assert last.metadata["finish_reason"] in FINISH_REASONS
    usage = last.metadata.get("usage")
    if usage is not None:
        assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"] >= 0
    for message in messages:
        for call in message.tool_uses:
            assert isinstance(call.parameters, dict)
            assert call.id
        assert sendable([message.to_dict()])
