"""A fake ``gemini`` for tests, demos and benchmarks, and the conformance harness on it.

``FakeGemini`` is core's :class:`~claif.testing.executable.FakeExecutable`
speaking the CLI's ``stream-json`` lines: a real executable the provider starts
as it would start the real one::

    fake = FakeGemini(tmp_path)
    fake.enqueue(fake.reply(["Hel", "lo"]), fake.exits(41, "Please set an Auth method"))
    provider = GeminiProvider(cli_path=fake.path)

Each run of the binary plays the next queued script (or a default reply) and
records its argv and standard input. ``GeminiHarness`` puts the provider and
this fake through core's conformance suites.
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

from .provider import GeminiProvider

__all__ = ["FakeGemini", "GeminiHarness", "Run", "sent_request"]

DEFAULT_MODEL = "gemini-2.5-flash"
# A small cap keeps the oversized-line test at 64 KiB; a short grace keeps hangs quick.
HARNESS_LINE_CAP = 64 * 1024
HARNESS_TERM_GRACE = 0.5
STAMP = "2026-01-01T00:00:00.000Z"


def event(kind: str, **fields: Any) -> str:
    """One stream-json line as the CLI writes it."""
    return json.dumps({"type": kind, "timestamp": STAMP, **fields})


def stats(input_tokens: int, output_tokens: int, model: str = DEFAULT_MODEL) -> dict[str, Any]:
    """A result event's ``stats``, in the CLI's shape."""
    figures = {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cached": 0,
        "input": input_tokens,
    }
    return {**figures, "duration_ms": 12, "tool_calls": 0, "models": {model: figures}}


def api_error(code: int, message: str, status: str, retry_delay: float | None = None) -> str:
    """The text the CLI puts in a failed result: ``[API Error: {"error": {...}}]``."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if retry_delay is not None:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_delay}s"}
        ]
    return f"[API Error: {json.dumps({'error': error})}]"


class FakeGemini(FakeExecutable):
    """A ``gemini`` that plays queued runs; builders below make the CLI's usual runs."""

    def __init__(self, directory: str | Path, *, name: str = "gemini") -> None:
        super().__init__(directory, name, default=self.reply(["Hello from the fake Gemini CLI."]))

    @staticmethod
    def opening(model: str = DEFAULT_MODEL, session_id: str | None = None) -> Run:
        """``init`` and the echo of the user's prompt, as every run starts."""
        return Run().lines(
            [
                event("init", session_id=session_id or str(uuid.uuid4()), model=model),
                event("message", role="user", content="(the prompt)\n"),
            ]
        )

    @classmethod
    def streaming(cls, parts: Sequence[str], model: str = DEFAULT_MODEL, **init: Any) -> Run:
        """The opening and one assistant delta per part, with no result yet."""
        run = cls.opening(model, **init)
        for part in parts:
            run.line(event("message", role="assistant", content=part, delta=True))
        return run

    @classmethod
    def reply(
        cls,
        parts: Sequence[str],
        model: str = DEFAULT_MODEL,
        *,
        usage: tuple[int, int] | None = None,
        session_id: str | None = None,
    ) -> Run:
        """A whole successful run; ``usage`` (input, output) adds the CLI's stats."""
        run = cls.streaming(parts, model, session_id=session_id)
        result: dict[str, Any] = {"status": "success"}
        if usage is not None:
            result["stats"] = stats(*usage, model=model)
        return run.line(event("result", **result))

    @classmethod
    def failing(cls, message: str, parts: Sequence[str] = (), *, code: int = 1) -> Run:
        """Parts, then a failed result carrying ``message``, then exit ``code``."""
        run = cls.streaming(parts)
        error = {"type": "unknown", "message": message}
        return run.line(event("result", status="error", error=error, stats=stats(0, 0))).exit(code)

    @staticmethod
    def exits(code: int, stderr: str = "") -> Run:
        """Nothing on stdout: ``stderr`` and an exit code, as the CLI does before it starts."""
        run = Run()
        if stderr:
            run.stderr(stderr + "\n")
        return run.exit(code)

    def sent(self) -> list[SentRequest]:
        """Every run's request in neutral terms; a resumed session's earlier turns included.

        The real CLI keeps a session's history itself; so does this fake, from
        the prompts it received and the replies its runs gave, per session id.
        """
        transcripts: dict[str, list[str]] = {}
        sent = []
        for call in self.calls():
            request = sent_request(call)
            resumed = call.option("--resume", "-r")
            session, reply = _session_and_reply(self.run_of(call))
            texts = [*transcripts.get(resumed or "", []), *request.texts]
            sent.append(replace(request, texts=tuple(texts)))
            if session is not None:
                transcripts[resumed or session] = [*texts, reply]
        return sent


