"""What the Gemini CLI can do wrong, played by the fake binary: each is a typed error in time."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import pytest

from claif.common.errors import (
    AuthenticationError,
    ClaifTimeoutError,
    ConfigurationError,
    ProviderError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from claif.common.options import ClaifOptions
from claif.testing.executable import Run
from claif_gem import GeminiProvider
from claif_gem.testing import FakeGemini, api_error, event

pytestmark = pytest.mark.anyio

ONCE = ClaifOptions(max_retries=0, timeout=20)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def provider_for(fake: FakeGemini, **settings) -> GeminiProvider:
    return GeminiProvider(cli_path=str(fake.path), term_grace=0.5, **settings)


async def reply_text(provider: GeminiProvider, prompt: str = "hi", **options) -> str:
    messages = [m async for m in provider.query(prompt, ONCE.replace(**options))]
    return "".join(m.text for m in messages)


async def fails(provider: GeminiProvider, error: type[Exception], **options) -> Exception:
    with pytest.raises(error) as caught:
        await reply_text(provider, **options)
    return caught.value


async def settled(fake: FakeGemini) -> None:
    for _ in range(150):
        if fake.live_processes() == 0:
            return
        await anyio.sleep(0.02)
    assert fake.live_processes() == 0, "a fake gemini (or its child) is still alive"


async def test_noise_lines_are_skipped(fake: FakeGemini):
    """Lines that are not JSON objects (warnings some builds print) are ignored."""
    run = FakeGemini.opening().lines(["Loaded cached credentials.", "", "[1, 2]", "42"])
    run.line(event("message", role="assistant", content="fine", delta=True))
    fake.enqueue(run.line(event("result", status="success")))
    assert await reply_text(provider_for(fake)) == "fine"


async def test_unknown_events_and_fields_are_ignored(fake: FakeGemini):
    """A future event type or extra field changes nothing."""
    run = FakeGemini.opening().line(event("thought", subject="x"))
    run.line(event("message", role="assistant", content="ok", delta=True, new_field=[1]))
    fake.enqueue(run.line(event("result", status="success", stats={"input_tokens": "many"})))
    assert await reply_text(provider_for(fake)) == "ok"


async def test_a_line_of_megabytes_passes_and_one_past_the_cap_fails(fake: FakeGemini):
    """No 64 KiB readline limit: 12 MB lines arrive whole; 20 MB is over the 16 MiB cap."""
    for size in (12_000_000, 20_000_000):
        run = FakeGemini.opening().line(event("message", role="assistant", content="z" * size))
        fake.enqueue(run.line(event("result", status="success")))
    provider = GeminiProvider(cli_path=str(fake.path))
    assert len(await reply_text(provider)) == 12_000_000
    with pytest.raises(TransportError, match="16 MiB cap"):
        await reply_text(provider)


async def test_a_stderr_flood_does_not_block(fake: FakeGemini):
    """10 MB on stderr before the reply: the reply comes, memory stays bounded."""
    fake.enqueue(
        Run()
        .stderr("w" * 1023 + "\n", repeat=10_240)
        .lines(FakeGemini.reply(["after the flood"]).output())
    )
    with anyio.fail_after(30):
        assert await reply_text(provider_for(fake)) == "after the flood"


async def test_a_slow_first_line_is_waited_for(fake: FakeGemini):
    """A CLI that takes its time to start is not an error."""
    fake.enqueue(Run().sleep(1.0).lines(FakeGemini.reply(["late"]).output()))
    assert await reply_text(provider_for(fake)) == "late"


async def test_a_hang_that_ignores_sigterm_ends_at_the_timeout(fake: FakeGemini):
    """A CLI deaf to SIGTERM: ClaifTimeoutError at the timeout, killed within the grace."""
    fake.enqueue(FakeGemini.streaming(["a"]).hang(ignore_sigterm=True))
    started = time.monotonic()
    await fails(provider_for(fake), ClaifTimeoutError, timeout=1.0)
    assert time.monotonic() - started < 3
    await settled(fake)


async def test_a_grandchild_holding_stdout_is_ended(fake: FakeGemini):
    """The CLI exits without a result while a child of its keeps stdout: error soon, no orphan."""
    fake.enqueue(FakeGemini.streaming(["a"]).grandchild().exit(0))
    with anyio.fail_after(5):
        error = await fails(provider_for(fake), TransportError)
    assert "before its result" in str(error)
    await settled(fake)


@pytest.mark.parametrize(
    ("code", "error", "words"),
    [
        (41, AuthenticationError, "authenticate"),
        (42, ValidationError, "refused its input"),
        (44, ProviderError, "sandbox"),
        (52, ConfigurationError, "configuration"),
        (53, ProviderError, "turn limit"),
        (54, ProviderError, "tool"),
        (55, ConfigurationError, "trust"),
        (130, TransportError, "interrupted"),
        (1, ProviderError, "failed (exit 1)"),
        (7, ProviderError, "failed (exit 7)"),
    ],
)
async def test_exit_codes(fake: FakeGemini, code: int, error: type[Exception], words: str):
    """Each documented exit code is its error class, quoting stderr's tail."""
    fake.enqueue(FakeGemini.exits(code, "the CLI's own words"))
    raised = await fails(provider_for(fake), error)
    assert type(raised) is error
    assert words in str(raised)
    assert "the CLI's own words" in str(raised)
    assert f"exit {code}" in str(raised)


