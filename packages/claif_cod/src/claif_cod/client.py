"""The Codex CLI's side of one query: the command line, standard input, and its events.

Nothing here starts a process (``transport.py`` does) or knows about retries
(core does). ``build_argv`` and ``build_input`` say what ``codex exec`` is
given; ``EventDecoder`` turns each ``--json`` line into claif Messages as it
arrives; ``error_from_text`` and ``error_for_exit`` name what a failure meant.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any

from claif.common.conversation import prompt_text
from claif.common.errors import (
    AuthenticationError,
    ClaifError,
    ConfigurationError,
    ProviderError,
    RateLimitError,
    TransportError,
    ValidationError,
    error_from_http,
    http_status_in,
    quote_text,
)
from claif.common.options import ClaifOptions
from claif.common.types import META_NATIVE_SESSION, Message, Role, ToolResultBlock, ToolUseBlock
from claif.logs import redact
from claif.providers.command_line import json_event
from claif.streaming import StreamAssembler

from .types import PROVIDER_NAME, CodexSettings

__all__ = [
    "EventDecoder",
    "build_argv",
    "build_input",
    "error_for_exit",
    "error_from_text",
]

log = logging.getLogger("claif.providers.codex")

# One argv word may hold at most 128 KiB on Linux; the system prompt travels in one.
MAX_SYSTEM_PROMPT_BYTES = 100 * 1024
META_PLAN = "plan"
META_WARNINGS = "warnings"
META_CODEX_USAGE = "codex_usage"
META_ITEMS = "items"
TOOL_ITEMS = ("command_execution", "file_change", "mcp_tool_call", "web_search")

_USAGE_LIMIT = re.compile(r"usage limit|quota exceeded|insufficient_quota|billing", re.IGNORECASE)
_CONTEXT = re.compile(r"context window|context_length_exceeded|maximum context", re.IGNORECASE)
_INVALID = re.compile(r"invalid_request_error|invalid value|unsupported (?:model|parameter)")
_AUTH = re.compile(
    r"unauthorized|invalid api key|incorrect api key|not logged in|missing environment variable",
    re.IGNORECASE,
)
_UNTRUSTED = re.compile(r"Not inside a trusted directory")
_NETWORK = re.compile(
    r"stream disconnected|connection (?:failed|refused|reset)|error sending request|timed out"
    r"|dns error|waiting for network",
    re.IGNORECASE,
)
_OVERLOADED = re.compile(r"high demand|overloaded|temporar(?:y|ily)|try again", re.IGNORECASE)
_RETRY_NOTICE = re.compile(r"\AReconnecting\.\.\.")
_WAITING_FOR_NETWORK = re.compile(r"\AReconnecting\.\.\. waiting for network")


def build_argv(
    binary: str, settings: CodexSettings, options: ClaifOptions, *, model: str | None
) -> list[str]:
    """``codex exec --json`` with the settings' flags; ``resume THREAD -`` or ``-`` last."""
    argv = [binary, "exec", "--json", "--sandbox", settings.sandbox]
    if settings.skip_git_repo_check:
        argv.append("--skip-git-repo-check")
    if settings.cwd:
        argv += ["--cd", settings.cwd]
    if model:
        argv += ["--model", model]
    if options.system_prompt:
        argv += ["--config", f"developer_instructions={_toml_string(options.system_prompt)}"]
    for override in settings.config_overrides:
        argv += ["--config", override]
    if options.native_session_id:
        argv += ["resume", options.native_session_id]
    return [*argv, "-"]


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON's escapes are TOML's); size-checked for argv."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_SYSTEM_PROMPT_BYTES:
        raise ValidationError(
            "the system prompt is over 100 KiB; the Codex CLI takes it on its command line, "
            "where one word holds at most 128 KiB (put long instructions in AGENTS.md instead)",
            field="system_prompt",
            provider=PROVIDER_NAME,
        )
    return json.dumps(text, ensure_ascii=False)


def build_input(prompt: str, options: ClaifOptions) -> bytes:
    """Standard input: the prompt, after the earlier turns the CLI has not seen itself."""
    resumed = bool(options.native_session_id)
    text = prompt_text(prompt, options, resumed=resumed, system=False)
    return text.encode("utf-8", "surrogatepass")


