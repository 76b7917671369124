"""A fake ``codex`` for tests, demos and benchmarks, and the conformance harness on it.

``FakeCodex`` is core's :class:`~claif.testing.executable.FakeExecutable`
speaking ``codex exec --json`` lines: a real executable the provider starts
as it would start the real one::

    fake = FakeCodex(tmp_path)
    fake.enqueue(fake.opening().then(fake.command("ls", "a.txt\\n")).then(fake.finish(["Done."])))
    provider = CodexProvider(cli_path=fake.path)

Each run plays the next queued script (or a default reply) and records its
argv and standard input. ``CodexHarness`` puts the provider and this fake through core's
conformance suites.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from claif.testing import Harness, SentRequest, Unsupported
from claif.testing.executable import Call, FakeExecutable, Run, read_prompt_text

from .provider import CodexProvider

__all__ = ["CodexHarness", "FakeCodex", "Run", "sent_request"]

DEFAULT_MODEL = "gpt-5.5"
# A small cap keeps the oversized-line test at 64 KiB; a short grace keeps hangs quick.
HARNESS_LINE_CAP = 64 * 1024
HARNESS_TERM_GRACE = 0.5


def event(kind: str, **fields: Any) -> str:
    """One ``--json`` line as the CLI writes it."""
    return json.dumps({"type": kind, **fields}, ensure_ascii=False)


def item_event(phase: str, item_id: str, kind: str, **fields: Any) -> str:
    """An ``item.started`` / ``item.updated`` / ``item.completed`` line."""
    return event(f"item.{phase}", item={"id": item_id, "type": kind, **fields})


def usage(
    input_tokens: int, output_tokens: int, cached: int = 0, reasoning: int = 0
) -> dict[str, int]:
    """A ``turn.completed`` usage object, in the CLI's shape."""
    return {
        "input_tokens": input_tokens,
        "cached_input_tokens": cached,
        "cache_write_input_tokens": 0,
        "output_tokens": output_tokens,
        "reasoning_output_tokens": reasoning,
    }


