"""The command-line base every provider's CLI subclasses in a few lines.

Core checks the words, fire dispatches, the library works, rich renders. A
subclass sets ``provider_name`` and implements ``make_provider``, importing its
provider module inside it so that ``--help`` never pays for an HTTP client or
a vendor SDK.

Every word of a command line is checked against the commands' signatures
before anything runs (see ``_parse``); a subclass adds flags of its own with
``provider_flags`` (they arrive in ``self.settings``) and commands of its own
with methods listed in ``_commands``.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, ClassVar

from ._app import EXIT_PROVIDER, STDIN_PROMPT, CLIApp, read_stdin, without_name
from ._commands import Flag

# The library is imported inside the commands, not here: `--help` must start fast.
if TYPE_CHECKING:
    from ..common.options import ClaifOptions
    from ..providers.base import BaseProvider

__all__ = ["Flag", "ProviderCLI", "build_options", "read_prompt", "run_cli"]


def read_prompt(prompt: object) -> str:
    """The prompt as text; ``-`` means read it from standard input."""
    from ..common.errors import ValidationError

    if prompt == STDIN_PROMPT:
        text = read_stdin("prompt").rstrip("\r\n")  # `echo hi |` adds a line break
        if not text.strip():
            raise ValidationError("the prompt read from standard input is empty", field="prompt")
        return text
    text = str(prompt)
    if not text.strip():
        raise ValidationError("the prompt is empty", field="prompt")
    return text


def _image_list(image: object) -> list[str]:
    if image is None:
        return []
    if isinstance(image, list | tuple):
        return [str(item) for item in image]
    return [part for part in str(image).split(",") if part]


def build_options(
    *,
    model: object = None,
    system: object = None,
    image: object = None,
    session: object = None,
    max_tokens: object = None,
    temperature: object = None,
    timeout: object = None,
    stream: bool = True,
) -> ClaifOptions:
    """ClaifOptions from command-line values, whose types fire guessed."""
    from ..common.options import ClaifOptions

    return ClaifOptions(
        model=None if model is None else str(model),
        system_prompt=None if system is None else str(system),
        images=_image_list(image),
        session_id=None if session is None else str(session),
        max_tokens=max_tokens,  # type: ignore[arg-type]
        temperature=temperature,  # type: ignore[arg-type]
        timeout=timeout,  # type: ignore[arg-type]
        stream=stream,
    )


class ProviderCLI(CLIApp):
    """Query a provider from the shell: ``query``, ``health``, ``models``."""

    provider_name: ClassVar[str] = "provider"
    # Flags of this provider's own (its settings), accepted by every command that builds it.
    provider_flags: ClassVar[tuple[Flag, ...]] = ()

    def make_provider(self) -> BaseProvider:
        """Build the provider from ``self.settings``; import its module here, not at the top."""
        raise NotImplementedError

    def _commands(self) -> list[str]:
        return ["health", "models", "query"]

    def _extra_flags(self, command: str) -> tuple[Flag, ...]:
        return self.provider_flags if command in ("query", "health", "models") else ()

    def query(
        self,
        prompt: str,
        model: str | None = None,
        system: str | None = None,
        image: str | list[str] | None = None,
        session: str | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        timeout: float | None = None,
        json: bool = False,
        no_stream: bool = False,
        verbose: bool = False,
    ) -> None:
        """Ask the provider and print the reply as it streams in.

        Args:
            prompt: what to ask; - reads it from standard input
            model: the model to ask instead of the provider's default
            system: a system prompt
            image: an image file to attach (several: comma-separated)
            session: keep the conversation under this name and continue it
            max_tokens: the most tokens the reply may use
            temperature: sampling temperature, 0 to 2
            timeout: seconds for the whole reply, retries included
            json: print one JSON object per message instead of text
            no_stream: wait for the whole reply, then print it
            verbose: log requests and show model, finish reason and tokens
        """
        self._verbose(verbose)
        text = read_prompt(prompt)
        options = build_options(
            model=model,
            system=system,
            image=image,
            session=session,
            max_tokens=max_tokens,
            temperature=temperature,
            timeout=timeout,
            stream=not no_stream,
        )
        self._run(lambda: self._query(self.make_provider(), text, options, as_json=json))

    def health(self, verbose: bool = False) -> None:
        """Check that the provider's backend answers; exit 1 if it does not.

        Args:
            verbose: log what the check does
        """
        self._verbose(verbose)
        if not self._run(lambda: self._health(self.make_provider())):
            sys.exit(EXIT_PROVIDER)

    def models(self, verbose: bool = False) -> None:
        """List the models the backend offers, one per line.

        Args:
            verbose: log what the listing does
        """
        self._verbose(verbose)
        self._run(lambda: self._models(self.make_provider()))

    async def _query(
        self, provider: Any, prompt: str, options: ClaifOptions, *, as_json: bool
    ) -> None:
        from ..host import query
        from ._render import make_renderer

        renderer = make_renderer(self.out, self.err, as_json=as_json, verbose=self.verbose)
        try:
            async with _connected(provider), aclosing(query(provider, prompt, options)) as stream:
                async for message in stream:
                    renderer.message(message)
        except BaseException:
            renderer.break_line()  # an error after partial output starts on a line of its own
            raise
        renderer.finish()

    async def _health(self, provider: Any) -> bool:
        """Print one line for the provider's health; True when it is usable."""
        async with _connected(provider):
            report = await provider.health()
        status = "ok" if report.ok else "failing"
        detail = without_name(report.detail, report.provider)
        self.out.print(
            f"{report.provider}: {status} {detail}".rstrip(), markup=False, soft_wrap=True
        )
        return bool(report.ok)

    async def _models(self, provider: Any) -> None:
        from ..common.errors import ValidationError

        lister: Callable[[], Awaitable[Sequence[str]]] | None = getattr(provider, "models", None)
        if lister is None:
            raise ValidationError(
                f"provider {self.provider_name!r} cannot list models", field="models"
            )
        async with _connected(provider):
            names = await lister()
        for name in names:
            self.out.print(name, markup=False, highlight=False)


class _connected:
    """``async with`` for any provider: connect, and always disconnect, even on Ctrl-C."""

    def __init__(self, provider: Any) -> None:
        self.provider = provider

    async def __aenter__(self) -> Any:
        await self.provider.connect()
        return self.provider

    async def __aexit__(self, *exc_info: object) -> None:
        import anyio

        with anyio.CancelScope(shield=True):
            await self.provider.disconnect()


def run_cli(cli_class: type[CLIApp], argv: list[str] | None = None, *, name: str) -> None:
    """Run a CLI class with fire; exit with 0, 1 (provider), 2 (usage) or 130 (Ctrl-C)."""
    cli_class.main(argv, name=name)