@pytest.mark.parametrize(
    ("code", "error", "status"),
    [(144, ProviderError, 400), (145, AuthenticationError, 401), (173, RateLimitError, 429)],
)
async def test_an_http_status_as_exit_code(fake: FakeGemini, code, error, status):
    """The CLI exits with an API error's HTTP status mod 256: 145 is a 401."""
    fake.enqueue(FakeGemini.exits(code, "Error when talking to Gemini API"))
    raised = await fails(provider_for(fake), error)
    assert raised.status == status
    assert f"exit {code}" in str(raised)


async def test_stderr_naming_a_quota_is_a_rate_limit(fake: FakeGemini):
    """Exit 1 with a 429 on stderr (the CLI gave up retrying) is a RateLimitError."""
    fake.enqueue(FakeGemini.exits(1, "Attempt 3 failed with status 429. RESOURCE_EXHAUSTED"))
    await fails(provider_for(fake), RateLimitError)


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        (400, "INVALID_ARGUMENT", ProviderError),
        (401, "UNAUTHENTICATED", AuthenticationError),
        (403, "PERMISSION_DENIED", AuthenticationError),
        (404, "NOT_FOUND", ProviderError),
        (429, "RESOURCE_EXHAUSTED", RateLimitError),
        (500, "INTERNAL", ProviderError),
    ],
)
async def test_api_errors_in_the_result(fake: FakeGemini, code, status, error):
    """A failed result quoting the API's error is classed by its HTTP code."""
    fake.enqueue(FakeGemini.failing(api_error(code, "no", status)))
    raised = await fails(provider_for(fake), error)
    assert raised.status == code


async def test_a_bad_key_reported_as_400_is_an_authentication_error(fake: FakeGemini):
    """Google answers a bad key with 400 API_KEY_INVALID: that is an authentication failure."""
    message = api_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT")
    fake.enqueue(FakeGemini.failing(message))
    await fails(provider_for(fake), AuthenticationError)


async def test_no_events_at_all_is_a_failure_even_with_exit_0(fake: FakeGemini):
    """A CLI that prints nothing and exits 0 did not answer."""
    fake.enqueue(Run().exit(0))
    error = await fails(provider_for(fake), TransportError)
    assert "no events" in str(error)


async def test_warnings_go_to_metadata(fake: FakeGemini):
    """A non-fatal error event is kept in the last Message's metadata."""
    run = FakeGemini.streaming(["ok"]).line(event("error", severity="warning", message="slow"))
    fake.enqueue(run.line(event("result", status="success")))
    messages = [m async for m in provider_for(fake).query("hi", ONCE)]
    assert messages[-1].metadata["warnings"] == ["warning: slow"]


async def test_tool_use_and_result_are_reported_not_requested(fake: FakeGemini):
    """The CLI's own tool calls come as ToolUse and ToolResult blocks; the reply ends 'stop'."""
    run = FakeGemini.streaming(["Reading. "])
    run.line(event("tool_use", tool_name="read_file", tool_id="t1", parameters={"p": "a"}))
    run.line(event("tool_result", tool_id="t1", status="success", output="hello"))
    run.line(event("tool_result", tool_id="t2", status="error", error={"message": "denied"}))
    run.line(event("message", role="assistant", content="Done.", delta=True))
    fake.enqueue(run.line(event("result", status="success")))
    messages = [m async for m in provider_for(fake).query("hi", ONCE)]
    (use,) = [b for m in messages for b in m.tool_uses]
    assert (use.tool_name, use.parameters, use.id) == ("read_file", {"p": "a"}, "t1")
    results = [b for m in messages for b in m.content if b.type == "tool_result"]
    assert [(r.tool_name, r.result, r.is_error) for r in results] == [
        ("read_file", "hello", False),
        ("", "denied", True),
    ]
    assert "".join(m.text for m in messages) == "Reading. Done."
    assert messages[-1].metadata["finish_reason"] == "stop"


