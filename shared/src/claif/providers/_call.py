"""The one call path: what ``provider.query(prompt, options)`` does around one attempt.

A provider's author writes one attempt (its ``query`` body). ``BaseProvider``
swaps that method for :func:`call`, which, for every provider however it was
written:

1. checks the prompt and options against the declared capabilities, before any I/O;
2. connects on demand, within the call's deadline;
3. loads the session (``options.session_id``) into ``history``, with the
   backend's own session id, if it keeps one, as ``native_session_id``;
4. runs attempts: each gets what is left of ``options.timeout`` as its own
   timeout; retryable errors before the first Message are retried (see
   :mod:`claif.retry`); nothing is retried once a Message has been yielded;
5. gives exactly one Message for ``stream=False``;
6. fills the provider's name into any error raised without one, and turns an
   exception that is not a claif error into a ProviderError;
7. records the turn in the session once the reply is complete, and logs.

A subclass whose ``query`` calls ``super().query()`` gets its parent's attempt
body, not a second call path: retries never stack.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Any

from .._deadline import Deadline
from ..common.errors import ClaifError, ClaifTimeoutError, ProviderError, TransportError
from ..common.options import ClaifOptions, check_text
from ..common.types import Message
from ..retry import RetryPolicy, active_policy, retry_wait
from ..streaming import merge_messages
from . import _turns as session_turns
from .capabilities import check_options, provider_name

__all__ = ["Attempt", "attempt_of", "call", "mark_disconnected", "wrap_disconnect", "wrap_query"]

logger = logging.getLogger("claif.call")

Attempt = Callable[[str, ClaifOptions], AsyncIterator[Message]]


# The provider whose attempt is running in this task: its query() then means "the body".
_RUNNING: contextvars.ContextVar[object] = contextvars.ContextVar("claif_attempt", default=None)


def wrap_query(
    body: Callable[..., AsyncIterator[Message]],
) -> Callable[..., AsyncIterator[Message]]:
    """A subclass's ``query`` body, turned into the whole call path."""

    @functools.wraps(body)
    def query(
        self: Any, prompt: str, options: ClaifOptions | None = None, **kwargs: Any
    ) -> AsyncIterator[Message]:
        if _RUNNING.get() is self:  # super().query() from inside an attempt
            return body(self, prompt, options, **kwargs)
        return call(self, functools.partial(body, self, **kwargs), prompt, options)

    query.__claif_body__ = body  # type: ignore[attr-defined]
    return query


