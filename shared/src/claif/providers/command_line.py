"""CommandLineProvider: the base of providers that run a vendor's CLI once per attempt.

Such a provider is three translations: the command line and standard input for
a prompt (:meth:`~CommandLineProvider.launch`), the CLI's output lines into
Messages (a :class:`LineDecoder`), and an exit code into an error
(:meth:`~CommandLineProvider.exit_error`). This class runs them: it starts the
child through :mod:`claif.process`, yields each line's Messages as they
arrive, stops at the decoder's end marker (giving the CLI a moment to save its
state and exit), raises the decoder's failure or the exit code's error with
the end of stderr quoted, lets ``disconnect()`` stop running children from
another task, and answers ``health()`` from ``BINARY --version``.
"""

from __future__ import annotations

import json
import logging
from abc import abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ..common.errors import ClaifError, TransportError, quote_text
from ..common.options import ClaifOptions
from ..common.types import Message
from ..process import ChildProcess
from .base import BaseProvider, Health

__all__ = ["CommandLineProvider", "Launch", "LineDecoder", "json_event", "with_stderr"]


class LineDecoder(Protocol):
    """Turns a CLI's output lines into Messages, one line at a time.

    ``done`` turns true at the end marker; ``failure`` is set when the CLI
    reported a failure in its output; ``events`` counts the lines that were
    events (so a CLI that printed none can be told apart).
    """

    events: int
    failure: ClaifError | None

    @property
    def done(self) -> bool: ...

    def feed(self, line: bytes) -> list[Message]: ...

    def final(self) -> Message: ...


@dataclass(frozen=True)
class Launch:
    """One run of the CLI: its argv, its whole standard input, and the decoder of its output."""

    argv: Sequence[str]
    stdin: bytes
    decoder: LineDecoder


def json_event(
    line: bytes, *, tool: str, provider: str, log: logging.Logger
) -> dict[str, Any] | None:
    """One output line of a CLI that prints a JSON object a line, as that object.

    A line that does not start like an object is noise (a warning the tool
    printed): None, logged at debug level. One that starts like an object and
    does not parse is a TransportError naming ``tool``; other JSON values are None.
    """
    stripped = line.strip()
    if not stripped.startswith(b"{"):
        if stripped:
            log.debug("skipped a line that is not JSON: %s", quote_text(stripped, 200))
        return None
    try:
        event = json.loads(stripped)
    except (ValueError, RecursionError) as exc:
        raise TransportError(
            f"{tool} printed a broken JSON line: {quote_text(stripped)}", provider=provider
        ) from exc
    return event if isinstance(event, dict) else None


def with_stderr(error: ClaifError, stderr: str) -> ClaifError:
    """``error`` with the end of the CLI's stderr quoted after its message."""
    if stderr:
        error.message = f"{error.message}; stderr: {stderr}"
    return error


class CommandLineProvider(BaseProvider):
    """Subclass it and write :meth:`launch`, :meth:`start`, :meth:`exit_error` and
    :meth:`executable`; ``query``, ``health`` and stopping children come from here.

    A subclass's ``disconnect`` calls :meth:`stop_children` so that a query
    running in another task ends with a TransportError.
    """

    # After the end marker the CLI may still save its session; this long is waited for it.
    exit_settle: ClassVar[float] = 1.0
    # How much of stderr a failure reported in the output quotes: its end, not a stack trace.
    stderr_quote: ClassVar[int] = 300
    version_timeout: ClassVar[float] = 30.0

    @abstractmethod
    def executable(self) -> str:
        """The path of the CLI (a ConfigurationError with an install hint when missing)."""

    @abstractmethod
    def launch(self, prompt: str, options: ClaifOptions) -> Launch:
        """What to run for one attempt at ``prompt``."""

    @abstractmethod
    async def start(self, argv: Sequence[str], stdin: bytes) -> ChildProcess:
        """Start ``argv`` (through :func:`claif.process.start_child`) with its folder and env."""

    @abstractmethod
    def exit_error(self, code: int, stderr: str, decoder: LineDecoder | None) -> ClaifError:
        """What the CLI's exit ``code`` means when its output did not end properly.

        ``decoder`` holds what the output said before (None for ``--version``).
        """

    @property
    def running(self) -> set[ChildProcess]:
        """The children of queries in progress."""
        try:
            return self.__running
        except AttributeError:
            self.__running: set[ChildProcess] = set()
            return self.__running

    def stop_children(self) -> None:
        """Kill every running CLI now; their queries end with a TransportError."""
        for child in list(self.running):
            child.kill()

    async def query(
        self, prompt: str, options: ClaifOptions | None = None
    ) -> AsyncIterator[Message]:
        """One run of the CLI, each output line's Messages yielded as the line arrives."""
        run = self.launch(prompt, options or ClaifOptions())
        decoder = run.decoder
        async with await self.start(run.argv, run.stdin) as child:
            self.running.add(child)
            try:
                while (line := await child.next_line()) is not None:
                    for message in decoder.feed(line):
                        yield message
                    if decoder.failure is not None:
                        raise with_stderr(decoder.failure, child.stderr_tail(self.stderr_quote))
                    if decoder.done:
                        yield decoder.final()
                        await child.exited(within=self.exit_settle)
                        return
                code = await child.wait()
                raise self.exit_error(code, child.stderr_tail(), decoder)
            finally:
                self.running.discard(child)

    async def version(self) -> tuple[int, str, str]:
        """``BINARY --version``: its exit code, first line of output and stderr's end."""
        import anyio

        with anyio.fail_after(self.version_timeout):
            async with await self.start([self.executable(), "--version"], b"") as child:
                line = await child.next_line()
                code = await child.wait()
        text = (line or b"").decode("utf-8", "replace").strip()
        return code, text, child.stderr_tail(500)

    async def health(self) -> Health:
        """Whether ``BINARY --version`` runs: the path and version, or why not.

        A missing binary raises its ConfigurationError: installing it is the user's to do.
        """
        binary = self.executable()
        try:
            code, version, stderr = await self.version()
        except TimeoutError:
            return Health(ok=False, provider=self.name, detail=f"{binary} --version hung")
        except ClaifError as error:
            return Health(ok=False, provider=self.name, detail=str(error))
        if code != 0 or not version:
            reason = self.exit_error(code, stderr, None) if code else "it printed nothing"
            return Health(ok=False, provider=self.name, detail=f"{binary}: {reason}")
        return Health(ok=True, provider=self.name, detail=f"{binary} {version}")
