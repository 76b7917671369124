"""What every Claif command line shares: consoles, fire, exit codes, one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar, cast

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PROVIDER",
    "EXIT_USAGE",
    "STDIN_PROMPT",
    "CLIApp",
    "raw_strings",
]

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

EXIT_OK = 0
EXIT_PROVIDER = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# fire reads a lone "-" as its command separator, so it is swapped for this
# token before parsing; a real argv can never hold a NUL byte.
STDIN_PROMPT = "\x00stdin"

# Boolean flags of the Claif command lines; see CLIApp.prepare_argv.
SWITCHES = frozenset({"--json", "--no-stream", "--no_stream", "--verbose", "--capabilities"})


def raw_strings(*names: str) -> Callable[[F], F]:
    """Keep these arguments as typed: fire would turn ``3`` into 3 and ``a,b`` into a tuple."""
    from fire import decorators

    # fire keeps this metadata as a public attribute of the function and then lists
    # it in usage errors as a command group; an underscore name keeps it private.
    decorators.FIRE_METADATA = "_fire_metadata"

    def decorate(func: F) -> F:
        return cast(F, decorators.SetParseFns(**dict.fromkeys(names, str))(func))

    return decorate


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

    short_flags: ClassVar[dict[str, str]] = {}
    # Flags that must be followed by a value (fire would read a bare one as True).
    value_flags: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, out: Console | None = None, err: Console | None = None) -> None:
        self._out = out
        self._err = err
        self.verbose = False
        self._stop_logging: Callable[[], None] | None = None

    @property
    def out(self) -> Console:
        """Standard output, made on first use: ``--help`` never pays for rich."""
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False)
        return self._out

    @property
    def err(self) -> Console:
        """Standard error, for errors, warnings and verbose logs."""
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False)
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

    @classmethod
    def prepare_argv(cls, argv: list[str]) -> list[str]:
        """Swap ``-`` for the stdin token, expand short flags, pin switches to True.

        fire would read ``--json "Hi"`` as ``json="Hi"``; ``--json=True`` keeps
        a switch from swallowing the word after it.
        """
        prepared = []
        for index, arg in enumerate(argv):
            arg = cls.short_flags.get(arg, arg)
            if arg in cls.value_flags and not _has_value(argv, index):
                from ..common.errors import ValidationError

                short = [flag for flag, long in cls.short_flags.items() if long == arg]
                shown = "/".join([*short, arg])
                raise ValidationError(f"{shown} needs a value after it", field=arg.lstrip("-"))
            if arg == "-":
                arg = STDIN_PROMPT
            elif arg in SWITCHES:
                arg = f"{arg}=True"
            prepared.append(arg)
        return prepared

    @classmethod
    def main(cls, argv: list[str] | None = None, *, name: str) -> NoReturn:
        """Parse ``argv`` with fire, run the command and exit with its code."""
        import fire

        from ..common.errors import ClaifError

        app = cls()
        try:
            args = cls.prepare_argv(sys.argv[1:] if argv is None else argv)
            fire.Fire(app, command=args, name=name)
        except KeyboardInterrupt:
            app.err.print("interrupted", style="yellow", markup=False)
            sys.exit(EXIT_INTERRUPTED)
        except ClaifError as error:  # anything else is a bug and keeps its traceback
            app.err.print(
                _one_line(error), style="red", markup=False, highlight=False, soft_wrap=True
            )
            sys.exit(exit_code_for(error))
        sys.exit(EXIT_OK)


def _has_value(argv: list[str], index: int) -> bool:
    following = argv[index + 1] if index + 1 < len(argv) else None
    return following is not None and (following == "-" or not following.startswith("-"))


def _one_line(error: BaseException) -> str:
    from ..logs import redact

    text = redact(str(error)).replace("\n", " ")
    return f"error: {text}"
