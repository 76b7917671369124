"""The Gemini CLI's side of one query: the command line, standard input, and its events.

Nothing here starts a process (``transport.py`` does) or knows about retries
(core does). ``build_argv`` and ``build_input`` say what the CLI is given;
``EventDecoder`` turns each ``--output-format stream-json`` line into claif
Messages as it arrives; ``error_for_exit`` names what an exit code meant.
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
from claif.providers.command_line import json_event
from claif.streaming import StreamAssembler

from .types import PROVIDER_NAME, GeminiSettings

__all__ = [
    "EXIT_MEANINGS",
    "EventDecoder",
    "build_argv",
    "build_input",
    "error_for_exit",
    "error_from_text",
]

log = logging.getLogger("claif.providers.gemini")

# The CLI truncates standard input beyond this, with only a warning on stderr.
MAX_INPUT_BYTES = 8 * 1024 * 1024
META_STATS = "stats"
META_WARNINGS = "warnings"
META_TOOL_CALLS = "tool_calls"

# The CLI's exit codes (packages/cli: FatalError subclasses) and what each means here.
EXIT_MEANINGS: dict[int, tuple[type[ClaifError], str]] = {
    41: (AuthenticationError, "the Gemini CLI could not authenticate"),
    42: (ValidationError, "the Gemini CLI refused its input"),
    44: (ProviderError, "the Gemini CLI's sandbox failed"),
    52: (ConfigurationError, "the Gemini CLI's configuration is invalid"),
    53: (ProviderError, "the Gemini CLI reached its turn limit"),
    54: (ProviderError, "a tool the Gemini CLI ran failed"),
    55: (
        ConfigurationError,
        "the Gemini CLI does not trust its working directory; trust it once with "
        "`gemini` in that folder, or set GEMINI_CLI_TRUST_WORKSPACE=true in extra_env",
    ),
    130: (TransportError, "the Gemini CLI was interrupted"),
}

_QUOTA = re.compile(r"RESOURCE_EXHAUSTED|quota|rate limit|\b429\b", re.IGNORECASE)
_AUTH = re.compile(r"UNAUTHENTICATED|API key not valid|API_KEY_INVALID|PERMISSION_DENIED")
_NETWORK = re.compile(r"ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN|fetch failed")
_RETRY_DELAY = re.compile(r'"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"')


def build_argv(
    binary: str, settings: GeminiSettings, options: ClaifOptions, *, model: str | None
) -> list[str]:
    """The command line: stream-json output, approval mode, model, resume, extra words."""
    argv = [binary, "--output-format", "stream-json", "--approval-mode", settings.approval_mode]
    if model:
        argv += ["--model", model]
    if options.native_session_id:
        argv += ["--resume", options.native_session_id]
    return [*argv, *settings.extra_args]


def build_input(prompt: str, options: ClaifOptions) -> bytes:
    """Standard input: the prompt with the system prompt and unseen history folded in ahead.

    Over the CLI's 8 MiB input limit is refused here: it would cut the rest off unseen.
    """
    text = prompt_text(prompt, options, resumed=bool(options.native_session_id))
    data = text.encode("utf-8", "surrogatepass")
    if len(data) > MAX_INPUT_BYTES:
        raise ValidationError(
            f"the prompt is {len(data)} bytes with its system prompt and history; the Gemini "
            "CLI reads at most 8 MiB from standard input (it would cut the rest off unseen)",
            field="prompt",
            provider=PROVIDER_NAME,
        )
    return data


class EventDecoder:
    """Turns stream-json lines into Messages; :meth:`final` gives the last one.

    ``init`` gives the model and the CLI's session id; the user's prompt echoed
    back is skipped; assistant text, tool calls and tool results come as they
    arrive (the CLI runs its tools itself, so a call is reported, not
    requested); ``error`` events are kept as warnings; ``result`` ends the
    reply, with usage, or fails it. Lines that are not JSON objects are
    skipped as noise; a line that starts like one and does not parse is a
    TransportError.
    """

    def __init__(self, *, model: str | None) -> None:
        self.reply = StreamAssembler(provider=PROVIDER_NAME, model=model)
        self.events = 0
        self.failure: ClaifError | None = None
        self._names: dict[str, str] = {}
        self._warnings: list[str] = []

    @property
    def done(self) -> bool:
        """Whether ``result`` has arrived: the reply is complete (or failed)."""
        return self.reply.ended or self.failure is not None

    def feed(self, line: bytes) -> list[Message]:
        """The Messages one line of output brings (often none)."""
        event = json_event(line, tool="the Gemini CLI", provider=PROVIDER_NAME, log=log)
        if event is None:
            return []
        self.events += 1
        handler = _HANDLERS.get(str(event.get("type")))
        return handler(self, event) if handler else []

    def final(self) -> Message:
        """The last Message: model, finish reason, usage, stats, warnings."""
        if self._warnings:
            self.reply.metadata[META_WARNINGS] = list(self._warnings)
        return self.reply.final()

    def _init(self, event: Mapping[str, Any]) -> list[Message]:
        if isinstance(model := event.get("model"), str) and model:
            self.reply.model = model
        if isinstance(session := event.get("session_id"), str) and session:
            self.reply.metadata[META_NATIVE_SESSION] = session
        return []

    def _message(self, event: Mapping[str, Any]) -> list[Message]:
        if event.get("role") != "assistant":
            return []  # the CLI echoes the user's prompt first
        content = event.get("content")
        if not isinstance(content, str):
            raise _malformed("message", event)
        return [self.reply.text(content)] if content else []

    def _tool_use(self, event: Mapping[str, Any]) -> list[Message]:
        name, tool_id = event.get("tool_name"), event.get("tool_id")
        parameters = event.get("parameters")
        if not isinstance(name, str) or not isinstance(tool_id, str):
            raise _malformed("tool_use", event)
        self._names[tool_id] = name
        block = ToolUseBlock(name, parameters if isinstance(parameters, dict) else {}, tool_id)
        return [self.reply.tool_use(block)]

    def _tool_result(self, event: Mapping[str, Any]) -> list[Message]:
        tool_id = event.get("tool_id")
        if not isinstance(tool_id, str):
            raise _malformed("tool_result", event)
        failed = event.get("status") != "success"
        error = event.get("error")
        if failed and isinstance(error, dict):
            result: Any = error.get("message") or json.dumps(error)
        else:
            result = event.get("output", "")
        block = ToolResultBlock(self._names.get(tool_id, ""), result, tool_id, is_error=failed)
        return [Message(Role.ASSISTANT, [block])]

    def _error(self, event: Mapping[str, Any]) -> list[Message]:
        text = str(event.get("message") or "")
        severity = str(event.get("severity") or "error")
        log.warning("the Gemini CLI reported %s: %s", severity, text)
        self._warnings.append(f"{severity}: {text}")
        return []

    def _result(self, event: Mapping[str, Any]) -> list[Message]:
        stats = event.get("stats")
        if isinstance(stats, dict):
            self.reply.usage(stats.get("input_tokens"), stats.get("output_tokens"))
            self.reply.metadata[META_STATS] = stats
            if isinstance(calls := stats.get("tool_calls"), int):
                self.reply.metadata[META_TOOL_CALLS] = calls
        if event.get("status") == "success":
            self.reply.finish("stop")
            self.reply.end()
            return []
        error = event.get("error")
        text = error.get("message") if isinstance(error, dict) else None
        if not text:
            text = self._warnings[-1] if self._warnings else "the Gemini CLI reported an error"
        self.failure = error_from_text(str(text))
        return []


def _malformed(kind: str, event: Mapping[str, Any]) -> TransportError:
    return TransportError(
        f"the Gemini CLI sent a {kind} event of the wrong shape: {quote_text(event, as_json=True)}",
        provider=PROVIDER_NAME,
    )


_HANDLERS = {
    "init": EventDecoder._init,
    "message": EventDecoder._message,
    "tool_use": EventDecoder._tool_use,
    "tool_result": EventDecoder._tool_result,
    "error": EventDecoder._error,
    "result": EventDecoder._result,
}


def error_from_text(text: str, *, fallback: type[ClaifError] = ProviderError) -> ClaifError:
    """The error a CLI message describes: an API error's HTTP code decides, then its words."""
    detail = " ".join(text.split())
    api_error = _api_error(text)
    if api_error is not None:
        return api_error
    if _NETWORK.search(text):
        return TransportError(
            f"the Gemini CLI could not reach the API: {quote_text(detail)}", provider=PROVIDER_NAME
        )
    if _QUOTA.search(text):
        return RateLimitError(f"rate limited: {quote_text(detail)}", provider=PROVIDER_NAME)
    if _AUTH.search(text):
        return AuthenticationError(
            f"authentication failed: {quote_text(detail)}", provider=PROVIDER_NAME
        )
    return fallback(quote_text(detail), provider=PROVIDER_NAME)


