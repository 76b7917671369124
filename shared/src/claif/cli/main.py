"""The umbrella ``claif`` command: every installed provider behind one CLI."""

from __future__ import annotations

import sys
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from ..common.errors import ClaifError, ValidationError
from ._app import EXIT_PROVIDER, CLIApp, read_stdin, without_name
from .base import ProviderCLI

if TYPE_CHECKING:
    from ..sessions import SessionSummary

__all__ = ["main"]


class KeysCommands(CLIApp):
    """Store API keys for providers (in a file only you can read)."""

    def _commands(self) -> list[str]:
        return ["delete", "list", "path", "set"]

    def set(self, name: str) -> None:
        """Store the key for NAME, read from standard input or typed at a hidden prompt.

        Args:
            name: the provider the key is for, such as myprovider
        """
        from ..config import KeyStore, check_key_name

        check_key_name(name)  # first: nobody should paste a key only to hear the name is bad
        value = _read_secret(f"key for {name}: ")
        KeyStore().set(name, value)
        self.out.print(f"stored the key for {name}", markup=False)

    def list(self) -> None:
        """Names that have a stored key; keys themselves are never shown."""
        from ..config import KeyStore

        for name in KeyStore().names():
            self.out.print(name, markup=False)

    def path(self) -> None:
        """Where the keys file lives."""
        from ..config import keys_path

        self.out.print(str(keys_path()), markup=False, soft_wrap=True)

    def delete(self, name: str) -> None:
        """Forget the stored key for NAME.

        Args:
            name: the provider whose key goes
        """
        from ..config import KeyStore

        KeyStore().delete(name)
        self.out.print(f"deleted the key for {name}", markup=False)


def _read_secret(prompt: str) -> str:
    if sys.stdin is not None and not sys.stdin.closed and sys.stdin.isatty():
        import getpass

        value = getpass.getpass(prompt)
    else:
        value = read_stdin("key").partition("\n")[0]
    value = value.strip()
    if not value:
        raise ValidationError("no key was given", field="key")
    return value


class SessionsCommands(CLIApp):
    """Saved conversations (``--session ID`` on query)."""

    def _commands(self) -> list[str]:
        return ["delete", "list", "show"]

    def list(self) -> None:
        """Every saved session with its message count and last update, or why it is unreadable."""
        from ..sessions import SessionManager

        self._rows([_session_row(summary) for summary in SessionManager().list()])

    def show(self, session_id: str, json: bool = False) -> None:
        """Print a session's messages.

        Args:
            session_id: the session's name, as given to --session
            json: print one JSON object per message
        """
        import json as jsonlib

        from ..sessions import SessionManager

        session = SessionManager().load(session_id)
        for message in session.messages:
            if json:
                self.out.file.write(jsonlib.dumps(message.to_dict(), ensure_ascii=False) + "\n")
            else:
                self.out.print(f"{message.role.value}: {message.text}", markup=False)

    def delete(self, session_id: str) -> None:
        """Delete a saved session.

        Args:
            session_id: the session's name, as given to --session
        """
        from ..sessions import SessionManager

        SessionManager().delete(session_id)
        self.out.print(f"deleted session {session_id}", markup=False)


def _session_row(summary: SessionSummary) -> list[str]:
    """Id, message count (or the reason the file cannot be read) and last update."""
    state = f"unreadable: {summary.error}" if summary.error else f"{summary.message_count} messages"
    return [summary.id, state, summary.updated.isoformat(timespec="seconds")]


class ClaifCLI(ProviderCLI):
    """Claif: query any installed provider, manage keys and sessions."""

    short_flags: ClassVar[dict[str, str]] = {"-p": "--provider"}

    def __init__(self, out: Any = None, err: Any = None) -> None:
        super().__init__(out, err)
        self.keys = KeysCommands(self._out, self._err)
        self.sessions = SessionsCommands(self._out, self._err)
        self._chosen: str | None = None

    def _commands(self) -> list[str]:
        return ["health", "keys", "providers", "query", "sessions"]

    def make_provider(self) -> Any:
        from ..plugins import create_provider

        return create_provider(_provider_name(self._chosen))

    def providers(self, capabilities: bool = False) -> None:
        """List the installed providers: name, distribution, version.

        Args:
            capabilities: also show what each declares (imports every provider)
        """
        from ..plugins import list_plugins

        plugins = list_plugins()
        if not plugins:
            self.out.print(
                "no providers installed yet (install a package such as claif-myprovider)"
            )
            return
        rows = [[info.name, info.distribution, info.version] for info in plugins]
        if capabilities:
            for row in rows:
                row.append(_describe_capabilities(row[0]))
        self._rows(rows)

    def health(self, provider: str | None = None, verbose: bool = False) -> None:  # type: ignore[override]
        """Check one provider or every installed one; exit 1 if any fails.

        Args:
            provider: the provider to check (default: all of them)
            verbose: log what the checks do
        """
        from ..plugins import list_plugins

        self._verbose(verbose)
        names = [_provider_name(provider)] if provider else [i.name for i in list_plugins()]
        failed = []
        for name in names:
            try:
                healthy = self._run(partial(self._health_of, name))
            except ClaifError as error:
                if provider:
                    raise  # one provider asked for: its error is the answer, with its exit code
                healthy = False
                detail = without_name(str(error), name)
                self.out.print(f"{name}: failing {detail}", markup=False, soft_wrap=True)
            if not healthy:
                failed.append(name)
        if failed:
            sys.exit(EXIT_PROVIDER)

    async def _health_of(self, name: str) -> bool:
        from ..common.errors import ProviderError
        from ..plugins import create_provider

        provider = create_provider(name)
        try:
            return await self._health(provider)
        except (ClaifError, KeyboardInterrupt):
            raise
        except Exception as exc:  # a plugin's bug must not stop the other checks
            raise ProviderError(
                f"health check crashed: {type(exc).__name__}: {exc}", provider=name
            ) from exc

    def query(  # type: ignore[override]
        self,
        prompt: str,
        provider: str | None = None,
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
        """Ask an installed provider and print the reply as it streams in.

        Args:
            provider: the provider to ask (see: claif providers)

        The other arguments are those of every provider's query command.
        """
        self._chosen = provider
        super().query(
            prompt,
            model=model,
            system=system,
            image=image,
            session=session,
            max_tokens=max_tokens,
            temperature=temperature,
            timeout=timeout,
            json=json,
            no_stream=no_stream,
            verbose=verbose,
        )


def _provider_name(chosen: object) -> str:
    """The name given to -p, which query needs (health without one checks every provider)."""
    if not chosen or not isinstance(chosen, str):
        raise ValidationError(
            "choose a provider with -p NAME (see: claif providers)", field="provider"
        )
    return chosen


def _describe_capabilities(name: str) -> str:
    from ..plugins import declared_capabilities

    try:
        return ",".join(sorted(item.value for item in declared_capabilities(name)))
    except ClaifError as error:
        return f"unavailable: {without_name(str(error), name)}"


def main() -> None:
    """Entry point of the ``claif`` console script."""
    ClaifCLI.main(name="claif")
