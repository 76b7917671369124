"""The tool loop, driven by MockProvider scripts."""

from __future__ import annotations

import logging
import threading
from typing import ClassVar

import anyio.lowlevel
import pytest

from claif.common.errors import AuthenticationError, ValidationError
from claif.common.options import ClaifOptions
from claif.common.types import (
    ImageBlock,
    Message,
    Role,
    TextBlock,
    Tool,
    ToolResultBlock,
    ToolUseBlock,
)
from claif.providers.capabilities import Capability
from claif.sessions import SessionManager
from claif.testing import MockProvider
from claif.tools import ToolLoopResult, calculator_tool, run_tool_loop

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def make_tool(name, handler):
    return Tool(
        name=name, description=f"the {name} tool", parameters={"type": "object"}, handler=handler
    )


def weather(city):
    return f"sunny in {city}"


def call(name, id, **parameters):
    return ToolUseBlock(name, parameters, id=id)


async def test_single_tool_call_then_answer():
    """One tool call is run, its result sent back with an empty prompt, and the answer returned."""
    provider = MockProvider([call("calculator", "call_1", expression="6*7"), "It is 42."])

    result = await run_tool_loop(provider, "What is 6*7?", tools=[calculator_tool])

    assert isinstance(result, ToolLoopResult)
    assert result.text == "It is 42."
    assert (result.turns, result.hit_turn_limit) == (2, False)
    first, second = provider.received
    assert first.prompt == "What is 6*7?"
    assert first.options is not None
    assert first.options.tools == (calculator_tool,)
    assert first.options.history == ()
    assert second.prompt == ""
    assert second.options is not None
    user, assistant, tool = second.options.history
    assert (user.role, user.text) == (Role.USER, "What is 6*7?")
    assert assistant.tool_uses == [call("calculator", "call_1", expression="6*7")]
    assert tool.role is Role.TOOL
    assert tool.content == [ToolResultBlock("calculator", 42, tool_use_id="call_1")]
    assert result.messages == [user, assistant, tool, result.final]


async def test_two_calls_in_one_turn():
    """Two calls in one reply run in order and return as one tool message with both ids."""
    provider = MockProvider(
        [[call("weather", "a", city="Oslo"), call("weather", "b", city="Rome")], "Both sunny."]
    )

    result = await run_tool_loop(provider, "Weather?", tools=[make_tool("weather", weather)])

    tool_message = result.messages[2]
    assert tool_message.content == [
        ToolResultBlock("weather", "sunny in Oslo", tool_use_id="a"),
        ToolResultBlock("weather", "sunny in Rome", tool_use_id="b"),
    ]
    assert result.text == "Both sunny."


async def test_handler_exception_becomes_error_result_and_loop_continues():
    """A handler that raises sends an is_error result naming the exception, and the loop goes on."""

    def broken(**_):
        raise RuntimeError("disk on fire")

    provider = MockProvider([call("broken", "x"), "Sorry, the tool failed."])

    result = await run_tool_loop(provider, "Go", tools=[make_tool("broken", broken)])

    sent = provider.received[1].options.history[-1].content
    assert sent == [
        ToolResultBlock("broken", "RuntimeError: disk on fire", tool_use_id="x", is_error=True)
    ]
    assert result.text == "Sorry, the tool failed."


async def test_unknown_tool_becomes_error_result():
    """A call of a tool nobody offered is answered with an is_error result, not raised."""
    provider = MockProvider([call("nope", "n1"), "OK."])

    result = await run_tool_loop(provider, "Go", tools=[calculator_tool])

    (block,) = result.messages[2].content
    assert isinstance(block, ToolResultBlock)
    assert block.is_error
    assert block.tool_use_id == "n1"
    assert block.result.startswith("ValidationError: unknown tool 'nope'")
    assert "calculator" in block.result


async def test_wrong_parameters_become_error_result():
    """Parameters the handler does not accept come back as an is_error TypeError result."""
    provider = MockProvider([call("calculator", "c", expr="1+1"), "OK."])

    result = await run_tool_loop(provider, "Go", tools=[calculator_tool])

    (block,) = result.messages[2].content
    assert block.is_error
    assert block.result.startswith("TypeError:")


