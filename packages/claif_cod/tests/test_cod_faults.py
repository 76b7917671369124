"""CodexProvider against the fake CLI: the agent's items, failures by their words, cleanup."""

from __future__ import annotations

import json
import time

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
from claif.common.types import ToolResultBlock, ToolUseBlock
from claif_cod import CodexProvider
from claif_cod.testing import FakeCodex, Run, event, item_event, usage

pytestmark = pytest.mark.anyio

ONCE = ClaifOptions(max_retries=0, timeout=20)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def provider(fake: FakeCodex):
    instance = CodexProvider(cli_path=str(fake.path), term_grace=0.5)
    try:
        yield instance
    finally:
        await instance.disconnect()


async def ask(provider: CodexProvider, prompt: str = "go", options: ClaifOptions = ONCE) -> list:
    return [message async for message in provider.query(prompt, options)]


def blocks(messages: list) -> list:
    return [block for message in messages for block in message.content]


async def test_a_command_is_a_tool_use_then_its_result_with_large_output(fake, provider):
    """The command as it starts, then its 2 MB of output and exit code, then the answer."""
    output = "line of output\n" * 140_000
    run = fake.opening().then(fake.command("make test", output, 0)).then(fake.finish(["Done."]))
    fake.enqueue(run)
    messages = await ask(provider)
    use, result = [b for b in blocks(messages) if isinstance(b, ToolUseBlock | ToolResultBlock)]
    assert isinstance(use, ToolUseBlock)
    assert use.tool_name == "shell"
    assert "make test" in use.parameters["command"]
    assert isinstance(result, ToolResultBlock)
    assert result.tool_use_id == use.id
    assert result.result == {"output": output, "exit_code": 0}
    assert not result.is_error
    assert "".join(m.text for m in messages) == "Done."
    assert messages[-1].metadata["items"] == {"command_execution": 1, "agent_message": 1}


async def test_a_failed_or_declined_command_is_an_error_result(fake, provider):
    run = fake.opening().then(fake.command("false", "", 1, "c1"))
    run.then(fake.command("rm -rf /", "", 0, "c2", status="declined")).then(fake.finish(["x"]))
    fake.enqueue(run)
    results = [b for b in blocks(await ask(provider)) if isinstance(b, ToolResultBlock)]
    assert [r.is_error for r in results] == [True, True]
    assert results[0].result["exit_code"] == 1
    assert results[1].result["declined"] is True


async def test_a_file_change_arrives_whole_as_a_use_and_a_result(fake, provider):
    changes = [("/work/a.py", "update"), ("/work/b.py", "add")]
    fake.enqueue(fake.opening().then(fake.file_change(changes)).then(fake.finish(["Edited."])))
    found = [
        b for b in blocks(await ask(provider)) if isinstance(b, ToolUseBlock | ToolResultBlock)
    ]
    listed = [{"path": "/work/a.py", "kind": "update"}, {"path": "/work/b.py", "kind": "add"}]
    assert found[0] == ToolUseBlock("apply_patch", {"changes": listed}, "patch_0")
    assert found[1].result == {"changes": listed}
    assert not found[1].is_error


async def test_mcp_calls_report_their_result_or_their_error(fake, provider):
    run = fake.opening()
    run.then(fake.mcp_call("docs", "search", {"q": "anyio"}, result={"hits": 3}, item_id="m1"))
    run.then(fake.mcp_call("db", "query", {"sql": "x"}, error="connection refused", item_id="m2"))
    fake.enqueue(run.then(fake.finish(["ok"])))
    found = [
        b for b in blocks(await ask(provider)) if isinstance(b, ToolUseBlock | ToolResultBlock)
    ]
    assert [b.tool_name for b in found] == ["docs.search", "docs.search", "db.query", "db.query"]
    assert found[0].parameters == {"arguments": {"q": "anyio"}}
    assert found[1].result["structured_content"] == {"hits": 3}
    assert not found[1].is_error
    assert found[3].result == "connection refused"
    assert found[3].is_error