def _api_error(text: str) -> ProviderError | None:
    """An ``{"error": {"code": N, ...}}`` inside the text, or a bare ``status N``, as an error."""
    start = text.find('{"error"')
    if start >= 0:
        try:
            payload, _ = json.JSONDecoder().raw_decode(text[start:])
        except ValueError:
            payload = None
        error = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(error, dict) and isinstance(code := error.get("code"), int):
            if code == 400 and _AUTH.search(text):
                code = 401  # Google answers a bad key with 400 API_KEY_INVALID
            found = error_from_http(code, body=payload, provider=PROVIDER_NAME)
            if delay := _RETRY_DELAY.search(text):  # google.rpc.RetryInfo, as "2s"
                found.retry_after = float(delay.group(1))
            return found
    status = http_status_in(text)
    return None if status is None else error_from_http(status, body=text, provider=PROVIDER_NAME)


def error_for_exit(code: int, stderr: str, *, events: int) -> ClaifError:
    """What the CLI's exit ``code`` means, quoting the tail of its stderr."""
    said = f": {stderr}" if stderr else " (nothing on stderr)"
    if code < 0:
        return TransportError(
            f"the Gemini CLI was killed by signal {-code}{said}", provider=PROVIDER_NAME
        )
    if 400 <= code + 256 < 600:  # an API error: the CLI exits with the HTTP status, mod 256
        found = _api_error(stderr) or error_from_http(code + 256, body=stderr)
        found.provider = PROVIDER_NAME
        found.message = f"{found.message} (exit {code})"
        return found
    if code in EXIT_MEANINGS:
        kind, meaning = EXIT_MEANINGS[code]
        return kind(f"{meaning} (exit {code}){said}", provider=PROVIDER_NAME)
    if code == 0:
        what = "printed no events" if events == 0 else "stopped before its result event"
        return TransportError(f"the Gemini CLI {what} (exit 0){said}", provider=PROVIDER_NAME)
    error = error_from_text(stderr) if stderr else None
    if error is not None and type(error) is not ProviderError:
        return error
    return ProviderError(f"the Gemini CLI failed (exit {code}){said}", provider=PROVIDER_NAME)
