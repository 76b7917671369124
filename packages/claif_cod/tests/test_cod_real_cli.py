"""CodexProvider against the real Codex CLI (npm, pinned), offline against a fake Responses API.

`make vendor-clis` installs @openai/codex into .vendor/ (``make test`` does it
first when npm is present). Each test starts a scripted OpenAI Responses-API
server on 127.0.0.1 and points the CLI at it through a custom model provider
(``-c model_providers.fake={...}``), with a dummy key, a throwaway CODEX_HOME
and workspace, and the CLI's own retries off: no network. Without the install
these tests skip and say why.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from claif.common.errors import AuthenticationError, ClaifTimeoutError, TransportError
from claif.common.options import ClaifOptions
from claif.common.types import Message, ToolResultBlock, ToolUseBlock
from claif.testing.http import (
    HOLD,
    Exchange,
    FakeHttpServer,
    HttpRequest,
    Step,
    closed_port,
    sse_event,
)
from claif_cod import CodexProvider

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]
REAL_CODEX = Path(
    os.environ.get("CLAIF_REAL_CODEX", ROOT / ".vendor/codex/node_modules/.bin/codex")
)
ONCE = ClaifOptions(max_retries=0, timeout=60)
MODEL = "gpt-5.5"  # in the CLI's catalog: no fallback-metadata warning
KEY = "sk-test-key-0123456789"
NATIVE = "/bin/codex"  # .../vendor/<target triple>/bin/codex: what the npm launcher starts

if not REAL_CODEX.exists():
    pytest.skip(
        f"the real Codex CLI is not installed at {REAL_CODEX} "
        "(`make vendor-clis` installs it with npm; without npm it cannot be)",
        allow_module_level=True,
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- the Responses API, as the fake server speaks it -------------------------------------

_ids = itertools.count(1)


def event(kind: str, **fields: Any) -> bytes:
    """One Responses-API server-sent event, named like its ``type``."""
    return sse_event(json.dumps({"type": kind, **fields}), event=kind)


def message(*deltas: str) -> dict[str, Any]:
    """An assistant message output item; its text is streamed as these deltas."""
    text = "".join(deltas)
    content = [{"type": "output_text", "text": text, "annotations": []}]
    return {
        "type": "message",
        "id": f"msg_{next(_ids)}",
        "role": "assistant",
        "status": "completed",
        "content": content,
        "deltas": list(deltas),
    }


def function_call(name: str, arguments: dict[str, Any], call_id: str) -> dict[str, Any]:
    """A function-call output item: the model asks the CLI to run one of its tools."""
    return {
        "type": "function_call",
        "id": f"fc_{next(_ids)}",
        "call_id": call_id,
        "name": name,
        "arguments": json.dumps(arguments),
        "status": "completed",
    }


def output_events(index: int, item: dict[str, Any]) -> Iterator[bytes]:
    """``output_item.added``, the text deltas of a message, then ``output_item.done``."""
    done = {key: value for key, value in item.items() if key != "deltas"}
    if item["type"] == "message":
        yield event(
            "response.output_item.added",
            output_index=index,
            item={**done, "status": "in_progress", "content": []},
        )
        part = {"type": "output_text", "text": "", "annotations": []}
        yield event(
            "response.content_part.added",
            item_id=item["id"],
            output_index=index,
            content_index=0,
            part=part,
        )
        for delta in item["deltas"]:
            yield event(
                "response.output_text.delta",
                item_id=item["id"],
                output_index=index,
                content_index=0,
                delta=delta,
            )
    else:
        yield event(
            "response.output_item.added",
            output_index=index,
            item={**done, "arguments": "", "status": "in_progress"},
        )
    yield event("response.output_item.done", output_index=index, item=done)


SSE_HEADERS = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]


def reply(*items: dict[str, Any], usage: tuple[int, int] = (100, 10)) -> Exchange:
    """A whole streamed response: its output items, then ``response.completed`` with usage."""
    response_id = f"resp_{next(_ids)}"
    steps: list[Step] = [
        event("response.created", response={"id": response_id, "status": "in_progress"})
    ]
    for index, item in enumerate(items):
        steps += output_events(index, item)
    prompt, answer = usage
    usage_json = {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": answer,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": prompt + answer,
    }
    output = [{key: value for key, value in item.items() if key != "deltas"} for item in items]
    steps.append(
        event(
            "response.completed",
            response={
                "id": response_id,
                "status": "completed",
                "output": output,
                "usage": usage_json,
            },
        )
    )
    return Exchange(200, SSE_HEADERS, steps)


def stalled(first_delta: str) -> Exchange:
    """A response that streams one text delta and then nothing, the connection kept open."""
    item = message(first_delta)
    events = list(output_events(0, item))[:3]  # added, content_part, the delta: no done
    created = event("response.created", response={"id": "resp_stall", "status": "in_progress"})
    return Exchange(200, SSE_HEADERS, [created, *events, HOLD])


def failure(status: int, body: dict[str, Any]) -> Exchange:
    """A plain HTTP error with a JSON body, as the API answers a request it refuses."""
    data = json.dumps(body).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    return Exchange(status, headers, [data])


class Script:
    """A handler answering each ``POST /v1/responses`` with the next exchange; keeps requests."""

    def __init__(self, *exchanges: Exchange) -> None:
        self.exchanges = list(exchanges)
        self.requests: list[HttpRequest] = []
        self.asked = threading.Event()  # set at the first request

    def __call__(self, request: HttpRequest) -> Exchange:
        if request.method != "POST" or request.path != "/v1/responses":
            return failure(404, {"error": {"message": f"no {request.method} {request.path}"}})
        self.requests.append(request)
        self.asked.set()
        if not self.exchanges:
            return failure(400, {"error": {"message": "the test's script has no reply left"}})
        return self.exchanges.pop(0)

    def bodies(self) -> list[dict[str, Any]]:
        return [request.json() for request in self.requests]


def texts(body: dict[str, Any], role: str) -> list[str]:
    """The text of each input message of ``role`` in a request body, in order."""
    found = []
    for item in body["input"]:
        if item.get("type") == "message" and item.get("role") == role:
            parts = item.get("content") or []
            found.append("".join(part.get("text", "") for part in parts))
    return found


def items_of_type(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [item for item in body["input"] if item.get("type") == kind]


# --- the provider, pointed at the fake --------------------------------------------------


@pytest.fixture
def codex_home(tmp_path: Path) -> Path:
    home = tmp_path / "codex-home"
    home.mkdir()
    return home


@pytest.fixture
def make_provider(tmp_path: Path, codex_home: Path) -> Callable[..., CodexProvider]:
    """A provider whose CLI talks to ``api_url`` (a fake server's URL) with a dummy key.

    The key and CODEX_HOME travel in the provider's settings, not in this
    process's environment; the CLI's own retries are off so failures are quick.
    """
    workspace = tmp_path / "workspace"
    workspace.mkdir()

    def make(api_url: str, **settings: Any) -> CodexProvider:
        fake = (
            f'model_providers.fake={{name="fake", base_url="{api_url}/v1", env_key="FAKE_KEY", '
            'wire_api="responses", supports_websockets=false, '
            "request_max_retries=0, stream_max_retries=0}"
        )
        settings = {
            "cli_path": str(REAL_CODEX),
            "model": MODEL,
            "cwd": str(workspace),
            "home": str(codex_home),
            "extra_env": {"FAKE_KEY": KEY},
            "config_overrides": [fake, "model_provider=fake"],
            **settings,
        }
        return CodexProvider(**settings)

    return make


def processes_mentioning(marker: str) -> dict[int, list[str]]:
    """The argv of each live process whose environment or command line holds ``marker``."""
    found = {}
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if state != "Z" and (needle in environ or needle in cmdline):
            found[int(entry.name)] = cmdline.decode(errors="replace").split("\0")
    return found


def processes_after(marker: str, grace: float) -> dict[int, list[str]]:
    """Those processes still alive once ``grace`` seconds have passed (none: at once)."""
    deadline = time.monotonic() + grace
    while (left := processes_mentioning(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


async def collect(provider: CodexProvider, prompt: str, options: ClaifOptions) -> list[Message]:
    return [message async for message in provider.query(prompt, options)]


# --- the tests ---------------------------------------------------------------------------


async def test_text_and_usage_stream_from_the_real_cli(make_provider):
    """Two deltas make the text; response.completed's usage is this turn's; the thread is set."""
    script = Script(reply(message("Hello ", "from Codex."), usage=(1234, 56)))
    with FakeHttpServer(script) as server:
        messages = await collect(make_provider(server.url), "Say hello", ONCE)
    assert "".join(m.text for m in messages) == "Hello from Codex."
    last = messages[-1].metadata
    assert last["usage"]["input_tokens"] == 1234
    assert last["usage"]["output_tokens"] == 56
    assert last["finish_reason"] == "stop"
    assert last["native_session_id"]
    assert last["model"] == MODEL
    [body] = script.bodies()
    assert body["stream"] is True
    assert body["model"] == MODEL
    assert texts(body, "user")[-1].strip() == "Say hello"


async def test_a_command_is_reported_as_shell_use_and_result(make_provider):
    """The model calls exec_command; the CLI runs it sandboxed, returns its output, then text."""
    script = Script(
        reply(function_call("exec_command", {"cmd": "echo claif-was-here"}, "call_echo")),
        reply(message("The command printed it.")),
    )
    with FakeHttpServer(script) as server:
        provider = make_provider(server.url, sandbox="read-only")
        messages = await collect(provider, "Run echo", ONCE)
    blocks = [block for m in messages for block in m.content]
    uses = [block for block in blocks if isinstance(block, ToolUseBlock)]
    results = [block for block in blocks if isinstance(block, ToolResultBlock)]
    assert len(uses) == 1, blocks
    assert len(results) == 1, blocks
    [use], [result] = uses, results
    assert use.tool_name == "shell"
    assert "echo claif-was-here" in use.parameters["command"]
    assert result.tool_use_id == use.id
    assert "claif-was-here" in result.result["output"]
    assert result.result["exit_code"] == 0
    assert result.is_error is False
    assert blocks.index(use) < blocks.index(result)
    assert "".join(m.text for m in messages) == "The command printed it."
    assert messages[-1].metadata["items"]["command_execution"] == 1
    # The second request hands the command's output back to the model.
    [output] = items_of_type(script.bodies()[1], "function_call_output")
    assert output["call_id"] == "call_echo"
    assert "claif-was-here" in output["output"]


async def test_a_401_is_an_authentication_error_without_the_key(make_provider):
    """The API refuses the key (echoing it whole, worst case): AuthenticationError, key masked."""
    body = {
        "error": {
            "message": f"Incorrect API key provided: {KEY}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
    }
    script = Script(failure(401, body))
    with FakeHttpServer(script) as server:
        started = time.monotonic()
        with pytest.raises(AuthenticationError) as caught:
            await collect(make_provider(server.url), "hi", ONCE)
        elapsed = time.monotonic() - started
    assert elapsed < 15
    assert len(script.requests) == 1
    assert script.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert "401" in str(caught.value)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)


async def test_a_long_prompt_goes_through(make_provider):
    """300 KB on standard input, beyond one argv string's limit: it arrives whole, answered."""
    prompt = "word " * 60_000
    script = Script(reply(message("Read it all."), usage=(75_000, 3)))
    with FakeHttpServer(script) as server:
        messages = await collect(make_provider(server.url), prompt, ONCE)
    assert "".join(m.text for m in messages) == "Read it all."
    [body] = script.bodies()
    last_user = texts(body, "user")[-1]
    assert len(last_user.strip()) == len(prompt.strip())
    assert last_user.strip() == prompt.strip()


@pytest.mark.parametrize("how", ["cancelled", "timeout"])
async def test_an_abandoned_query_leaves_no_process(make_provider, codex_home, how):
    """The API stalls mid-stream; cancelling the query, or its timeout, ends the node
    launcher and the native binary it started."""
    script = Script(stalled("Thinking"))
    marker = str(codex_home)  # in the environment of every process the query started
    seen: dict[int, list[str]] = {}
    with FakeHttpServer(script) as server:
        provider = make_provider(server.url)

        async def watch(scope: anyio.CancelScope) -> None:
            assert await anyio.to_thread.run_sync(script.asked.wait, 30)
            await anyio.sleep(0.5)  # the stream is stalled now: the CLI waits on it
            seen.update(processes_mentioning(marker))
            if how == "cancelled":
                scope.cancel()

        started = time.monotonic()
        async with anyio.create_task_group() as group:
            group.start_soon(watch, group.cancel_scope)
            if how == "cancelled":
                await collect(provider, "hi", ONCE)
                pytest.fail("the stalled query ended by itself")
            with pytest.raises(ClaifTimeoutError):
                await collect(provider, "hi", ONCE.replace(timeout=3))
        assert time.monotonic() - started < 20
        launchers = [argv for argv in seen.values() if argv[1:2] == [str(REAL_CODEX)]]
        natives = [
            argv for argv in seen.values() if argv[0].endswith(NATIVE) and "/vendor/" in argv[0]
        ]
        assert launchers, f"no node launcher among {seen}"
        assert natives, f"no native codex among {seen}"
        left = await anyio.to_thread.run_sync(processes_after, marker, 5.0)
        assert left == {}, f"processes outlived the abandoned query: {left}"
        assert processes_mentioning(KEY) == {}


async def test_a_claif_session_resumes_the_codex_thread(
    make_provider, tmp_path, monkeypatch: pytest.MonkeyPatch
):
    """The second turn runs `resume THREAD`; the CLI's thread totals become this turn's usage."""
    monkeypatch.setenv("CLAIF_SESSIONS_DIR", str(tmp_path / "sessions"))
    script = Script(
        reply(message("First answer."), usage=(100, 10)),
        reply(message("Second answer."), usage=(100, 10)),
    )
    with FakeHttpServer(script) as server:
        provider = make_provider(server.url)
        argvs: list[list[str]] = []
        launch = provider.launch

        def recording_launch(prompt: str, options: ClaifOptions):
            run = launch(prompt, options)
            argvs.append(list(run.argv))
            return run

        provider.launch = recording_launch  # type: ignore[method-assign]
        options = ONCE.replace(session_id="real-codex")
        first = await collect(provider, "first question", options)
        second = await collect(provider, "second question", options)
    thread = first[-1].metadata["native_session_id"]
    assert thread
    assert second[-1].metadata["native_session_id"] == thread
    assert "".join(m.text for m in first) == "First answer."
    assert "".join(m.text for m in second) == "Second answer."
    assert "resume" not in argvs[0]
    resume = argvs[1].index("resume")
    assert argvs[1][resume + 1 : resume + 3] == [thread, "-"]
    # The CLI replays the thread from its rollout; the prompt carries only the new question.
    second_body = script.bodies()[1]
    users = [text.strip() for text in texts(second_body, "user")]
    assert users[-2:] == ["first question", "second question"]
    assert texts(second_body, "assistant")[-1] == "First answer."
    # The CLI reports thread totals (200/20 now); the reply's usage is this turn's.
    assert second[-1].metadata["codex_usage"]["input_tokens"] == 200
    assert second[-1].metadata["codex_usage"]["output_tokens"] == 20
    assert second[-1].metadata["usage"]["input_tokens"] == 100
    assert second[-1].metadata["usage"]["output_tokens"] == 10
    assert first[-1].metadata["usage"]["input_tokens"] == 100


async def test_the_system_prompt_is_a_developer_message(make_provider):
    """system_prompt goes in as developer_instructions: a developer message in the input."""
    script = Script(reply(message("Bonjour.")))
    with FakeHttpServer(script) as server:
        options = ONCE.replace(system_prompt='Answer in French. "Quoted", back\\slash.')
        messages = await collect(make_provider(server.url), "Say hello", options)
    assert "".join(m.text for m in messages) == "Bonjour."
    [body] = script.bodies()
    developer = texts(body, "developer")
    assert any('Answer in French. "Quoted", back\\slash.' in text for text in developer), [
        text[:200] for text in developer
    ]
    assert not any("Answer in French" in text for text in texts(body, "user"))


async def test_connection_refused_is_a_transport_error_not_a_hang(make_provider):
    """Nothing listens: the CLI would wait for the network forever; claif fails at once."""
    provider = make_provider(f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        await collect(provider, "hi", ONCE)
    assert time.monotonic() - started < 20
    assert caught.value.retryable is True


async def test_health_reports_the_version_and_path(make_provider):
    health = await make_provider("http://127.0.0.1:9").health()
    assert health.ok, health.detail
    assert "codex-cli 0.171.0" in health.detail
    assert str(REAL_CODEX) in health.detail