class FakeCodex(FakeExecutable):
    """A ``codex`` that plays queued runs; the builders below make the CLI's usual runs."""

    def __init__(self, directory: str | Path, *, name: str = "codex") -> None:
        super().__init__(directory, name, default=self.reply(["Hello from the fake Codex CLI."]))

    # -- pieces of a run -----------------------------------------------------------------------

    @staticmethod
    def opening(thread_id: str | None = None) -> Run:
        """``thread.started`` and ``turn.started``, as every run begins."""
        thread = thread_id or str(uuid.uuid4())
        return Run().lines([event("thread.started", thread_id=thread), event("turn.started")])

    @staticmethod
    def message(parts: Sequence[str], item_id: str = "msg_0", *, complete: bool = True) -> Run:
        """An agent message that grows part by part (``item.updated``), then completes.

        (The CLI 0.171 sends only the completed message; its schema has the updates.)
        """
        run = Run().line(item_event("started", item_id, "agent_message", text=""))
        text = ""
        for part in parts:
            text += part
            run.line(item_event("updated", item_id, "agent_message", text=text))
        if complete:
            run.line(item_event("completed", item_id, "agent_message", text=text))
        return run

    @staticmethod
    def command(
        command: str,
        output: str = "",
        exit_code: int = 0,
        item_id: str = "cmd_0",
        *,
        status: str | None = None,
    ) -> Run:
        """A command the agent runs: started, then completed with its output and exit code."""
        shell = f"/bin/bash -lc {json.dumps(command)}"
        begun = {"command": shell, "aggregated_output": "", "exit_code": None}
        done = {"command": shell, "aggregated_output": output, "exit_code": exit_code}
        final = status or ("completed" if exit_code == 0 else "failed")
        return Run().lines(
            [
                item_event("started", item_id, "command_execution", **begun, status="in_progress"),
                item_event("completed", item_id, "command_execution", **done, status=final),
            ]
        )

    @staticmethod
    def file_change(changes: Sequence[tuple[str, str]], item_id: str = "patch_0") -> Run:
        """Files the agent changed, ``(path, add|update|delete)``: reported once, completed."""
        listed = [{"path": path, "kind": kind} for path, kind in changes]
        return Run().line(
            item_event("completed", item_id, "file_change", changes=listed, status="completed")
        )

    @staticmethod
    def mcp_call(
        server: str,
        tool: str,
        arguments: Mapping[str, Any],
        *,
        result: Any = None,
        error: str | None = None,
        item_id: str = "mcp_0",
    ) -> Run:
        """An MCP tool call: started, then completed with its result, or failed with ``error``."""
        call = {"server": server, "tool": tool, "arguments": dict(arguments)}
        begun = {**call, "result": None, "error": None, "status": "in_progress"}
        if error is not None:
            ended = {**call, "result": None, "error": {"message": error}, "status": "failed"}
        else:
            content = [{"type": "text", "text": json.dumps(result)}]
            answer = {"content": content, "structured_content": result}
            ended = {**call, "result": answer, "error": None, "status": "completed"}
        return Run().lines(
            [
                item_event("started", item_id, "mcp_tool_call", **begun),
                item_event("completed", item_id, "mcp_tool_call", **ended),
            ]
        )

    @staticmethod
    def web_search(query: str, item_id: str = "search_0") -> Run:
        action = {"type": "search", "query": query}
        return Run().lines(
            [
                item_event("started", item_id, "web_search", query=query, action=action),
                item_event("completed", item_id, "web_search", query=query, action=action),
            ]
        )

    @staticmethod
    def reasoning(text: str, item_id: str = "think_0") -> Run:
        return Run().line(item_event("completed", item_id, "reasoning", text=text))

    @staticmethod
    def todo_list(
        steps: Sequence[tuple[str, bool]], item_id: str = "plan_0", *, phase: str = "started"
    ) -> Run:
        items = [{"text": text, "completed": done} for text, done in steps]
        return Run().line(item_event(phase, item_id, "todo_list", items=items))

    @staticmethod
    def finish(parts: Sequence[str] = (), *, usage_figures: tuple[int, int] | None = None) -> Run:
        """The agent's answer in ``parts`` (if any) and ``turn.completed``.

        Without ``usage_figures`` the event carries no usage (the CLI always
        sends it; the conformance suite asks for a reply whose usage is unknown).
        """
        run = FakeCodex.message(parts) if parts else Run()
        if usage_figures is None:
            return run.line(event("turn.completed"))
        return run.line(event("turn.completed", usage=usage(*usage_figures)))

    # -- whole runs ----------------------------------------------------------------------------

    @classmethod
    def streaming(cls, parts: Sequence[str], *, thread_id: str | None = None) -> Run:
        """The opening and an agent message growing part by part, not yet complete."""
        return cls.opening(thread_id).then(cls.message(parts, complete=False))

    @classmethod
    def reply(
        cls,
        parts: Sequence[str],
        *,
        usage_figures: tuple[int, int] | None = None,
        thread_id: str | None = None,
    ) -> Run:
        """A whole successful run; ``usage_figures`` (input, output) are this turn's."""
        return cls.opening(thread_id).then(cls.finish(parts, usage_figures=usage_figures))

    @classmethod
    def failing(cls, message: str, parts: Sequence[str] = (), *, retries: int = 0) -> Run:
        """Parts, the CLI's retry notices, then ``error`` + ``turn.failed`` and exit 1."""
        run = cls.streaming(parts) if parts else cls.opening()
        for attempt in range(1, retries + 1):
            run.line(event("error", message=f"Reconnecting... {attempt}/{retries} ({message})"))
        run.line(event("error", message=message))
        return run.line(event("turn.failed", error={"message": message})).exit(1)

    @staticmethod
    def exits(code: int, stderr: str = "") -> Run:
        """Nothing on stdout: ``stderr`` and an exit code, as the CLI does before it starts."""
        run = Run()
        if stderr:
            run.stderr(stderr + "\n")
        return run.exit(code)

    def sent(self) -> list[SentRequest]:
        """Every run's request in neutral terms; a resumed thread's earlier turns included."""
        transcripts: dict[str, list[str]] = {}
        sent = []
        for call in self.calls():
            request = sent_request(call)
            resumed = _resumed_thread(call.argv)
            thread, reply = _thread_and_reply(self.run_of(call))
            texts = [*transcripts.get(resumed or "", []), *request.texts]
            sent.append(replace(request, texts=tuple(texts)))
            if thread is not None:
                transcripts[resumed or thread] = [*texts, reply]
        return sent


def _resumed_thread(argv: Sequence[str]) -> str | None:
    """The thread id after ``resume`` in ``codex exec ... resume THREAD -``."""
    if "resume" in argv:
        index = list(argv).index("resume")
        if index + 1 < len(argv) and argv[index + 1] != "-":
            return argv[index + 1]
    return None


def _thread_and_reply(run: Run) -> tuple[str | None, str]:
    """The thread id a run announces and the agent text it completes."""
    thread, texts = None, []
    for line in run.output():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        if data.get("type") == "thread.started":
            thread = data.get("thread_id")
        item = data.get("item")
        if not (data.get("type") == "item.completed" and isinstance(item, dict)):
            continue
        if item.get("type") == "agent_message":
            texts.append(str(item.get("text", "")))
    return thread, "\n\n".join(texts)


