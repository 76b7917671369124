"""Logging for Claif: stdlib ``logging`` under the ``claif`` hierarchy, with keys redacted.

The library logs and never configures: the only handler it installs is a
NullHandler on ``claif``, so an application that sets up nothing sees nothing.
Structured fields travel as ``extra`` (``provider``, ``model``, ``attempt``,
``duration`` ...). Every value that reaches :func:`register_secret` (each
:class:`claif.config.Secret` does, on creation) is masked by :func:`redact` and by
:class:`RedactingFilter`, which the CLIs' ``--verbose`` handler carries. A URL's
password is shown masked by :func:`mask_url` and registered by
:func:`register_url_secret`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:  # rich is imported lazily: importing claif.logs must stay cheap
    from rich.console import Console

__all__ = [
    "RedactingFilter",
    "enable_verbose_logging",
    "mask_url",
    "redact",
    "register_secret",
    "register_secret_environment",
    "register_url_secret",
]

MASK = "****"
# A secret shorter than this is masked only where no letter or digit touches it:
# a 3-letter key must vanish from "key abc" but must not eat every "abcdef".
SHORT_SECRET_CHARS = 8
_ALNUM = r"[^\W_]"  # a letter or digit, in any script
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


_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)


def register_secret_environment(env: Mapping[str, str]) -> None:
    """Register the values of variables whose names say they are secrets (``*_API_KEY``,
    ``*_TOKEN`` ...): what a child process is given may come back in its words."""
    for name, value in env.items():
        if _SECRET_NAME.search(name) and isinstance(value, str) and len(value.strip()) >= 8:
            register_secret(value.strip())


def register_secret(value: str) -> None:
    """Remember a non-empty value to mask from now on, however short.

    One shorter than :data:`SHORT_SECRET_CHARS` is masked only as a whole word.
    """
    global _pattern
    if not isinstance(value, str) or not value:
        return
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        # Longest first, so a secret containing another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(_secret_pattern(secret) for secret in ordered))


def _secret_pattern(secret: str) -> str:
    escaped = re.escape(secret)
    if len(secret) >= SHORT_SECRET_CHARS:
        return escaped
    return f"(?<!{_ALNUM}){escaped}(?!{_ALNUM})"


def register_url_secret(url: str) -> None:
    """Register the password in ``url``'s userinfo (also percent-decoded) for redaction."""
    span = _userinfo_span(url)
    if span is None:
        return
    _user, colon, password = url[span[0] : span[1]].partition(":")
    if colon and password:
        register_secret(password)
        register_secret(unquote(password))


def mask_url(url: str) -> str:
    """``url`` with the password in its userinfo shown as ``****``; the user stays.

    A URL the standard parser rejects (``http://[::1``) never raises: its whole
    userinfo is masked, if it has one.
    """
    span = _userinfo_span(url)
    if span is None:
        return url
    start, end = span
    if not _parses(url):
        return url[:start] + MASK + url[end:]
    user, colon, _password = url[start:end].partition(":")
    return url[:start] + user + colon + MASK + url[end:] if colon else url


def _userinfo_span(url: str) -> tuple[int, int] | None:
    """Where the userinfo (before the last ``@`` of the authority) lies in ``url``."""
    start = url.find("//")
    if start < 0:
        return None
    start += 2
    ends = [index for index in (url.find(mark, start) for mark in "/?#") if index >= 0]
    at = url.rfind("@", start, min(ends, default=len(url)))
    return (start, at) if at >= 0 else None


def _parses(url: str) -> bool:
    try:
        urlsplit(url)
    except ValueError:
        return False
    return True


# Keys a backend or CLI may echo back in its own words (OpenAI's and Anthropic's ``sk-``,
# Google's ``AIza``): claif never registered them, so they are recognised by shape.
_KEY_SHAPED = re.compile(r"\b(sk-(?:ant-|proj-)?|AIza)[A-Za-z0-9_\-]{12,}")


def redact(text: str) -> str:
    """The text with every registered secret, and anything shaped like an API key, masked.

    A key-shaped word keeps its prefix (``sk-****``) so the message still says
    which kind of key was involved.
    """
    if not text:
        return text
    # Key shapes first: a registered secret that is only part of a longer key would
    # otherwise hide the shape and leave the rest of that key in sight.
    text = _KEY_SHAPED.sub(_mask_key, text)
    pattern = _pattern
    return text if pattern is None else pattern.sub(MASK, text)


def _mask_key(match: re.Match[str]) -> str:
    """A registered key is masked whole; another keeps its prefix (``sk-****``)."""
    return MASK if match.group(0) in _secrets else match.group(1) + MASK


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
