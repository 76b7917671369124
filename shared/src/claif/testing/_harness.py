"""What a provider's tests hand the conformance suite: a provider factory and a scriptable fake.

The fake speaks one vocabulary of named behaviours, whatever its wire format
(an HTTP server, a fake executable, an SDK's local server), so the suite never
knows the backend. A behaviour the fake cannot produce raises
:class:`Unsupported` with the reason; the test that needs it is then skipped
and the reason printed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..providers.base import BaseProvider

__all__ = ["Harness", "SentRequest", "Unsupported"]


class Unsupported(Exception):
    """This fake cannot produce the behaviour asked for; the message says why."""


@dataclass(frozen=True)
class SentRequest:
    """What the backend received for one query, in backend-neutral terms.

    ``texts`` are the text contents of the messages sent, in order (history,
    then the prompt); ``system`` the system prompt as the backend saw it. A
    field the backend has no place for is None.
    """

    model: str | None = None
    system: str | None = None
    texts: Sequence[str] = ()
    temperature: float | None = None
    max_tokens: int | None = None
    tool_names: Sequence[str] = ()
    tool_results: Sequence[str] = ()
    image_count: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)


class Harness(Protocol):
    """A provider pointed at its fake backend, and that backend's script.

    Each ``reply*`` and fault method scripts the backend's answer to the NEXT
    query (a fault that is followed by a success, such as
    ``server_error_then_success``, scripts both). Calls queue up in order.
    """

    def make_provider(self) -> BaseProvider:
        """A new, unconnected provider pointed at the fake backend."""

    def make_unreachable_provider(self) -> BaseProvider:
        """A provider whose backend cannot be reached (connection refused, binary missing)."""

    def reply(self, parts: Sequence[str], *, model: str) -> None:
        """Answer with these parts, streamed in order, then end normally; report no usage."""

    def reply_with_usage(
        self, parts: Sequence[str], *, model: str, input_tokens: int, output_tokens: int
    ) -> None:
        """Answer with these parts and report this token usage."""

    def reply_with_tool_call(self, name: str, arguments: Mapping[str, Any], *, model: str) -> None:
        """Answer with one call of tool ``name`` with these arguments, and no text."""

    def auth_failure(self) -> None:
        """Refuse the credentials (HTTP 401, the CLI's auth exit code ...)."""

    def rate_limited(self, retry_after: float) -> None:
        """Refuse for now, asking to come back after ``retry_after`` seconds."""

    def server_error_then_success(self, failures: int, parts: Sequence[str], *, model: str) -> None:
        """Fail with a retryable server error ``failures`` times, then answer with ``parts``."""

    def stall(self, parts: Sequence[str], *, model: str) -> None:
        """Send ``parts`` (maybe none), then nothing more, never ending."""

    def cut_mid_stream(self, parts: Sequence[str], *, model: str) -> None:
        """Send ``parts``, then drop the connection (or die) before the end."""

    def malformed_chunk(self) -> None:
        """Send a chunk that is not valid in the wire format (broken JSON ...)."""

    def error_in_stream(self, parts: Sequence[str], *, model: str) -> None:
        """Send ``parts``, then an error event inside the stream."""

    def no_end_marker(self, parts: Sequence[str], *, model: str) -> None:
        """Send ``parts`` and end the stream without its end marker."""

    def end_marker_then_hang(self, parts: Sequence[str], *, model: str) -> None:
        """Send ``parts`` and the end marker, then keep the connection (or process) open."""

    def oversized_event(self) -> None:
        """Send one event larger than the cap the provider from make_provider was given."""

    def garbage(self, payload: Any) -> None:
        """Send ``payload`` (any JSON value, or a str sent raw) where an event belongs."""

    def requests(self) -> list[SentRequest]:
        """Every request (or child process) the backend has seen, oldest first."""

    def open_resources(self) -> int:
        """Connections (or child processes) the backend still has open or alive."""

    def cli_command(self) -> Sequence[str]:
        """The provider's console script as an argv prefix, such as ``["/venv/bin/claif-myp"]``.

        The CLI part of the suite runs it as a child process with
        :meth:`cli_environment` added, so it reaches this same fake backend.
        """
        raise Unsupported("this harness names no console script")

    def cli_environment(self) -> Mapping[str, str]:
        """Environment variables that point the console script at the fake backend."""
        return {}
