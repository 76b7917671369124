"""What every Claif command line shares: consoles, fire, exit codes, one-line errors."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

    from ._commands import Flag

__all__ = [
    "EXIT_CLOSED_PIPE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PROVIDER",
    "EXIT_USAGE",
    "STDIN_PROMPT",
    "CLIApp",
]

T = TypeVar("T")

EXIT_OK = 0
EXIT_PROVIDER = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 141  # what a shell shows for `yes | head`: 128 + SIGPIPE

# A prompt of "-" reaches the command as this token (a real argv never holds a
# NUL byte), so a prompt that is literally "\x00stdin" cannot be typed.
STDIN_PROMPT = "\x00stdin"


def read_stdin(what: str) -> str:
    """All of standard input; a closed one (``<&-``) is a usage error naming ``what``."""
    from ..common.errors import ValidationError

    stream = sys.stdin
    if stream is None or stream.closed:
        raise ValidationError(f"standard input is closed: there is no {what} to read", field=what)
    try:
        return stream.read()
    except OSError as exc:  # fd 0 closed under a still-open Python file
        raise ValidationError(
            f"standard input cannot be read: there is no {what} ({exc.strerror})", field=what
        ) from exc


def without_name(text: str, name: str) -> str:
    """``text`` without a leading ``name: `` (a claif error already names its provider)."""
    prefix = f"{name}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def exit_code_for(error: BaseException) -> int:
    """The documented exit code of an error that ended a command."""
    from ..common.errors import ConfigurationError, SessionError, ValidationError

    if isinstance(error, ConfigurationError | ValidationError | SessionError):
        return EXIT_USAGE
    return EXIT_PROVIDER


class CLIApp:
    """A fire command object that renders through injected rich consoles."""

    # One-letter spellings of flags, such as {"-p": "--provider"}.
    short_flags: ClassVar[dict[str, str]] = {}

    def __init__(self, out: Console | None = None, err: Console | None = None) -> None:
        self._out = out
        self._err = err
        self.verbose = False
        self.settings: dict[str, Any] = {}  # values of the flags _extra_flags adds
        self._stop_logging: Callable[[], None] | None = None

    @property
    def out(self) -> Console:
        """Standard output, made on first use: ``--help`` never pays for rich."""
        if self._out is None:
            self._out = _console(stderr=False)
        return self._out

    @property
    def err(self) -> Console:
        """Standard error, for errors, warnings and verbose logs."""
        if self._err is None:
            self._err = _console(stderr=True)
        return self._err

    def _commands(self) -> list[str]:
        """The names fire shows and accepts; everything else stays internal."""
        return []

    def __dir__(self) -> list[str]:
        return self._commands()

    def _rows(self, rows: list[list[str]]) -> None:
        """A table on a terminal; tab-separated lines for pipes and scripts."""
        if not self.out.is_terminal:
            for row in rows:
                self.out.file.write("\t".join(row) + "\n")
            self.out.file.flush()
            return
        from rich.table import Table

        table = Table(show_header=False, box=None, pad_edge=False)
        for row in rows:
            table.add_row(*row)
        self.out.print(table, markup=False, highlight=False)

    def _verbose(self, verbose: bool) -> None:
        if verbose and self._stop_logging is None:
            from ..logs import enable_verbose_logging

            self.verbose = True
            self._stop_logging = enable_verbose_logging(self.err)

    def _run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run one async command to its end on a fresh event loop."""
        from asyncio import CancelledError

        import anyio

        async def main() -> T:
            return await work()

        try:
            return anyio.run(main)
        except CancelledError:
            # On 3.10 anyio's runner reports Ctrl-C as the main task's cancellation;
            # nothing else cancels it, so it means the same as KeyboardInterrupt.
            raise KeyboardInterrupt from None
        finally:
            if self._stop_logging is not None:
                self._stop_logging()
                self._stop_logging = None

    def _extra_flags(self, command: str) -> tuple[Flag, ...]:
        """Flags this CLI adds to ``command`` beyond the method's own (see ProviderCLI)."""
        return ()

    @classmethod
    def main(cls, argv: list[str] | None = None, *, name: str) -> NoReturn:
        """Check ``argv`` against the command it names, run it through fire, exit with its code."""
        from ..common.errors import ClaifError

        app = cls()
        try:
            app._dispatch(sys.argv[1:] if argv is None else argv, name)
        except KeyboardInterrupt:
            app.err.print("interrupted", style="yellow", markup=False)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:
            _quiet_closed_stdout()
            sys.exit(EXIT_CLOSED_PIPE)
        except ClaifError as error:  # anything else is a bug and keeps its traceback
            app.err.print(
                _one_line(error), style="red", markup=False, highlight=False, soft_wrap=True
            )
            sys.exit(exit_code_for(error))
        sys.exit(EXIT_OK)

    def _dispatch(self, argv: list[str], program: str) -> None:
        from ._commands import describe
        from ._parse import HelpRequest, parse_command_line

        request = parse_command_line(
            describe(self), argv, program=program, short_flags=self.short_flags
        )
        if isinstance(request, HelpRequest):
            from ._help import help_text

            text = help_text(request.target, program=program, short_flags=self.short_flags)
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        import fire

        self.settings = request.settings
        fire.Fire(self, command=request.fire_argv(STDIN_PROMPT), name=program)


def _console(*, stderr: bool) -> Console:
    """A rich console that lets a closed pipe raise BrokenPipeError like any write.

    rich's own reaction is SystemExit from inside the write; raised in the middle
    of a stream that skips every ``finally`` on the way out and leaves async
    generators half closed.
    """
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError("the reader of standard output has gone")

    return PipeConsole(stderr=stderr, highlight=False)


def _quiet_closed_stdout() -> None:
    """After the reader of standard output left: no flush may fail again at exit."""
    import os

    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def _one_line(error: BaseException) -> str:
    from ..logs import redact

    text = redact(str(error)).replace("\n", " ")
    return f"error: {text}"
