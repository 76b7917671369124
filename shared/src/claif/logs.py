"""Logging for Claif: stdlib ``logging`` under the ``claif`` hierarchy, with keys redacted.

The library logs and never configures: the only handler it installs is a
NullHandler on ``claif``, so an application that sets up nothing sees nothing.
Structured fields travel as ``extra`` (``provider``, ``model``, ``attempt``,
``duration`` ...). Every value that reaches :func:`register_secret` (each
:class:`claif.config.Secret` does, on creation) is masked by :func:`redact` and by
:class:`RedactingFilter`, which the CLIs' ``--verbose`` handler carries.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich is imported lazily: importing claif.logs must stay cheap
    from rich.console import Console

__all__ = [
    "MASK",
    "MIN_SECRET_CHARS",
    "RedactingFilter",
    "STRUCTURED_FIELDS",
    "enable_verbose_logging",
    "format_fields",
    "redact",
    "register_secret",
]

MASK = "****"
MIN_SECRET_CHARS = 6
STRUCTURED_FIELDS = ("provider", "model", "attempt", "delay", "duration", "status", "session_id")

_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}

_root = logging.getLogger("claif")
if not any(isinstance(handler, logging.NullHandler) for handler in _root.handlers):
    _root.addHandler(logging.NullHandler())


def register_secret(value: str) -> None:
    """Remember a value to mask from now on; shorter than 6 characters it would mask noise."""
    global _pattern
    if not isinstance(value, str) or len(value) < MIN_SECRET_CHARS:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        # Longest first, so a secret containing another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(secret) for secret in ordered))


def redact(text: str) -> str:
    """The text with every registered secret replaced by ``****``."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def _redact_value(value: Any) -> Any:
    """A string redacted; another object replaced by its redacted str only if it leaks."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    shown = str(value)
    cleaned = redact(shown)
    return value if cleaned == shown else cleaned


class RedactingFilter(logging.Filter):
    """Mask registered secrets in a record's message, args, traceback and extra fields.

    Attach it to a handler, not a logger: logger filters skip records that
    propagate from child loggers, handler filters see them all.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place and always let the record through."""
        if _pattern is None:
            return True
        record.msg = redact(_message_of(record))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD_ATTRS:
                setattr(record, name, _redact_value(value))
        return True


def _message_of(record: logging.LogRecord) -> str:
    """The formatted message, so an argument's str() is redacted too, not just its repr.

    A broken format string must not turn a log call into a crash: it is shown raw.
    """
    try:
        return record.getMessage()
    except (TypeError, ValueError, KeyError):
        return f"{record.msg!s} % {record.args!r}"


def format_fields(record: logging.LogRecord) -> str:
    """The record's structured fields as ``provider=x model=y attempt=2 duration=0.41s``."""
    parts = []
    for name in STRUCTURED_FIELDS:
        value = getattr(record, name, None)
        if value is None:
            continue
        if name in ("duration", "delay") and isinstance(value, int | float):
            value = f"{value:.2f}s"
        parts.append(f"{name}={value}")
    return " ".join(parts)


class _FieldsFormatter(logging.Formatter):
    """The message followed by its structured fields, so ``--verbose`` shows them."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = format_fields(record)
        return f"{text}  [{fields}]" if fields else text


def enable_verbose_logging(
    console: Console,
    level: int = logging.DEBUG,
    *,
    loggers: Sequence[str] = ("claif",),
) -> Callable[[], None]:
    """Show Claif's log records on ``console`` (the CLIs' ``--verbose``); returns the undo.

    ``loggers`` may add provider packages that log under their own names.
    """
    from rich.logging import RichHandler

    handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
    handler.setLevel(level)
    handler.addFilter(RedactingFilter())
    handler.setFormatter(_FieldsFormatter("%(message)s"))
    targets = [logging.getLogger(name) for name in loggers]
    previous = [target.level for target in targets]
    for target in targets:
        target.addHandler(handler)
        target.setLevel(level)

    def disable() -> None:
        for target, old_level in zip(targets, previous, strict=True):
            target.removeHandler(handler)
            target.setLevel(old_level)

    return disable