async def test_init_and_stats_reach_the_metadata(fake: FakeGemini):
    """The CLI's session id, model and token counts are on the last Message."""
    fake.enqueue(FakeGemini.reply(["x"], "gemini-2.5-pro", usage=(12, 5), session_id="s-1"))
    messages = [m async for m in provider_for(fake).query("hi", ONCE)]
    metadata = messages[-1].metadata
    assert metadata["native_session_id"] == "s-1"
    assert metadata["model"] == "gemini-2.5-pro"
    assert metadata["usage"]["input_tokens"] == 12
    assert metadata["usage"]["output_tokens"] == 5
    assert metadata["stats"]["duration_ms"] == 12


async def test_the_command_line_and_environment(fake: FakeGemini, tmp_path: Path):
    """stream-json, approval mode, model, extra words, working directory and environment."""
    work = tmp_path / "work"
    work.mkdir()
    provider = provider_for(
        fake,
        model="gemini-2.5-pro",
        approval_mode="yolo",
        extra_args="--include-directories '/a b'",
        cwd=str(work),
        extra_env={"GEMINI_API_KEY": "k-123", "EXTRA": "x y"},
    )
    await reply_text(provider)
    (call,) = fake.calls()
    assert call.argv == [
        "--output-format",
        "stream-json",
        "--approval-mode",
        "yolo",
        "--model",
        "gemini-2.5-pro",
        "--include-directories",
        "/a b",
    ]
    assert Path(call.cwd) == work
    assert call.env["EXTRA"] == "x y"
    assert call.env["GEMINI_API_KEY"] == "k-123"
    assert call.env["GEMINI_CLI_NO_RELAUNCH"] == "true"


async def test_a_long_prompt_goes_whole_through_stdin(fake: FakeGemini):
    """A 1 MiB prompt, far over one argv string's 128 KiB, arrives whole on stdin."""
    prompt = "p" * (1024 * 1024)
    await reply_text(provider_for(fake), prompt)
    assert fake.calls()[0].text == prompt


async def test_a_prompt_over_the_clis_limit_is_refused_before_it_runs(fake: FakeGemini):
    """The CLI truncates stdin at 8 MiB without failing; the provider refuses instead."""
    with pytest.raises(ValidationError, match="8 MiB"):
        await reply_text(provider_for(fake), "p" * (8 * 1024 * 1024 + 1))
    assert fake.calls() == []


async def test_a_missing_binary_says_how_to_install(tmp_path: Path, monkeypatch):
    """No gemini anywhere: ConfigurationError with the npm command, nothing installed."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigurationError, match="npm install -g @google/gemini-cli"):
        await reply_text(GeminiProvider())
    with pytest.raises(ConfigurationError, match="does not exist"):
        await reply_text(GeminiProvider(cli_path=str(tmp_path / "nope")))


async def test_binary_from_the_environment(fake: FakeGemini, monkeypatch):
    """GEMINI_CLI_PATH names the binary when no argument does."""
    monkeypatch.setenv("GEMINI_CLI_PATH", str(fake.path))
    assert await reply_text(GeminiProvider()) == "Hello from the fake Gemini CLI."


async def test_bad_settings_are_configuration_errors(fake: FakeGemini):
    """An unknown approval mode or broken extra words name the setting."""
    with pytest.raises(ConfigurationError, match="approval_mode"):
        await reply_text(provider_for(fake, approval_mode="sometimes"))
    with pytest.raises(ConfigurationError, match="extra_args"):
        await reply_text(provider_for(fake, extra_args="'unclosed"))
    with pytest.raises(ConfigurationError, match="extra_env"):
        await reply_text(provider_for(fake, extra_env="NOEQUALS"))


async def test_health_reports_path_and_version(fake: FakeGemini):
    """health runs `gemini --version`."""
    fake.enqueue(Run().line("0.61.0"))
    report = await provider_for(fake).health()
    assert report.ok
    assert report.detail == f"{fake.path} 0.61.0"
    assert fake.calls()[0].argv == ["--version"]
    fake.enqueue(FakeGemini.exits(1, "broken install"))
    report = await provider_for(fake).health()
    assert not report.ok
    assert "broken install" in report.detail


async def test_cancelling_kills_the_whole_group(fake: FakeGemini):
    """A cancelled query leaves neither the CLI nor a child of it running."""
    fake.enqueue(FakeGemini.streaming(["a"]).grandchild().hang(ignore_sigterm=True))
    with anyio.move_on_after(1.0):
        await reply_text(provider_for(fake), timeout=None)
    await settled(fake)