class EventDecoder:
    """Turns ``codex exec --json`` lines into Messages; :meth:`final` gives the last one.

    ``thread.started`` gives the thread id (the session to resume); an agent
    message's text comes as soon as the CLI reports it; commands, file
    changes, MCP tool calls and web searches come as a ToolUseBlock when they
    start and a ToolResultBlock when they finish (the CLI runs them itself, so
    they are reported, not requested); reasoning goes to ``metadata
    ["reasoning"]``, the latest to-do list to ``metadata["plan"]``, error items
    and retry notices to ``metadata["warnings"]``. ``turn.completed`` ends the
    reply with its usage; ``turn.failed`` fails it. Unknown events, items and
    fields are ignored: the CLI adds them often.
    """

    def __init__(self, *, model: str | None, usage_before: Mapping[str, int] | None = None) -> None:
        self.reply = StreamAssembler(provider=PROVIDER_NAME, model=model)
        self._usage_before = dict(usage_before or {})
        self.events = 0
        self.failure: ClaifError | None = None
        self.last_error: str | None = None
        self._text_sent: dict[str, int] = {}  # agent message id -> characters yielded
        self._tools_open: dict[str, str] = {}  # tool item id -> tool name, once reported
        self._tools_done: set[str] = set()
        self._warnings: list[str] = []
        self._counts: dict[str, int] = {}
        self._reasoned = False
        self._texts_from: str | None = None  # the agent message text last came from

    @property
    def done(self) -> bool:
        """Whether ``turn.completed`` (or a failure) has arrived."""
        return self.reply.ended or self.failure is not None

    def feed(self, line: bytes) -> list[Message]:
        """The Messages one line of output brings (often none)."""
        event = json_event(line, tool="the Codex CLI", provider=PROVIDER_NAME, log=log)
        if event is None:
            return []
        self.events += 1
        kind = event.get("type")
        if kind in ("item.started", "item.updated", "item.completed"):
            item = event.get("item")
            if not isinstance(item, dict):
                raise _malformed(str(kind), event)
            return self._item(item, completed=kind == "item.completed")
        handler = _HANDLERS.get(str(kind))
        return handler(self, event) if handler else []

    def final(self) -> Message:
        """The last Message: model, finish reason, usage, thread id, plan, warnings."""
        if self._warnings:
            self.reply.metadata[META_WARNINGS] = list(self._warnings)
        if self._counts:
            self.reply.metadata[META_ITEMS] = dict(self._counts)
        return self.reply.final()

    def _thread_started(self, event: Mapping[str, Any]) -> list[Message]:
        if isinstance(thread := event.get("thread_id"), str) and thread:
            self.reply.metadata[META_NATIVE_SESSION] = thread
        return []

    def _turn_completed(self, event: Mapping[str, Any]) -> list[Message]:
        usage = event.get("usage")
        if isinstance(usage, dict):
            totals = {name: value for name, value in usage.items() if _is_count(value)}
            self.reply.metadata[META_CODEX_USAGE] = totals
            this_turn = _since(totals, self._usage_before)
            self.reply.usage(this_turn.get("input_tokens"), this_turn.get("output_tokens"))
        self.reply.finish("stop")
        self.reply.end()
        return []

    def _turn_failed(self, event: Mapping[str, Any]) -> list[Message]:
        error = event.get("error")
        text = error.get("message") if isinstance(error, dict) else None
        self.failure = error_from_text(str(text or self.last_error or "the turn failed"))
        return []

    def _error(self, event: Mapping[str, Any]) -> list[Message]:
        """A stream error: the CLI's retry notices, or the failure ``turn.failed`` repeats.

        Waiting for the network has no limit in the CLI; that becomes a
        TransportError at once, so core's retries and deadline decide instead.
        """
        text = redact(str(event.get("message") or ""))
        self.last_error = text
        if _WAITING_FOR_NETWORK.match(text):
            self.failure = TransportError(
                f"the Codex CLI cannot reach its API: {quote_text(text)}", provider=PROVIDER_NAME
            )
            return []
        level = logging.INFO if _RETRY_NOTICE.match(text) else logging.WARNING
        log.log(level, "the Codex CLI reported: %s", text)
        self._warnings.append(text)
        return []

    def _item(self, item: Mapping[str, Any], *, completed: bool) -> list[Message]:
        kind, item_id = item.get("type"), item.get("id")
        if not isinstance(kind, str) or not isinstance(item_id, str):
            raise _malformed("item", item)
        if completed:
            self._counts[kind] = self._counts.get(kind, 0) + 1
        if kind == "agent_message":
            return self._agent_message(item_id, item)
        if kind == "reasoning":
            if completed and isinstance(text := item.get("text"), str) and text:
                self.reply.reasoning(("\n\n" if self._reasoned else "") + text)
                self._reasoned = True
            return []
        if kind == "todo_list":
            self.reply.metadata[META_PLAN] = _plan(item.get("items"))
            return []
        if kind == "error":
            if completed:
                text = redact(str(item.get("message") or ""))
                log.warning("the Codex CLI reported: %s", text)
                self._warnings.append(text)
            return []
        if kind in TOOL_ITEMS:
            return self._tool(kind, item_id, item, completed=completed)
        return []

    def _agent_message(self, item_id: str, item: Mapping[str, Any]) -> list[Message]:
        """The part of the message's text not yielded yet (the CLI may grow it by updates).

        A second message in one turn starts a new paragraph of the reply.
        """
        text = item.get("text")
        if not isinstance(text, str):
            raise _malformed("agent_message", item)
        sent = self._text_sent.get(item_id, 0)
        new = text[sent:]
        if not new:
            return []
        self._text_sent[item_id] = len(text)
        if sent == 0 and self._texts_from not in (None, item_id):
            new = "\n\n" + new
        self._texts_from = item_id
        return [self.reply.text(new)]

    def _tool(
        self, kind: str, item_id: str, item: Mapping[str, Any], *, completed: bool
    ) -> list[Message]:
        if item_id in self._tools_done:
            return []
        messages = []
        if item_id not in self._tools_open:
            name, parameters = _tool_call(kind, item)
            self._tools_open[item_id] = name
            messages.append(self.reply.tool_use(ToolUseBlock(name, parameters, item_id)))
        if completed or item.get("status") in ("completed", "failed", "declined"):
            self._tools_done.add(item_id)
            result, failed = _tool_result(kind, item)
            block = ToolResultBlock(self._tools_open[item_id], result, item_id, is_error=failed)
            messages.append(Message(Role.ASSISTANT, [block]))
        return messages


