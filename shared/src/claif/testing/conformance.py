"""The conformance suite: what "a provider works" means, as tests every provider inherits.

A provider's test module writes::

    class TestMyProviderConformance(ProviderConformance):
        @pytest.fixture
        def harness(self, fake_backend) -> Harness:
            return MyHarness(fake_backend)

and gets every test below, on asyncio and on trio (anyio's pytest plugin; no
pytest-asyncio mode is needed). Tests needing a capability the provider does
not declare are skipped by that declaration; a behaviour its fake cannot
produce (it raises :class:`~claif.testing.Unsupported`) skips its test with
the reason. Retries wait no time here (:func:`~claif.testing.fast_retries`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ..common.errors import (
    AuthenticationError,
    ClaifError,
    ClaifTimeoutError,
    ProviderError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from ..common.options import ClaifOptions
from ..common.types import (
    META_FINISH_REASON,
    META_MODEL,
    META_USAGE,
    ImageBlock,
    Message,
    Role,
    TextBlock,
    Tool,
)
from ..host import query as host_query
from ..providers.capabilities import Capability, capabilities_of
from ..retry import RetryPolicy
from ..tools import run_tool_loop
from ._harness import Harness, Unsupported
from ._retries import RetryClock, fast_retries

__all__ = ["ProviderConformance", "TINY_PNG"]

# Any JSON value, nested a little: what a broken or hostile backend might send as an event.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)

# The smallest valid PNG (1x1, transparent): enough for a vision request.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
ONCE = ClaifOptions(max_retries=0)


async def _drain(stream: AsyncIterator[Message]) -> list[Message]:
    return [message async for message in stream]


def _text(messages: list[Message]) -> str:
    return "".join(message.text for message in messages)


def _open_fds() -> int | None:
    """File descriptors this process holds (Linux), or None where that cannot be read."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