async def test_web_search_reasoning_and_plan(fake, provider):
    run = fake.opening().then(fake.reasoning("First, look it up.", "r1"))
    run.then(fake.todo_list([("search", False), ("answer", False)]))
    run.then(fake.web_search("anyio memory streams"))
    run.then(fake.todo_list([("search", True), ("answer", True)], phase="updated"))
    run.then(fake.reasoning("Now answer.", "r2")).then(fake.finish(["Use a memory stream."]))
    fake.enqueue(run)
    messages = await ask(provider)
    use = next(b for b in blocks(messages) if isinstance(b, ToolUseBlock))
    assert use == ToolUseBlock("web_search", {"query": "anyio memory streams"}, "search_0")
    last = messages[-1].metadata
    assert last["reasoning"] == "First, look it up.\n\nNow answer."
    assert last["plan"] == [
        {"text": "search", "completed": True},
        {"text": "answer", "completed": True},
    ]


async def test_unknown_events_items_and_fields_are_ignored(fake, provider):
    run = fake.opening().lines(
        [
            event("item.plan.delta", item_id="p", delta="..."),
            item_event(
                "completed", "x1", "collab_tool_call", tool="spawn_agent", status="completed"
            ),
            event("turn.something_new", data=[1, 2]),
            json.dumps(
                {
                    "type": "item.completed",
                    "item": {
                        "id": "m",
                        "type": "agent_message",
                        "text": "Hi",
                        "new_field": {"nested": True},
                    },
                }
            ),
            "not json at all: a log line",
        ]
    )
    fake.enqueue(run.then(fake.finish()))
    messages = await ask(provider)
    assert "".join(m.text for m in messages) == "Hi"


async def test_many_items_before_any_text_keep_their_order(fake, provider):
    run = fake.opening()
    for index in range(150):
        run.then(fake.command(f"step {index}", f"out {index}\n", 0, f"c{index}"))
    fake.enqueue(run.then(fake.finish(["All steps done."])))
    found = [
        b for b in blocks(await ask(provider)) if isinstance(b, ToolUseBlock | ToolResultBlock)
    ]
    assert len(found) == 300
    assert [b.id for b in found[::2]] == [f"c{index}" for index in range(150)]
    assert all(r.tool_use_id == u.id for u, r in zip(found[::2], found[1::2], strict=True))


async def test_two_agent_messages_are_two_paragraphs_and_a_rewrite_is_not_repeated(fake, provider):
    run = fake.opening().then(fake.message(["Let me check."], "m1"))
    run.line(item_event("updated", "m1", "agent_message", text="Let me"))  # shorter: ignored
    fake.enqueue(run.then(fake.message(["It ", "works."], "m2")).then(fake.finish()))
    messages = await ask(provider)
    assert "".join(m.text for m in messages) == "Let me check.\n\nIt works."


@pytest.mark.parametrize(
    ("text", "kind", "retryable"),
    [
        (
            "unexpected status 401 Unauthorized: Incorrect API key: sk-abcdefghijklmnop1234",
            AuthenticationError,
            False,
        ),
        ("exceeded retry limit, last status: 429 Too Many Requests", RateLimitError, True),
        ("Quota exceeded. Check your plan and billing details.", RateLimitError, False),
        ("You've hit your usage limit. Upgrade to Pro or try again later.", RateLimitError, False),
        (
            "We\u2019re currently experiencing high demand, which may cause temporary errors.",
            ProviderError,
            True,
        ),
        ("unexpected status 503 Service Unavailable: upstream unavailable", ProviderError, True),
        (
            "Codex ran out of room in the model's context window. Start a new thread.",
            ValidationError,
            False,
        ),
        (
            '{"error": {"message": "Invalid value for \'input\'.", "type": '
            '"invalid_request_error", "param": "input", "code": "invalid_value"}}',
            ValidationError,
            False,
        ),
        (
            "stream disconnected before completion: stream closed before response.completed",
            TransportError,
            True,
        ),
        ("Missing environment variable: `CODEX_API_KEY`.", AuthenticationError, False),
        ("something nobody has seen before", ProviderError, False),
    ],
)
async def test_turn_failed_is_classed_by_its_words(fake, provider, text, kind, retryable):
    fake.enqueue(fake.failing(text, retries=2))
    with pytest.raises(kind) as raised:
        await ask(provider)
    assert type(raised.value) is kind
    assert raised.value.retryable is retryable
    assert "sk-abcdefghijklmnop1234" not in str(raised.value)


async def test_a_key_echoed_in_retry_notices_stays_out_of_warnings(fake, provider):
    notice = "Reconnecting... 1/5 (unexpected status 401: Incorrect API key sk-abcdefghijklmnop99)"
    fake.enqueue(fake.opening().line(event("error", message=notice)).then(fake.finish(["ok"])))
    messages = await ask(provider)
    assert messages[-1].metadata["warnings"] == [
        "Reconnecting... 1/5 (unexpected status 401: Incorrect API key sk-****)"
    ]