def _session_and_reply(run: Run) -> tuple[str | None, str]:
    """The session id a run's ``init`` announces and the assistant text it streams."""
    session, texts = None, []
    for line in run.output():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        if data.get("type") == "init":
            session = data.get("session_id")
        elif data.get("type") == "message" and data.get("role") == "assistant":
            texts.append(str(data.get("content", "")))
    return session, "".join(texts)


def sent_request(call: Call) -> SentRequest:
    """Model from ``--model``; system prompt, history and prompt read back from stdin."""
    system, texts = read_prompt_text(call.text)
    return SentRequest(model=call.option("--model", "-m"), system=system, texts=tuple(texts))


class GeminiHarness(Harness):
    """GeminiProvider over a FakeGemini, in the vocabulary of core's conformance suite.

    ``reply`` reports no token usage (the CLI's result then has no stats);
    faults are what the real CLI does: an exit code with a line on stderr, a
    failed ``result`` quoting the API's error, a broken or missing line.
    """

    def __init__(self, fake: FakeGemini) -> None:
        self.fake = fake

    def make_provider(self) -> GeminiProvider:
        return GeminiProvider(
            cli_path=str(self.fake.path),
            max_line_bytes=HARNESS_LINE_CAP,
            term_grace=HARNESS_TERM_GRACE,
        )

    def make_unreachable_provider(self) -> GeminiProvider:
        """A CLI that runs but cannot reach Google: a network failure on stderr, exit 1."""
        offline = FakeGemini(self.fake.directory / "offline")
        offline.set_default(_offline())
        return GeminiProvider(cli_path=str(offline.path), term_grace=HARNESS_TERM_GRACE)

    def reply(self, parts: Sequence[str], *, model: str) -> None:
        self.fake.enqueue(self.fake.reply(parts, model))

    def reply_with_usage(
        self, parts: Sequence[str], *, model: str, input_tokens: int, output_tokens: int
    ) -> None:
        self.fake.enqueue(self.fake.reply(parts, model, usage=(input_tokens, output_tokens)))

    def reply_with_tool_call(self, name: str, arguments: Mapping[str, Any], *, model: str) -> None:
        raise Unsupported("the Gemini CLI runs its own tools; claif tools are not offered to it")

    def auth_failure(self) -> None:
        """Exit 41 with the CLI's own words, as with no key."""
        self.fake.enqueue(self.fake.exits(41, "Please set an Auth method in settings.json"))

    def rate_limited(self, retry_after: float) -> None:
        """A failed result with the API's 429 and its RetryInfo delay."""
        message = api_error(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED", retry_after)
        self.fake.enqueue(self.fake.failing(message))

    def server_error_then_success(self, failures: int, parts: Sequence[str], *, model: str) -> None:
        for index in range(failures):
            code = (500, 503)[index % 2]
            message = api_error(code, "Internal error.", "INTERNAL")
            self.fake.enqueue(self.fake.failing(message))
        self.reply(parts, model=model)

    def stall(self, parts: Sequence[str], *, model: str) -> None:
        self.fake.enqueue(self.fake.streaming(parts, model).hang())

    def cut_mid_stream(self, parts: Sequence[str], *, model: str) -> None:
        """The parts, then the CLI killed (SIGKILL) before its result."""
        self.fake.enqueue(self.fake.streaming(parts, model).die())

    def malformed_chunk(self) -> None:
        self.fake.enqueue(self.fake.opening().line('{"type": "message", "role": "assistant", "con'))

    def error_in_stream(self, parts: Sequence[str], *, model: str) -> None:
        """The parts, an ``error`` event, then a failed result without an API error."""
        run = self.fake.streaming(parts, model)
        run.line(event("error", severity="error", message="The model returned an empty response"))
        self.fake.enqueue(run.line(event("result", status="error", stats=stats(0, 0))).exit(1))

    def no_end_marker(self, parts: Sequence[str], *, model: str) -> None:
        self.fake.enqueue(self.fake.streaming(parts, model))

    def end_marker_then_hang(self, parts: Sequence[str], *, model: str) -> None:
        self.fake.enqueue(self.fake.reply(parts, model).hang())

    def oversized_event(self) -> None:
        content = "x" * (HARNESS_LINE_CAP + 1)
        self.fake.enqueue(
            self.fake.opening().line(event("message", role="assistant", content=content))
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
        script = Path(sys.executable).with_name("claif-gem")
        return [str(script)] if script.exists() else [sys.executable, "-m", "claif_gem.cli"]

    def cli_environment(self) -> dict[str, str]:
        return {"GEMINI_CLI_PATH": str(self.fake.path)}


def _offline() -> Run:
    return FakeGemini.exits(
        1, "Error when talking to Gemini API: TypeError: fetch failed (connect ECONNREFUSED)"
    )
