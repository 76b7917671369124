"""GeminiProvider: Google's Gemini CLI, run headless once per attempt, as a claif provider.

``query`` is one attempt: start ``gemini --output-format stream-json`` with the
prompt on standard input, turn each line into Messages as it arrives, stop at
the ``result`` event. Core's call path around it adds retries, the overall
deadline (it bounds every read; cancelling ends the CLI's process group),
sessions and ``stream=False``. A claif session resumes the CLI's own session.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from claif.common.errors import ClaifError, TransportError
from claif.common.options import ClaifOptions
from claif.common.types import Message
from claif.process import ChildProcess
from claif.providers.base import BaseProvider, Health
from claif.providers.capabilities import Capability
from claif.settings import explicit_settings

from .client import EventDecoder, build_argv, build_input, error_for_exit, with_stderr
from .transport import CliRunner
from .types import PROVIDER_NAME, SETTINGS, GeminiSettings

__all__ = ["GeminiProvider"]

# After its result event the CLI saves its session and exits; this long is waited for that.
EXIT_SETTLE = 1.0
# How much of stderr a failed result quotes: its end, without the whole stack trace.
STDERR_QUOTE = 300


class GeminiProvider(BaseProvider):
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
        self._children: set[ChildProcess] = set()

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
        for child in list(self._children):
            child.kill()
        if self._runner is not None:
            self._runner.close()
        self._runner = None
        self._settings = None

    def _ready(self) -> CliRunner:
        if self._runner is None:
            self._runner = CliRunner(self.settings)
        return self._runner

    async def query(
        self, prompt: str, options: ClaifOptions | None = None
    ) -> AsyncIterator[Message]:
        """One run of the CLI, streamed per the core grammar; ``result`` completes it."""
        options = options or ClaifOptions()
        runner = self._ready()
        model = options.model or self.settings.model
        argv = build_argv(runner.binary, self.settings, options, model=model)
        decoder = EventDecoder(model=model)
        async with await runner.start(argv, build_input(prompt, options)) as child:
            self._children.add(child)  # so disconnect() can stop it
            try:
                while (line := await child.next_line()) is not None:
                    for message in decoder.feed(line):
                        yield message
                    if decoder.failure is not None:
                        raise with_stderr(decoder.failure, child.stderr_tail(STDERR_QUOTE))
                    if decoder.done:
                        yield decoder.final()
                        await child.exited(within=EXIT_SETTLE)
                        return
                code = await child.wait()
                raise error_for_exit(code, child.stderr_tail(), events=decoder.events)
            finally:
                self._children.discard(child)

    async def health(self) -> Health:
        """Whether ``gemini --version`` runs: its path and version, or why it does not.

        A missing binary still raises: installing it is the user's to do.
        """
        runner = self._ready()
        try:
            code, version, stderr = await runner.version()
        except TimeoutError:
            return Health(ok=False, provider=self.name, detail=f"{runner.binary} --version hung")
        except ClaifError as error:
            return Health(ok=False, provider=self.name, detail=str(error))
        if code != 0 or not version:
            reason = error_for_exit(code, stderr, events=1) if code else TransportError("no output")
            return Health(ok=False, provider=self.name, detail=f"{runner.binary}: {reason}")
        return Health(ok=True, provider=self.name, detail=f"{runner.binary} {version}")