async def test_a_server_error_is_retried_by_core_before_any_output(fake, provider):
    fake.enqueue(fake.failing("unexpected status 500 Internal Server Error"))
    fake.enqueue(fake.reply(["second time lucky"]))
    messages = await ask(provider, options=ClaifOptions(max_retries=1, timeout=20))
    assert "".join(m.text for m in messages) == "second time lucky"
    assert len(fake.calls()) == 2


async def test_waiting_for_the_network_is_a_transport_error_at_once(fake, provider):
    waiting = "Reconnecting... waiting for network (Connection failed: error sending request)"
    fake.enqueue(fake.opening().line(event("error", message=waiting)).hang())
    started = time.monotonic()
    with pytest.raises(TransportError, match="cannot reach its API") as raised:
        await ask(provider)
    assert raised.value.retryable
    assert time.monotonic() - started < 5


async def test_exit_after_error_events_without_turn_failed_uses_the_last_error(fake, provider):
    fake.enqueue(
        fake.opening().line(event("error", message="unexpected status 403 Forbidden")).exit(1)
    )
    with pytest.raises(AuthenticationError, match=r"403.*\(exit 1\)"):
        await ask(provider)


async def test_outside_a_git_repository_is_a_configuration_error(fake, tmp_path):
    fake.enqueue(
        fake.exits(1, "Not inside a trusted directory and --skip-git-repo-check was not specified.")
    )
    provider = CodexProvider(cli_path=str(fake.path), skip_git_repo_check=False)
    with pytest.raises(ConfigurationError, match="skip_git_repo_check"):
        await ask(provider)
    assert "--skip-git-repo-check" not in fake.calls()[0].argv


async def test_a_hang_that_ignores_sigterm_ends_at_the_deadline_and_is_reaped(fake, provider):
    fake.enqueue(fake.streaming(["part"]).hang(ignore_sigterm=True))
    started = time.monotonic()
    with pytest.raises(ClaifTimeoutError):
        await ask(provider, options=ClaifOptions(max_retries=0, timeout=1.0))
    assert time.monotonic() - started < 4  # the deadline, then 0.5 s of grace before SIGKILL
    assert fake.live_processes() == 0


async def test_cancellation_kills_the_cli_and_the_command_it_runs(fake, provider):
    """A command the agent runs (a grandchild) goes with the CLI when the caller gives up."""
    run = fake.opening().line(
        item_event(
            "started",
            "c",
            "command_execution",
            command="sleep 600",
            aggregated_output="",
            exit_code=None,
            status="in_progress",
        )
    )
    fake.enqueue(run.grandchild(600).hang())
    with anyio.move_on_after(1.5):
        await ask(provider)
    for _ in range(100):  # the grandchild, killed with the group, is reaped by init
        if fake.live_processes() == 0:
            break
        await anyio.sleep(0.05)
    assert fake.live_processes() == 0