def _tool_call(kind: str, item: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The name and parameters a started tool item is reported under."""
    if kind == "command_execution":
        return "shell", {"command": str(item.get("command", ""))}
    if kind == "file_change":
        return "apply_patch", {"changes": _changes(item.get("changes"))}
    if kind == "web_search":
        return "web_search", {"query": str(item.get("query", ""))}
    server, tool = str(item.get("server", "")), str(item.get("tool", ""))
    arguments = item.get("arguments")
    return f"{server}.{tool}" if server else tool, {
        "arguments": arguments if arguments is not None else {}
    }


def _tool_result(kind: str, item: Mapping[str, Any]) -> tuple[Any, bool]:
    """What a finished tool item produced, and whether it failed."""
    status = item.get("status")
    if kind == "command_execution":
        code = item.get("exit_code")
        failed = status in ("failed", "declined") or (isinstance(code, int) and code != 0)
        output = {"output": str(item.get("aggregated_output", "")), "exit_code": code}
        if status == "declined":
            output["declined"] = True
        return output, failed
    if kind == "file_change":
        return {"changes": _changes(item.get("changes"))}, status == "failed"
    if kind == "web_search":
        action = item.get("action")
        return (action if isinstance(action, dict) else {}), status == "failed"
    error = item.get("error")
    if isinstance(error, dict) or status == "failed":
        message = error.get("message") if isinstance(error, dict) else None
        return str(message or "the tool call failed"), True
    result = item.get("result")
    return (result if isinstance(result, dict | list | str) else {}), False


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _since(totals: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    """This turn's counts from the thread's totals now and after the previous reply.

    Totals that went down (another client used the thread meanwhile, or the
    CLI compacted it) are taken as they are rather than made negative.
    """
    turn = {}
    for name, total in totals.items():
        earlier = before.get(name)
        fits = _is_count(earlier) and earlier is not None and earlier <= total
        turn[name] = total - earlier if fits and earlier is not None else total
    return turn


def _changes(changes: Any) -> list[dict[str, str]]:
    if not isinstance(changes, list):
        return []
    return [
        {"path": str(change.get("path", "")), "kind": str(change.get("kind", ""))}
        for change in changes
        if isinstance(change, dict)
    ]


def _plan(items: Any) -> list[dict[str, Any]]:
    if not isinstance(items, list):
        return []
    return [
        {"text": str(entry.get("text", "")), "completed": entry.get("completed") is True}
        for entry in items
        if isinstance(entry, dict)
    ]


def _malformed(kind: str, event: Mapping[str, Any]) -> TransportError:
    return TransportError(
        f"the Codex CLI sent a {kind} event of the wrong shape: {quote_text(event, as_json=True)}",
        provider=PROVIDER_NAME,
    )


_HANDLERS = {
    "thread.started": EventDecoder._thread_started,
    "turn.completed": EventDecoder._turn_completed,
    "turn.failed": EventDecoder._turn_failed,
    "error": EventDecoder._error,
}


def error_from_text(text: str) -> ClaifError:
    """The error a failure message describes: an HTTP status in it decides, then its words.

    The words are the server's or the CLI's, so a key they echo is masked.
    """
    text = redact(text)
    detail = quote_text(" ".join(text.split()))
    status = http_status_in(text)
    if status is not None and not (status == 429 and _USAGE_LIMIT.search(text)):
        return error_from_http(status, body=text, provider=PROVIDER_NAME)
    if _USAGE_LIMIT.search(text):  # a plan's limit: waiting seconds will not lift it
        return RateLimitError(
            f"usage limit reached: {detail}", provider=PROVIDER_NAME, retryable=False
        )
    if _CONTEXT.search(text):
        return ValidationError(
            f"the conversation no longer fits the model's context window: {detail}",
            provider=PROVIDER_NAME,
        )
    if _AUTH.search(text):
        return AuthenticationError(
            f"authentication failed: {detail} (the Codex CLI takes CODEX_API_KEY, or its login: "
            "`codex login`)",
            provider=PROVIDER_NAME,
        )
    if _UNTRUSTED.search(text):
        return ConfigurationError(
            "the Codex CLI refuses to work outside a git repository unless told: set "
            f"skip_git_repo_check (CODEX_SKIP_GIT_REPO_CHECK=true); it said: {detail}",
            provider=PROVIDER_NAME,
        )
    if _INVALID.search(text):
        return ValidationError(f"the API refused the request: {detail}", provider=PROVIDER_NAME)
    if _NETWORK.search(text):
        return TransportError(
            f"the Codex CLI lost its API connection: {detail}", provider=PROVIDER_NAME
        )
    if _OVERLOADED.search(text):
        return ProviderError(f"backend error: {detail}", provider=PROVIDER_NAME, retryable=True)
    return ProviderError(detail, provider=PROVIDER_NAME)


def error_for_exit(code: int, stderr: str, decoder: EventDecoder | None) -> ClaifError:
    """Why the CLI ended without ``turn.completed``, quoting the tail of its stderr.

    The last ``error`` event decides when there was one (the CLI exits 1 for
    every failure); ``decoder`` is None for a run that printed no events.
    """
    events = decoder.events if decoder else 0
    last_error = decoder.last_error if decoder else None
    said = f": {stderr}" if stderr else " (nothing on stderr)"
    if code < 0:
        return TransportError(
            f"the Codex CLI was killed by signal {-code}{said}", provider=PROVIDER_NAME
        )
    if last_error:
        error = error_from_text(last_error)
        error.message = f"{error.message} (exit {code})"
        return error
    if code == 0:
        what = "printed no events" if events == 0 else "stopped before turn.completed"
        return TransportError(f"the Codex CLI {what} (exit 0){said}", provider=PROVIDER_NAME)
    found = error_from_text(stderr) if stderr else None
    if found is not None and type(found) is not ProviderError:
        found.message = f"{found.message} (exit {code})"
        return found
    return ProviderError(f"the Codex CLI failed (exit {code}){said}", provider=PROVIDER_NAME)