async def test_async_handler_is_awaited():
    """An async handler is awaited and its value sent back."""

    async def slow_weather(city):
        await anyio.lowlevel.checkpoint()
        return {"city": city, "sky": "clear"}

    provider = MockProvider([call("weather", "w", city="Lima"), "Clear."])

    result = await run_tool_loop(provider, "Go", tools=[make_tool("weather", slow_weather)])

    assert result.messages[2].content == [
        ToolResultBlock("weather", {"city": "Lima", "sky": "clear"}, tool_use_id="w")
    ]


async def test_sync_handler_runs_off_the_event_loop_thread():
    """A sync handler runs in a worker thread, so it cannot block the event loop."""
    seen: list[int] = []

    def record(**_):
        seen.append(threading.get_ident())
        return "done"

    provider = MockProvider([call("record", "r"), "Done."])

    await run_tool_loop(provider, "Go", tools=[make_tool("record", record)])

    assert seen
    assert seen[0] != threading.get_ident()


async def test_turn_limit_stops_without_raising():
    """At max_turns the loop stops with hit_turn_limit set and a transcript ending in results."""
    provider = MockProvider([call("calculator", f"c{i}", expression="1+1") for i in range(5)])

    result = await run_tool_loop(provider, "Loop", tools=[calculator_tool], max_turns=2)

    assert (result.turns, result.hit_turn_limit) == (2, True)
    assert len(provider.received) == 2
    assert result.final.tool_uses == [call("calculator", "c1", expression="1+1")]
    assert result.messages[-1].role is Role.TOOL


@pytest.mark.parametrize("max_turns", [0, -1, True, 1.5])
async def test_bad_max_turns_is_refused_before_any_query(max_turns):
    """max_turns below 1 (or not an int) is a ValidationError, and nothing is asked."""
    provider = MockProvider(["never"])

    with pytest.raises(ValidationError) as caught:
        await run_tool_loop(provider, "Go", max_turns=max_turns)

    assert caught.value.field == "max_turns"
    assert provider.received == []


async def test_calculator_end_to_end():
    """The calculator refuses an attack as an error result, then answers a real sum."""
    provider = MockProvider(
        [
            call("calculator", "bad", expression="__import__('os').system('true')"),
            call("calculator", "good", expression="2 ** 10 + 1"),
            "1025.",
        ]
    )

    result = await run_tool_loop(provider, "Compute", ClaifOptions(tools=[calculator_tool]))

    bad = result.messages[2].content[0]
    good = result.messages[4].content[0]
    assert isinstance(bad, ToolResultBlock)
    assert bad.is_error
    assert bad.result.startswith("ValidationError: not allowed in arithmetic")
    assert good == ToolResultBlock("calculator", 1025, tool_use_id="good")
    assert (result.text, result.turns) == ("1025.", 3)


async def test_answer_without_tools_takes_one_turn():
    """A reply with no tool calls ends the loop after one turn."""
    provider = MockProvider(["Hello."])

    result = await run_tool_loop(provider, "Hi", tools=[calculator_tool])

    assert (result.text, result.turns, result.hit_turn_limit) == ("Hello.", 1, False)
    assert [message.role for message in result.messages] == [Role.USER, Role.ASSISTANT]


async def test_options_history_and_settings_carry_into_later_turns():
    """Earlier history comes first on every turn, and the caller's options are kept."""
    earlier = [Message(Role.USER, "Hi"), Message(Role.ASSISTANT, "Hello")]
    options = ClaifOptions(model="m1", history=earlier, tools=[calculator_tool])
    provider = MockProvider([call("calculator", "c", expression="1"), "One."])

    result = await run_tool_loop(provider, "Go", options)

    second = provider.received[1].options
    assert second is not None
    assert second.model == "m1"
    assert list(second.history[:2]) == earlier
    assert result.messages[0].text == "Go"


async def test_tools_argument_joins_options_tools():
    """Tools passed as an argument are offered alongside options.tools."""
    options = ClaifOptions(tools=[calculator_tool])
    provider = MockProvider([call("weather", "w", city="Bern"), "Sunny."])

    result = await run_tool_loop(provider, "Go", options, tools=[make_tool("weather", weather)])

    offered = provider.received[0].options
    assert offered is not None
    assert {tool.name for tool in offered.tools} == {"calculator", "weather"}
    assert not result.messages[2].content[0].is_error


