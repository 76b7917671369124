"""GeminiProvider: Google's Gemini CLI, run headless once per attempt, as a claif provider.

One attempt starts ``gemini --output-format stream-json`` with the prompt on
standard input and turns each line into Messages as it arrives, up to the
``result`` event (core's :class:`~claif.providers.command_line.CommandLineProvider`
runs the child). Core's call path around it adds retries, the overall
deadline (it bounds every read; cancelling ends the CLI's process group),
sessions and ``stream=False``. A claif session resumes the CLI's own session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from claif.common.errors import ClaifError
from claif.common.options import ClaifOptions
from claif.process import ChildProcess
from claif.providers.capabilities import Capability
from claif.providers.command_line import CommandLineProvider, Launch, LineDecoder
from claif.settings import explicit_settings

from .client import EventDecoder, build_argv, build_input, error_for_exit
from .transport import CliRunner
from .types import PROVIDER_NAME, SETTINGS, GeminiSettings

__all__ = ["GeminiProvider"]


class GeminiProvider(CommandLineProvider):
    """Runs the ``gemini`` binary per query; building an instance does no I/O.

    Keywords are the settings of :data:`claif_gem.types.SETTINGS` (``cli_path``,
    ``model``, ``approval_mode``, ``extra_args``, ``cwd``, ``extra_env``,
    ``max_line_bytes``, ``term_grace``); one left out comes from the
    environment or the claif config file when the provider connects.
    """

    name: ClassVar[str] = PROVIDER_NAME
    # Tools, images and model listing are the CLI's own business, not offered through it.
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.TEXT, Capability.STREAMING, Capability.SYSTEM_PROMPT, Capability.SESSIONS}
    )
    accepted_extras: ClassVar[frozenset[str] | None] = frozenset()
    # The CLI has no flags for these; refused at the call, not silently dropped.
    unsupported_options: ClassVar[frozenset[str]] = frozenset({"temperature", "max_tokens"})

    def __init__(self, **settings: Any) -> None:
        self._explicit = explicit_settings(PROVIDER_NAME, SETTINGS, settings)
        self._settings: GeminiSettings | None = None
        self._runner: CliRunner | None = None

    def __repr__(self) -> str:
        binary = self._runner.binary if self._runner else self._explicit.get("cli_path")
        return f"GeminiProvider(cli_path={binary!r}, connected={self.connected})"

    @property
    def connected(self) -> bool:
        return self._runner is not None

    @property
    def settings(self) -> GeminiSettings:
        """The resolved settings (resolving them on first use)."""
        if self._settings is None:
            self._settings = GeminiSettings.resolve(**self._explicit)
        return self._settings

    async def connect(self) -> None:
        """Resolve settings and find the binary (a missing one says how to install it)."""
        self._ready()

    async def disconnect(self) -> None:
        """Stop every running CLI (their queries end with TransportError); forget settings."""
        self.stop_children()
        if self._runner is not None:
            self._runner.close()
        self._runner = None
        self._settings = None

    def _ready(self) -> CliRunner:
        if self._runner is None:
            self._runner = CliRunner(self.settings)
        return self._runner

    def executable(self) -> str:
        return self._ready().binary

    def launch(self, prompt: str, options: ClaifOptions) -> Launch:
        """``gemini --output-format stream-json ...`` with the prompt (and more) on stdin."""
        model = options.model or self.settings.model
        argv = build_argv(self.executable(), self.settings, options, model=model)
        return Launch(argv, build_input(prompt, options), EventDecoder(model=model))

    async def start(self, argv: Sequence[str], stdin: bytes) -> ChildProcess:
        return await self._ready().start(list(argv), stdin)

    def exit_error(self, code: int, stderr: str, decoder: LineDecoder | None) -> ClaifError:
        return error_for_exit(code, stderr, events=decoder.events if decoder else 1)
