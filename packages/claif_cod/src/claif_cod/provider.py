"""CodexProvider: OpenAI's Codex CLI, an agent run headless once per attempt.

One attempt starts ``codex exec --json`` with the prompt on standard input and
turns each line into Messages as it arrives, up to ``turn.completed``: the
agent's text, and each command, file change, MCP tool call and web search as a
ToolUseBlock when it starts and a ToolResultBlock when it ends. Core's
:class:`~claif.providers.command_line.CommandLineProvider` runs the child;
core's call path adds retries, the overall deadline (cancelling ends the CLI's
process group, commands included), sessions and ``stream=False``. A claif
session resumes the Codex thread (``codex exec resume THREAD_ID``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from claif.common.errors import ClaifError
from claif.common.options import ClaifOptions
from claif.common.types import Role
from claif.process import ChildProcess
from claif.providers.capabilities import Capability
from claif.providers.command_line import CommandLineProvider, Launch, LineDecoder
from claif.settings import explicit_settings

from .client import META_CODEX_USAGE, EventDecoder, build_argv, build_input, error_for_exit
from .transport import CliRunner
from .types import PROVIDER_NAME, SETTINGS, CodexSettings

__all__ = ["CodexProvider"]


class CodexProvider(CommandLineProvider):
    """Runs the ``codex`` binary per query; building an instance does no I/O.

    Keywords are the settings of :data:`claif_cod.types.SETTINGS` (``cli_path``,
    ``model``, ``sandbox``, ``cwd``, ``skip_git_repo_check``,
    ``config_overrides``, ``extra_env``, ``home``, ``max_line_bytes``,
    ``term_grace``); one left out comes from the environment or the claif
    config file when the provider connects.
    """

    name: ClassVar[str] = PROVIDER_NAME
    # claif tools and images are not offered to the agent; it has its own tools.
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.TEXT, Capability.STREAMING, Capability.SYSTEM_PROMPT, Capability.SESSIONS}
    )
    accepted_extras: ClassVar[frozenset[str] | None] = frozenset()
    # `codex exec` has no flags for these; refused at the call, not silently dropped.
    unsupported_options: ClassVar[frozenset[str]] = frozenset({"temperature", "max_tokens"})

    def __init__(self, **settings: Any) -> None:
        self._explicit = explicit_settings(PROVIDER_NAME, SETTINGS, settings)
        self._settings: CodexSettings | None = None
        self._runner: CliRunner | None = None

    def __repr__(self) -> str:
        binary = self._runner.binary if self._runner else self._explicit.get("cli_path")
        return f"CodexProvider(cli_path={binary!r}, connected={self.connected})"

    @property
    def connected(self) -> bool:
        return self._runner is not None

    @property
    def settings(self) -> CodexSettings:
        """The resolved settings (resolving them on first use)."""
        if self._settings is None:
            self._settings = CodexSettings.resolve(**self._explicit)
        return self._settings

    async def connect(self) -> None:
        """Resolve settings and find the binary (a missing one says how to install it)."""
        self._ready()

    async def disconnect(self) -> None:
        """Stop every running CLI (their queries end with TransportError); forget settings."""
        self.stop_children()
        self._runner = None
        self._settings = None

    def _ready(self) -> CliRunner:
        if self._runner is None:
            self._runner = CliRunner(self.settings)
        return self._runner

    def executable(self) -> str:
        return self._ready().binary

    def launch(self, prompt: str, options: ClaifOptions) -> Launch:
        """``codex exec --json ... -`` (or ``... resume THREAD -``) with the prompt on stdin."""
        model = options.model or self.settings.model
        argv = build_argv(self.executable(), self.settings, options, model=model)
        decoder = EventDecoder(model=model, usage_before=_thread_usage(options))
        return Launch(argv, build_input(prompt, options), decoder)

    async def start(self, argv: Sequence[str], stdin: bytes) -> ChildProcess:
        return await self._ready().start(argv, stdin)

    def exit_error(self, code: int, stderr: str, decoder: LineDecoder | None) -> ClaifError:
        return error_for_exit(code, stderr, decoder if isinstance(decoder, EventDecoder) else None)


def _thread_usage(options: ClaifOptions) -> dict[str, int] | None:
    """The thread's token totals after the last reply, when resuming it.

    The CLI reports usage for the whole thread; the previous reply's totals
    (kept in its metadata in the session) turn that back into this reply's.
    """
    if not options.native_session_id:
        return None
    for message in reversed(options.history):
        if message.role is Role.ASSISTANT:
            totals = message.metadata.get(META_CODEX_USAGE)
            return totals if isinstance(totals, dict) else None
    return None