def sent_request(call: Call) -> SentRequest:
    """Model from ``--model``; the system prompt from ``developer_instructions``; stdin's texts."""
    system = None
    for index, word in enumerate(call.argv[:-1]):
        name, _, value = call.argv[index + 1].partition("=")
        if word == "--config" and name == "developer_instructions":
            system = json.loads(value)
    _, texts = read_prompt_text(call.text)
    return SentRequest(model=call.option("--model", "-m"), system=system, texts=tuple(texts))


class CodexHarness(Harness):
    """CodexProvider over a FakeCodex, in the vocabulary of core's conformance suite.

    Faults are what the real CLI 0.171 prints (recorded against a local
    Responses-API server): ``error`` and ``turn.failed`` events with its own
    words, exit 1; a broken or missing line; a process killed.
    """

    def __init__(self, fake: FakeCodex) -> None:
        self.fake = fake

    def make_provider(self) -> CodexProvider:
        return CodexProvider(
            cli_path=str(self.fake.path),
            max_line_bytes=HARNESS_LINE_CAP,
            term_grace=HARNESS_TERM_GRACE,
        )

    def make_unreachable_provider(self) -> CodexProvider:
        """A CLI that cannot reach its API: it reports waiting for the network, and waits."""
        offline = FakeCodex(self.fake.directory / "offline")
        waiting = "Reconnecting... waiting for network (Connection failed: error sending request)"
        offline.set_default(FakeCodex.opening().line(event("error", message=waiting)).hang())
        return CodexProvider(cli_path=str(offline.path), term_grace=HARNESS_TERM_GRACE)

    def reply(self, parts: Sequence[str], *, model: str) -> None:
        self.fake.enqueue(self.fake.reply(parts))

    def reply_with_usage(
        self, parts: Sequence[str], *, model: str, input_tokens: int, output_tokens: int
    ) -> None:
        self.fake.enqueue(self.fake.reply(parts, usage_figures=(input_tokens, output_tokens)))

    def reply_with_tool_call(self, name: str, arguments: Mapping[str, Any], *, model: str) -> None:
        raise Unsupported("the Codex agent runs its own tools; claif tools are not offered to it")

    def auth_failure(self) -> None:
        message = (
            "unexpected status 401 Unauthorized: Incorrect API key provided: sk-fake-key-1234., "
            "url: http://127.0.0.1:9/v1/responses"
        )
        self.fake.enqueue(self.fake.failing(message))

    def rate_limited(self, retry_after: float) -> None:
        raise Unsupported("the Codex CLI waits out a 429 itself and reports no Retry-After")

    def server_error_then_success(self, failures: int, parts: Sequence[str], *, model: str) -> None:
        for index in range(failures):
            if index % 2:
                message = "unexpected status 503 Service Unavailable: upstream unavailable"
            else:
                message = (
                    "We're currently experiencing high demand, which may cause temporary errors."
                )
            self.fake.enqueue(self.fake.failing(message))
        self.reply(parts, model=model)

    def stall(self, parts: Sequence[str], *, model: str) -> None:
        self.fake.enqueue(self.fake.streaming(parts).hang())

    def cut_mid_stream(self, parts: Sequence[str], *, model: str) -> None:
        """The parts, then the CLI killed (SIGKILL) before ``turn.completed``."""
        self.fake.enqueue(self.fake.streaming(parts).die())

    def malformed_chunk(self) -> None:
        self.fake.enqueue(self.fake.opening().line('{"type": "item.completed", "item": {"id": "'))

    def error_in_stream(self, parts: Sequence[str], *, model: str) -> None:
        """The parts, then a failure without an HTTP status in its words."""
        self.fake.enqueue(self.fake.failing("the model produced an invalid response", parts))

    def no_end_marker(self, parts: Sequence[str], *, model: str) -> None:
        self.fake.enqueue(self.fake.streaming(parts))

    def end_marker_then_hang(self, parts: Sequence[str], *, model: str) -> None:
        self.fake.enqueue(self.fake.reply(parts).hang())

    def oversized_event(self) -> None:
        text = "x" * (HARNESS_LINE_CAP + 1)
        self.fake.enqueue(
            self.fake.opening().line(item_event("completed", "msg_0", "agent_message", text=text))
        )

    def garbage(self, payload: Any) -> None:
        line = payload if isinstance(payload, str) else json.dumps(payload)
        self.fake.enqueue(self.fake.opening().line(line))

    def requests(self) -> list[SentRequest]:
        return self.fake.sent()

    def open_resources(self) -> int:
        """Fake CLI processes (and their children) alive or never reaped."""
        return self.fake.live_processes()

    def cli_command(self) -> list[str]:
        script = Path(sys.executable).with_name("claif-cod")
        return [str(script)] if script.exists() else [sys.executable, "-m", "claif_cod.cli"]

    def cli_environment(self) -> dict[str, str]:
        return {"CODEX_CLI_PATH": str(self.fake.path)}