class TestCommandLine:
    """What `codex exec` is given: flags from the settings, the prompt on stdin."""

    async def test_defaults(self, fake, provider):
        fake.enqueue(fake.reply(["ok"]))
        await ask(provider, "Hello")
        call = fake.calls()[0]
        assert call.argv == [
            "exec", "--json", "--sandbox", "read-only", "--skip-git-repo-check", "-",
        ]  # fmt: skip
        assert call.text == "Hello"

    async def test_settings_become_flags(self, fake, tmp_path):
        workspace = tmp_path / "ws"
        workspace.mkdir()
        provider = CodexProvider(
            cli_path=str(fake.path),
            sandbox="workspace-write",
            cwd=str(workspace),
            model="gpt-5.5",
            config_overrides=["model_reasoning_effort=high", 'tools.web_search="live"'],
        )
        fake.enqueue(fake.reply(["ok"]))
        await ask(provider, options=ONCE.replace(model="o4-mini"))
        call = fake.calls()[0]
        assert call.argv == [
            "exec", "--json", "--sandbox", "workspace-write", "--skip-git-repo-check",
            "--cd", str(workspace), "--model", "o4-mini",
            "--config", "model_reasoning_effort=high", "--config", 'tools.web_search="live"', "-",
        ]  # fmt: skip
        assert call.cwd == str(workspace)

    async def test_the_system_prompt_is_a_toml_string_of_developer_instructions(
        self, fake, provider
    ):
        system = 'Say "oui".\nNever use \\ or \t tabs; café ☕'
        fake.enqueue(fake.reply(["ok"]))
        await ask(provider, options=ONCE.replace(system_prompt=system))
        argv = fake.calls()[0].argv
        word = argv[argv.index("--config") + 1]
        name, _, value = word.partition("=")
        assert name == "developer_instructions"
        assert "\n" not in value  # one TOML basic string; the real CLI's test reads it back
        assert value.startswith('"')
        assert json.loads(value) == system

    async def test_a_huge_system_prompt_is_refused_before_anything_runs(self, fake, provider):
        with pytest.raises(ValidationError, match="100 KiB"):
            await ask(provider, options=ONCE.replace(system_prompt="x" * 200_000))
        assert fake.calls() == []

    async def test_environment_and_home(self, fake, tmp_path, monkeypatch):
        monkeypatch.setenv("CODEX_HOME", str(tmp_path / "from-env"))
        provider = CodexProvider(
            cli_path=str(fake.path), extra_env={"CODEX_API_KEY": "k", "A": "b c"}
        )
        fake.enqueue(fake.reply(["ok"]), fake.reply(["ok"]))
        await ask(provider)
        env = fake.calls()[0].env
        assert env["CODEX_HOME"] == str(tmp_path / "from-env")
        assert env["A"] == "b c"
        other = CodexProvider(cli_path=str(fake.path), home="~/elsewhere")
        await ask(other)
        assert fake.calls()[1].env["CODEX_HOME"].endswith("/elsewhere")
        assert "~" not in fake.calls()[1].env["CODEX_HOME"]

    async def test_bad_settings_are_configuration_errors_naming_the_variable(
        self, fake, monkeypatch
    ):
        monkeypatch.setenv("CODEX_SANDBOX", "yolo")
        with pytest.raises(ConfigurationError, match="CODEX_SANDBOX"):
            await ask(CodexProvider(cli_path=str(fake.path)))
        monkeypatch.delenv("CODEX_SANDBOX")
        monkeypatch.setenv("CODEX_CONFIG_OVERRIDES", "just-a-word")
        with pytest.raises(ConfigurationError, match="key=value"):
            await ask(CodexProvider(cli_path=str(fake.path)))

    async def test_a_missing_binary_says_how_to_install_it(self, tmp_path, monkeypatch):
        monkeypatch.setenv("PATH", str(tmp_path))
        with pytest.raises(ConfigurationError, match="npm install -g @openai/codex"):
            await ask(CodexProvider())


class TestSessions:
    """A claif session resumes the Codex thread; usage is per reply though the CLI sums it."""

    async def test_second_turn_resumes_the_thread_and_reports_its_own_usage(self, fake, provider):
        thread = "01a226f5-1351-79b0-ab0b-e350aaeed43f"
        first = fake.opening(thread).then(fake.message(["First."]))
        first.line(event("turn.completed", usage=usage(100, 10, cached=20)))
        second = fake.opening(thread).then(fake.message(["Second."]))
        second.line(event("turn.completed", usage=usage(250, 30, cached=60)))
        fake.enqueue(first, second)
        options = ONCE.replace(session_id="work")
        one = await ask(provider, "one", options)
        two = await ask(provider, "two", options)
        assert "resume" not in fake.calls()[0].argv
        assert fake.calls()[1].argv[-3:] == ["resume", thread, "-"]
        assert fake.calls()[1].text == "two"  # the CLI has the first turn itself
        assert one[-1].metadata["usage"]["input_tokens"] == 100
        assert two[-1].metadata["usage"] == {
            "input_tokens": 150,
            "output_tokens": 20,
            "total_tokens": 170,
        }
        assert two[-1].metadata["codex_usage"]["input_tokens"] == 250
        assert two[-1].metadata["native_session_id"] == thread


async def test_health_reports_the_version_and_path(fake, provider):
    fake.enqueue(Run().line("codex-cli 0.171.0"))
    health = await provider.health()
    assert health.ok
    assert health.detail == f"{fake.path} codex-cli 0.171.0"
    assert fake.calls()[0].argv == ["--version"]


async def test_health_reports_a_failing_binary(fake, provider):
    fake.enqueue(fake.exits(2, "error: something broke"))
    health = await provider.health()
    assert not health.ok
    assert "something broke" in health.detail