async def test_images_are_sent_once():
    """Images go with the first turn and then travel only inside the history's user turn."""
    image = ImageBlock.from_bytes(PNG)
    options = ClaifOptions(images=[image], tools=[calculator_tool])
    provider = MockProvider([call("calculator", "c", expression="1"), "An image."])

    await run_tool_loop(provider, "Describe", options)

    first, second = (received.options for received in provider.received)
    assert first is not None
    assert second is not None
    assert first.images == (image,)
    assert second.images == ()
    assert second.history[0].content == [TextBlock("Describe"), image]


class ToolsOnlyProvider(MockProvider):
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TEXT, Capability.TOOLS})


async def test_provider_without_history_support_is_refused_up_front():
    """Tools on a provider that cannot take history are refused before the first query."""
    provider = ToolsOnlyProvider(["never"])

    with pytest.raises(ValidationError) as caught:
        await run_tool_loop(provider, "Go", tools=[calculator_tool])

    assert caught.value.field == "history"
    assert provider.received == []


async def test_each_tool_call_is_logged(caplog):
    """Every tool call is logged at DEBUG on claif.tools with provider, tool and duration."""
    provider = MockProvider([call("calculator", "c", expression="1+1"), "Two."])

    with caplog.at_level(logging.DEBUG, logger="claif.tools"):
        await run_tool_loop(provider, "Go", tools=[calculator_tool])

    (record,) = [r for r in caplog.records if r.name == "claif.tools"]
    assert record.levelno == logging.DEBUG
    assert (record.provider, record.tool) == ("mock", "calculator")
    assert record.duration >= 0


@pytest.fixture
def sessions(tmp_path, monkeypatch) -> SessionManager:
    """The manager the call path uses: CLAIF_SESSIONS_DIR points at a temporary folder."""
    monkeypatch.setenv("CLAIF_SESSIONS_DIR", str(tmp_path))
    return SessionManager(tmp_path)


async def test_session_records_the_whole_transcript_once(sessions):
    """With a session the loop sends history once per turn and records the transcript once."""
    earlier = [Message(Role.USER, "Hi"), Message(Role.ASSISTANT, "Hello")]
    sessions.record_turn("chat", earlier, provider="mock", model="m")
    provider = MockProvider([call("calculator", "c1", expression="6*7"), "It is 42."])
    options = ClaifOptions(session_id="chat", system_prompt="Be exact")

    result = await run_tool_loop(provider, "6*7?", options, tools=[calculator_tool])

    first, second = (received.options for received in provider.received)
    assert list(first.history) == earlier
    assert list(second.history) == [*earlier, *result.messages[:3]]
    session = sessions.load("chat")
    assert session.messages == [*earlier, *result.messages]
    assert [m.role for m in session.messages[2:]] == [
        Role.USER,
        Role.ASSISTANT,
        Role.TOOL,
        Role.ASSISTANT,
    ]
    assert session.messages[4].content[0].result == 42
    assert (session.provider, session.model, session.system_prompt) == (
        "mock",
        "mock-model",
        "Be exact",
    )


async def test_next_loop_continues_the_recorded_session(sessions):
    """A second loop on the same session starts from everything the first recorded, no more."""
    provider = MockProvider([call("calculator", "c1", expression="1+1"), "Two.", "Yes."])
    options = ClaifOptions(session_id="chat")
    first = await run_tool_loop(provider, "1+1?", options, tools=[calculator_tool])

    await run_tool_loop(provider, "Sure?", options, tools=[calculator_tool])

    assert list(provider.received[2].options.history) == first.messages
    assert len(sessions.load("chat").messages) == len(first.messages) + 2


async def test_failed_loop_records_nothing(sessions):
    """A loop whose provider fails on a later turn leaves no partial transcript in the session."""
    provider = MockProvider(
        [call("calculator", "c1", expression="1"), AuthenticationError("revoked")]
    )
    with pytest.raises(AuthenticationError):
        await run_tool_loop(
            provider, "Go", ClaifOptions(session_id="chat"), tools=[calculator_tool]
        )
    assert not sessions.path_for("chat").exists()