def wrap_disconnect(body: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
    """A subclass's ``disconnect``, noting that the instance was closed.

    A query that is running when another task disconnects ends with a
    TransportError and is never retried: a retry would reopen what the user closed.
    """

    @functools.wraps(body)
    async def disconnect(self: Any) -> None:
        mark_disconnected(self)
        await body(self)

    disconnect.__claif_body__ = body  # type: ignore[attr-defined]
    return disconnect


def attempt_of(provider: Any) -> Attempt:
    """One attempt of ``provider``: its ``query`` body, or ``query`` itself for a duck type."""
    method = getattr(type(provider), "query", None)
    body = getattr(method, "__claif_body__", None)
    if body is None:
        return provider.query  # type: ignore[no-any-return]
    return functools.partial(body, provider)


def call(
    provider: Any,
    attempt: Attempt,
    prompt: str,
    options: ClaifOptions | None = None,
    *,
    policy: RetryPolicy | None = None,
) -> AsyncGenerator[Message, None]:
    """The whole call; bad input is refused here, at the call, before any I/O."""
    check_text("prompt", prompt)
    check_options(provider, options)
    chosen = active_policy(policy, provider)
    return _run(provider, attempt, prompt, options or ClaifOptions(), chosen)


async def _run(
    provider: Any, attempt: Attempt, prompt: str, options: ClaifOptions, policy: RetryPolicy
) -> AsyncGenerator[Message, None]:
    import anyio  # here, not at import: listing providers must not load it

    state = _Call(provider, options, policy)
    try:
        await state.connect()
        turn = await session_turns.open_turn(state.name, prompt, options)
        if turn is not None:
            options = turn.options
        keep = turn is not None or not options.stream
        guard = options.timeout is not None and not getattr(provider, "enforces_timeout", False)
        deadline = state.deadline
        timed, streaming = deadline.expires is not None, options.stream
        while True:
            parts: list[Message] = []  # a failed attempt's parts never join the reply
            yielded = False
            attempt_options = state.options_for_attempt(options)
            stream = None
            try:
                stream = attempt(prompt, attempt_options)  # a duck type's query may raise here
                step = stream.__anext__
                while True:
                    if timed and deadline.expired():
                        raise ClaifTimeoutError("deadline passed between reads")
                    running = _RUNNING.set(provider)
                    try:
                        if guard:
                            with anyio.fail_after(deadline.remaining()):
                                message = await step()
                        else:
                            message = await step()
                    except StopAsyncIteration:
                        break
                    finally:
                        _RUNNING.reset(running)
                    if keep:
                        parts.append(message)
                    if streaming:
                        yielded = True
                        yield message
                break
            except Exception as exc:  # noqa: BLE001 -- the plugin boundary: all leave typed
                await state.retry_or_raise(exc, yielded)
            finally:
                aclose = getattr(stream, "aclose", None)  # a plain async iterator has none
                if aclose is not None:
                    with anyio.CancelScope(shield=True):
                        await aclose()
        if not parts and not yielded:
            raise ProviderError("the provider ended its reply without a single message")
        if turn is not None:  # before the stream=False reply: its consumer may stop at one
            await turn.record(parts)
        if not options.stream:
            yield merge_messages(parts)
    except ClaifError as error:
        state.failed(error)
        raise
    state.finished()


class _Call:
    """The state of one call that outlives its attempts: deadline, retries, log fields."""

    def __init__(self, provider: Any, options: ClaifOptions, policy: RetryPolicy) -> None:
        self.provider = provider
        self.name = provider_name(provider)
        self.max_retries = options.max_retries
        self.policy = policy
        self.deadline = Deadline(options.timeout)
        self.retries = 0
        self.closed_before = _disconnects(provider)
        self.started = time.perf_counter()
        self.fields: dict[str, Any] = {"provider": self.name, "model": options.model}
        if options.session_id:
            self.fields["session_id"] = options.session_id
        logger.debug("query started", extra=self.fields)

    async def connect(self) -> None:
        """Connect on demand (connect is idempotent), within the deadline."""
        import anyio

        try:
            with anyio.fail_after(self.deadline.remaining()):
                await self.provider.connect()
        except ClaifError:
            raise
        except Exception as exc:  # the plugin boundary: all leave typed
            if isinstance(exc, TimeoutError) and self.deadline.expired():
                raise _timed_out(self.deadline, 0) from exc
            raise self._typed(exc) from exc

    def options_for_attempt(self, options: ClaifOptions) -> ClaifOptions:
        """The options one attempt sees: its timeout is what is left of the call's."""
        left = self.deadline.remaining()
        if left is None or left == options.timeout:
            return options
        if left <= 0:
            raise _timed_out(self.deadline, self.retries)
        return options.replace(timeout=left)

    async def retry_or_raise(self, exc: Exception, yielded: bool) -> None:
        """Wait before the next attempt, or raise what ends the call (always a claif error)."""
        error = self._typed(exc)
        wait = None
        if not yielded:
            wait = retry_wait(error, self.retries, self.max_retries, self.policy, self.deadline)
        if wait is None:
            if error is exc:
                raise error
            raise error from exc
        self.retries += 1
        extra = {**self.fields, "attempt": self.retries + 1, "delay": wait, "status": error.status}
        logger.info("retrying after %s in %.2fs", type(error).__name__, wait, extra=extra)
        await self.policy.sleep(wait)
        if _disconnects(self.provider) != self.closed_before:
            raise self._named(_disconnected()) from error

    def _typed(self, exc: Exception) -> ClaifError:
        attempts = self.retries + 1
        if _disconnects(self.provider) != self.closed_before:
            error: ClaifError = _disconnected()
        elif isinstance(exc, ClaifTimeoutError | TimeoutError) and self.deadline.expired():
            error = _timed_out(self.deadline, attempts)
        elif isinstance(exc, ClaifError):
            error = exc
        elif isinstance(exc, TimeoutError):
            error = ClaifTimeoutError(f"timed out: {exc}")
        else:
            logger.debug("%s raised %s", self.name, type(exc).__name__, exc_info=exc)
            error = ProviderError(f"the provider failed: {type(exc).__name__}: {exc}")
        return self._named(error)

    def _named(self, error: ClaifError) -> ClaifError:
        if error.provider is None:
            error.provider = self.name
        return error

    def failed(self, error: ClaifError) -> None:
        self._named(error)
        self.fields["duration"] = round(time.perf_counter() - self.started, 4)
        logger.debug("query failed: %s", type(error).__name__, extra=self.fields)

    def finished(self) -> None:
        self.fields["duration"] = round(time.perf_counter() - self.started, 4)
        logger.debug("query finished", extra=self.fields)


def _disconnected() -> TransportError:
    # Not retryable: a retry (or a backoff before giving up) would only delay the end.
    return TransportError("the provider was disconnected while the query ran", retryable=False)


def _timed_out(deadline: Deadline, attempts: int) -> ClaifTimeoutError:
    plural = "attempt" if attempts == 1 else "attempts"
    return ClaifTimeoutError(
        f"no complete reply within the {deadline.limit:g}s timeout ({attempts} {plural})",
        timeout=deadline.limit,
        attempts=attempts,
    )


def _disconnects(provider: Any) -> int:
    count: int = getattr(provider, "_claif_disconnects", 0)
    return count


def mark_disconnected(provider: Any) -> None:
    """Note that ``provider`` was closed, so a query running now is not retried."""
    # A provider with __slots__ cannot be told; it still closes.
    with contextlib.suppress(AttributeError):
        provider._claif_disconnects = _disconnects(provider) + 1