async def _settled(harness: Harness, fds_before: int | None) -> None:
    """Wait (up to 3 s) until the backend holds nothing open and no descriptor leaked."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        fds = _open_fds()
        if harness.open_resources() == 0 and (
            fds_before is None or fds is None or fds <= fds_before
        ):
            return
        await anyio.sleep(0.02)
    assert harness.open_resources() == 0, "the backend still has a connection or child open"
    fds = _open_fds()
    assert fds is None or fds_before is None or fds <= fds_before, "a file descriptor leaked"


class ProviderConformance:
    """Contract tests; a subclass provides the ``harness`` fixture (see the module docstring)."""

    pytestmark = pytest.mark.anyio
    model = "conformance-model"

    @pytest.fixture(params=["asyncio", "trio"])
    def anyio_backend(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def harness(self) -> Harness:
        raise NotImplementedError("a conformance subclass must provide a `harness` fixture")

    @pytest.fixture(autouse=True)
    def clock(self) -> Iterator[RetryClock]:
        with fast_retries() as clock:
            yield clock

    @pytest.fixture(autouse=True)
    def sessions_dir(self, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("CLAIF_SESSIONS_DIR", str(tmp_path / "sessions"))

    @pytest.fixture
    async def provider(self, harness: Harness) -> AsyncIterator[Any]:
        provider = harness.make_provider()
        try:
            yield provider
        finally:
            await provider.disconnect()

    def _require(self, provider: Any, capability: Capability) -> None:
        if capability not in capabilities_of(provider):
            pytest.skip(f"the provider does not declare {capability.value!r}")

    @staticmethod
    def _script(action: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return action(*args, **kwargs)
        except Unsupported as why:
            pytest.skip(f"the fake backend cannot do this: {why}")

    @staticmethod
    def _sent(harness: Harness) -> list[Any]:
        try:
            return harness.requests()
        except Unsupported as why:
            pytest.skip(f"the fake backend cannot show its requests: {why}")

    def _options(self, **changes: Any) -> ClaifOptions:
        return ClaifOptions(model=self.model, **changes)

    # -- the streaming grammar -------------------------------------------------------------

    async def test_stream_joins_to_full_text(self, harness: Harness, provider: Any) -> None:
        """Streamed assistant Messages arrive in order and join to the whole reply."""
        self._script(harness.reply, ["Hel", "lo", ", wor", "ld"], model=self.model)
        messages = await _drain(provider.query("Say hello", self._options()))
        assert messages, "the stream yielded nothing"
        assert all(message.role is Role.ASSISTANT for message in messages)
        assert _text(messages) == "Hello, world"

    async def test_last_message_carries_model_and_finish_reason(
        self, harness: Harness, provider: Any
    ) -> None:
        """The last Message carries the model and a finish reason from claif's vocabulary."""
        self._script(harness.reply, ["one ", "two"], model=self.model)
        metadata = (await _drain(provider.query("Count", self._options())))[-1].metadata
        assert metadata.get(META_MODEL)
        assert metadata.get(META_FINISH_REASON) in ("stop", "length", "tool_use", "other")

    async def test_usage_is_reported_whole(self, harness: Harness, provider: Any) -> None:
        """Token usage the backend reports reaches the last Message, with a consistent total."""
        self._script(
            harness.reply_with_usage, ["a", "b"], model=self.model, input_tokens=7, output_tokens=3
        )
        usage = (await _drain(provider.query("Count", self._options())))[-1].metadata[META_USAGE]
        assert usage == {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}

    async def test_unknown_usage_is_absent(self, harness: Harness, provider: Any) -> None:
        """A reply whose backend reports no usage has no usage key: unknown is not zero."""
        self._script(harness.reply, ["no", " count"], model=self.model)
        metadata = (await _drain(provider.query("hi", self._options())))[-1].metadata
        assert META_USAGE not in metadata

    async def test_streams_text_in_several_messages(self, harness: Harness, provider: Any) -> None:
        """A provider that declares streaming yields a multi-part reply as several Messages."""
        self._require(provider, Capability.STREAMING)
        self._script(harness.reply, ["a", "b", "c", "d"], model=self.model)
        messages = await _drain(provider.query("Letters", self._options()))
        assert len([message for message in messages if message.text]) >= 2

    async def test_stream_false_yields_one_message(self, harness: Harness, provider: Any) -> None:
        """With stream=False exactly one Message comes, with the whole text and metadata."""
        self._script(harness.reply, ["Hel", "lo"], model=self.model)
        messages = await _drain(provider.query("Say hello", self._options(stream=False)))
        assert len(messages) == 1
        assert messages[0].text == "Hello"
        assert messages[0].metadata.get(META_FINISH_REASON)

    # -- what reaches the backend ---------------------------------------------------------

    async def test_options_reach_the_backend(self, harness: Harness, provider: Any) -> None:
        """Model, temperature and max_tokens arrive in the backend's own fields.

        A field the provider declares in ``unsupported_options`` is left out here
        (and refused: see the next test).
        """
        unsupported: frozenset[str] = getattr(provider, "unsupported_options", frozenset())
        wanted = {"temperature": 0.25, "max_tokens": 42}
        given = {name: value for name, value in wanted.items() if name not in unsupported}
        self._script(harness.reply, ["ok"], model=self.model)
        await _drain(provider.query("hi", self._options(**given)))
        sent = self._sent(harness)[-1]
        assert sent.model == self.model
        assert {name: getattr(sent, name) for name in given} == given
        assert sent.texts[-1] == "hi"

    async def test_unsupported_options_are_refused_before_io(
        self, harness: Harness, provider: Any
    ) -> None:
        """Each field in ``unsupported_options``, set alone: ValidationError naming it, no I/O."""
        unsupported = sorted(getattr(provider, "unsupported_options", frozenset()))
        if not unsupported:
            pytest.skip("the provider honours every option")
        values = {"temperature": 0.5, "max_tokens": 10, "model": "m", "timeout": 5.0}
        for name in unsupported:
            with pytest.raises(ValidationError, match=name):
                await _drain(provider.query("hi", self._options(**{name: values.get(name, 1)})))
        assert self._sent(harness) == []

    async def test_system_prompt_reaches_the_backend(self, harness: Harness, provider: Any) -> None:
        """A system prompt reaches the backend as its system instruction."""
        self._require(provider, Capability.SYSTEM_PROMPT)
        self._script(harness.reply, ["ok"], model=self.model)
        await _drain(provider.query("hi", self._options(system_prompt="Answer in French.")))
        assert self._sent(harness)[-1].system == "Answer in French."

    async def test_history_reaches_the_backend(self, harness: Harness, provider: Any) -> None:
        """Earlier turns are sent before the prompt, in order."""
        self._require(provider, Capability.SESSIONS)
        history = [Message(Role.USER, "My name is Ada."), Message(Role.ASSISTANT, "Hello Ada.")]
        self._script(harness.reply, ["Ada"], model=self.model)
        await _drain(provider.query("Who am I?", self._options(history=history)))
        assert list(self._sent(harness)[-1].texts)[-3:] == [
            "My name is Ada.",
            "Hello Ada.",
            "Who am I?",
        ]

    async def test_session_is_continued_by_id(self, harness: Harness, provider: Any) -> None:
        """A second query with the same session_id sends the first turn as history."""
        self._require(provider, Capability.SESSIONS)
        self._script(harness.reply, ["Hello Ada."], model=self.model)
        self._script(harness.reply, ["Ada."], model=self.model)
        await _drain(provider.query("My name is Ada.", self._options(session_id="conformance")))
        await _drain(provider.query("Who am I?", self._options(session_id="conformance")))
        assert list(self._sent(harness)[-1].texts)[-3:] == [
            "My name is Ada.",
            "Hello Ada.",
            "Who am I?",
        ]

    async def test_images_reach_the_backend(self, harness: Harness, provider: Any) -> None:
        """An image option arrives at the backend as one image."""
        self._require(provider, Capability.VISION)
        self._script(harness.reply, ["a pixel"], model=self.model)
        image = ImageBlock(TINY_PNG, "image/png")
        await _drain(provider.query("What is this?", self._options(images=[image])))
        assert self._sent(harness)[-1].image_count == 1

    async def test_tool_round_trip(self, harness: Harness, provider: Any) -> None:
        """A tool call comes whole, core's tool loop runs it, and the result goes back."""
        self._require(provider, Capability.TOOLS)
        self._script(harness.reply_with_tool_call, "add", {"a": 2, "b": 3}, model=self.model)
        self._script(harness.reply, ["The sum is 5."], model=self.model)
        add = Tool(
            "add",
            "Add two numbers.",
            {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}},
            handler=lambda a, b: a + b,
        )
        result = await run_tool_loop(provider, "What is 2 + 3?", self._options(), tools=[add])
        assert result.text == "The sum is 5."
        assert result.messages[1].tool_uses[0].parameters == {"a": 2, "b": 3}
        assert "5" in " ".join(self._sent(harness)[-1].tool_results)

    @pytest.mark.parametrize(
        ("capability", "options"),
        [
            (Capability.VISION, {"images": [ImageBlock(TINY_PNG, "image/png")]}),
            (Capability.TOOLS, {"tools": [Tool("noop", "does nothing", {"type": "object"})]}),
            (Capability.SESSIONS, {"history": [Message(Role.USER, [TextBlock("earlier")])]}),
            (Capability.SYSTEM_PROMPT, {"system_prompt": "Be brief."}),
        ],
    )
    async def test_missing_capability_refused_before_io(
        self, harness: Harness, provider: Any, capability: Capability, options: dict[str, Any]
    ) -> None:
        """Options needing an undeclared capability raise ValidationError and send nothing."""
        if capability in capabilities_of(provider):
            pytest.skip(f"the provider declares {capability.value!r}")
        before = len(self._sent(harness))
        with pytest.raises(ValidationError):
            await _drain(provider.query("hi", self._options(**options)))
        assert len(self._sent(harness)) == before

    # -- faults -----------------------------------------------------------------------------

    async def _fails(self, provider: Any, error: type[ClaifError], **options: Any) -> ClaifError:
        started = time.monotonic()
        with pytest.raises(error) as caught:
            await _drain(provider.query("hi", self._options(**options)))
        assert time.monotonic() - started < 10, "the failure took too long to surface"
        assert caught.value.provider, "the error does not name the provider"
        return caught.value

    async def test_auth_failure(self, harness: Harness, provider: Any) -> None:
        """Refused credentials are an AuthenticationError, not retried."""
        self._script(harness.auth_failure)
        self._script(harness.reply, ["never"], model=self.model)
        await self._fails(provider, AuthenticationError)
        assert len(self._sent(harness)) == 1

    async def test_rate_limit_carries_retry_after(self, harness: Harness, provider: Any) -> None:
        """A rate limit is a RateLimitError carrying the backend's wait."""
        self._script(harness.rate_limited, 2.0)
        error = await self._fails(provider, RateLimitError, max_retries=0)
        assert error.retry_after == 2.0

    async def test_rate_limit_is_waited_out(
        self, harness: Harness, provider: Any, clock: RetryClock
    ) -> None:
        """With retries left, the call waits the backend's Retry-After, then succeeds."""
        self._script(harness.rate_limited, 2.0)
        self._script(harness.reply, ["ok"], model=self.model)
        assert _text(await _drain(provider.query("hi", self._options()))) == "ok"
        assert clock.waits == [2.0]

    async def test_server_errors_are_retried(
        self, harness: Harness, provider: Any, clock: RetryClock
    ) -> None:
        """Retryable server errors before any output are retried until the reply comes."""
        self._script(harness.server_error_then_success, 2, ["fine"], model=self.model)
        assert _text(await _drain(provider.query("hi", self._options(max_retries=2)))) == "fine"
        assert len(clock.waits) == 2
        assert len(self._sent(harness)) == 3

    async def test_unreachable_backend(self, harness: Harness) -> None:
        """A backend that cannot be reached is a retryable TransportError, named, and quick."""
        provider = self._script(harness.make_unreachable_provider)
        try:
            error = await self._fails(provider, TransportError, max_retries=1)
        finally:
            await provider.disconnect()
        assert error.retryable

    async def test_stall_is_cut_by_the_timeout(self, harness: Harness, provider: Any) -> None:
        """A backend that goes quiet ends in ClaifTimeoutError at the call's timeout."""
        self._script(harness.stall, ["a"], model=self.model)
        started = time.monotonic()
        error = await self._fails(provider, ClaifTimeoutError, timeout=1.0, max_retries=0)
        assert time.monotonic() - started < 3
        assert isinstance(error, ClaifTimeoutError)
        assert error.timeout == 1.0

    async def test_timeout_bounds_attempts_and_waits(self, harness: Harness, provider: Any) -> None:
        """The timeout bounds every attempt and wait together: a wait that cannot fit ends it."""
        self._script(harness.server_error_then_success, 3, ["late"], model=self.model)
        real_waits = RetryPolicy(base_delay=0.5, max_delay=8, random=lambda: 1.0)
        started = time.monotonic()
        with pytest.raises(ProviderError) as caught:
            await _drain(host_query(provider, "hi", self._options(timeout=1.2), policy=real_waits))
        assert time.monotonic() - started < 2.5
        assert caught.value.retry_after is not None

    async def test_no_retry_after_output(self, harness: Harness, provider: Any) -> None:
        """A stream cut after output fails without a retry: no text is repeated."""
        self._script(harness.cut_mid_stream, ["par", "tial"], model=self.model)
        self._script(harness.reply, ["again"], model=self.model)
        seen: list[str] = []

        async def consume() -> None:
            async for message in provider.query("hi", self._options()):
                seen.append(message.text)

        with pytest.raises(TransportError):
            await consume()
        assert "again" not in "".join(seen)
        assert len(self._sent(harness)) == 1

    async def test_malformed_chunk(self, harness: Harness, provider: Any) -> None:
        """A chunk the wire format cannot read is a TransportError."""
        self._script(harness.malformed_chunk)
        await self._fails(provider, TransportError, max_retries=0)

    async def test_error_in_stream(self, harness: Harness, provider: Any) -> None:
        """An error event inside the stream is a ProviderError."""
        self._script(harness.error_in_stream, ["a"], model=self.model)
        await self._fails(provider, ProviderError, max_retries=0)

    async def test_missing_end_marker(self, harness: Harness, provider: Any) -> None:
        """A stream that stops without its end marker is a TransportError, not a short reply."""
        self._script(harness.no_end_marker, ["a", "b"], model=self.model)
        await self._fails(provider, TransportError, max_retries=0)

    async def test_end_marker_ends_the_reply(self, harness: Harness, provider: Any) -> None:
        """After the end marker the reply is complete at once, whatever the backend does next."""
        self._script(harness.end_marker_then_hang, ["all ", "here"], model=self.model)
        fds = _open_fds()
        with anyio.fail_after(3):
            messages = await _drain(provider.query("hi", self._options()))
        assert _text(messages) == "all here"
        await provider.disconnect()
        await _settled(harness, fds)

    async def test_oversized_event(self, harness: Harness, provider: Any) -> None:
        """An event over the provider's cap is a TransportError naming the cap."""
        self._script(harness.oversized_event)
        error = await self._fails(provider, TransportError, max_retries=0)
        assert "cap" in str(error)

    # -- cleanup ----------------------------------------------------------------------------

    async def test_cancellation_leaves_nothing_open(self, harness: Harness, provider: Any) -> None:
        """Cancelling a query mid-stream leaves no connection, child process or descriptor."""
        fds = _open_fds()
        self._script(harness.stall, ["a"], model=self.model)
        with anyio.move_on_after(0.5):
            await _drain(provider.query("hi", self._options()))
        await provider.disconnect()
        await _settled(harness, fds)

    async def test_breaking_out_early_leaves_nothing_open(
        self, harness: Harness, provider: Any
    ) -> None:
        """Leaving ``async for`` after the first Message closes the attempt."""
        fds = _open_fds()
        self._script(harness.stall, ["a", "b"], model=self.model)
        stream = provider.query("hi", self._options())
        first = await stream.__anext__()
        await stream.aclose()
        assert first.role is Role.ASSISTANT
        await provider.disconnect()
        await _settled(harness, fds)

    async def test_disconnect_from_another_task(self, harness: Harness, provider: Any) -> None:
        """disconnect() from another task ends a running query promptly, unretried."""
        self._script(harness.stall, ["a"], model=self.model)
        self._script(harness.reply, ["never"], model=self.model)
        fds = _open_fds()
        error: list[BaseException] = []

        running = anyio.Event()

        async def consume() -> None:
            try:
                async for _ in provider.query("hi", self._options(max_retries=3)):
                    running.set()
            except ClaifError as caught:
                error.append(caught)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(consume)
                await running.wait()  # the backend is answering: the query is under way
                await provider.disconnect()
        assert error, "the query did not end"
        assert isinstance(error[0], TransportError)
        assert len(self._sent(harness)) == 1
        await _settled(harness, fds)

    # -- lifecycle --------------------------------------------------------------------------

    async def test_connect_and_disconnect_are_idempotent(
        self, harness: Harness, provider: Any
    ) -> None:
        """connect() and disconnect() may each be called twice, and the provider works after."""
        await provider.connect()
        await provider.connect()
        self._script(harness.reply, ["ok"], model=self.model)
        assert _text(await _drain(provider.query("ping", self._options()))) == "ok"
        await provider.disconnect()
        await provider.disconnect()
        self._script(harness.reply, ["again"], model=self.model)
        assert _text(await _drain(provider.query("ping", self._options()))) == "again"

    async def test_async_with_and_reuse(self, harness: Harness) -> None:
        """``async with`` works twice on one instance, and one instance serves many queries."""
        provider = harness.make_provider()
        for round_ in range(2):
            async with provider:
                for index in range(3):
                    self._script(harness.reply, [f"{round_}-{index}"], model=self.model)
                    reply = _text(await _drain(provider.query("n", self._options())))
                    assert reply == f"{round_}-{index}"

    async def test_concurrent_queries_on_one_instance(
        self, harness: Harness, provider: Any
    ) -> None:
        """Queries running at once on one instance each get a whole reply."""
        for _ in range(8):
            self._script(harness.reply, ["same ", "reply"], model=self.model)
        replies: list[str] = []

        async def one() -> None:
            replies.append(_text(await _drain(provider.query("hi", self._options()))))

        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(one)
        assert replies == ["same reply"] * 8

    # -- garbage in -------------------------------------------------------------------------

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(payload=_JSON | st.text(max_size=40))
    async def test_arbitrary_garbage_gives_only_claif_errors(
        self, harness: Harness, provider: Any, payload: Any
    ) -> None:
        """Arbitrary JSON or text where an event belongs gives a reply or a claif error."""
        self._script(harness.garbage, payload)
        with contextlib.suppress(ClaifError):  # any other exception fails the test
            await _drain(provider.query("hi", self._options(max_retries=0)))

    @pytest.mark.parametrize(
        "payload",
        [
            {"choices": "nope"},
            {"delta": 5, "content": None},
            [1, 2, 3],
            "not json at all {",
            {"usage": {"input_tokens": "many", "output_tokens": 1e400}},
            {"type": "content_block_delta", "delta": {"text": 5}},
            {"error": {"message": ["odd"], "code": "x"}},
            "\ud800",
            None,
        ],
    )
    async def test_garbage_gives_only_claif_errors(
        self, harness: Harness, provider: Any, payload: Any
    ) -> None:
        """Whatever shape the backend sends, the caller sees a reply or a claif error."""
        self._script(harness.garbage, payload)
        with contextlib.suppress(ClaifError):  # any other exception fails the test
            await _drain(provider.query("hi", self._options(max_retries=0)))
