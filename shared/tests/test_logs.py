"""Log redaction, the library's handler discipline and the verbose rich handler."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest
from rich.console import Console

from claif.logs import (
    RedactingFilter,
    enable_verbose_logging,
    redact,
    register_secret,
)

SECRET = "sk-test-logs-0123456789"
logger = logging.getLogger("claif.tests.logs")


@pytest.fixture(autouse=True)
def registered():
    register_secret(SECRET)


@pytest.fixture
def redacting_caplog(caplog):
    caplog.set_level(logging.DEBUG, logger="claif")
    caplog.handler.addFilter(RedactingFilter())
    return caplog


def test_redact_masks_registered_values():
    """A registered value is replaced by the mask wherever it appears."""
    assert redact(f"a {SECRET} b {SECRET}") == "a **** b ****"


def test_short_values_are_not_registered():
    """Values under six characters are ignored, or every 'abc' in a log would vanish."""
    register_secret("abc")
    assert redact("abc abcd") == "abc abcd"


def test_longer_secret_is_masked_whole():
    """A secret that contains another is masked in one piece, leaving no tail."""
    register_secret("prefix-key")
    register_secret("prefix-key-with-tail")
    assert redact("prefix-key-with-tail") == "****"


def test_filter_redacts_message_and_args(redacting_caplog):
    """A key in the format string or in an argument never reaches captured output."""
    logger.info("header Authorization: Bearer %s", SECRET)
    logger.info(f"inline {SECRET}")
    assert SECRET not in redacting_caplog.text
    assert redacting_caplog.text.count("****") == 2


def test_filter_redacts_extra_fields(redacting_caplog):
    """Structured extra fields are redacted too, strings and objects alike."""
    logger.info("call", extra={"provider": "p", "model": SECRET, "payload": {"k": SECRET}})
    record = redacting_caplog.records[-1]
    assert record.provider == "p"
    assert record.model == "****"
    assert SECRET not in str(record.payload)


def test_filter_keeps_plain_extra_values(redacting_caplog):
    """Numbers and unrelated objects pass through unchanged."""
    payload = {"ok": 1}
    logger.info("call", extra={"attempt": 2, "duration": 0.5, "payload": payload})
    record = redacting_caplog.records[-1]
    assert (record.attempt, record.duration, record.payload) == (2, 0.5, payload)


def test_filter_redacts_tracebacks(redacting_caplog):
    """An exception whose text holds a key is logged with the key masked."""
    try:
        raise RuntimeError(f"bad key {SECRET}")
    except RuntimeError:
        logger.exception("failed")
    assert SECRET not in redacting_caplog.text
    assert "bad key ****" in redacting_caplog.text


def test_library_installs_only_a_null_handler():
    """The claif logger carries a NullHandler and nothing that would print."""
    handlers = logging.getLogger("claif").handlers
    assert any(isinstance(handler, logging.NullHandler) for handler in handlers)
    assert all(isinstance(handler, logging.NullHandler) for handler in handlers)


def test_importing_logs_does_not_import_rich():
    """rich is loaded only when verbose logging is switched on."""
    code = "import sys, claif.logs; print('rich' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def render(level: int = logging.DEBUG, **extra: object) -> str:
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    disable = enable_verbose_logging(console, level)
    try:
        logger.debug("debug line")
        logger.info("calling with key %s", SECRET, extra=extra)
    finally:
        disable()
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def test_verbose_handler_shows_structured_fields():
    """Each verbose line ends with the provider, model, attempt and duration fields."""
    text = render(provider="myp", model="m1", attempt=2, duration=0.5)
    assert "provider=myp model=m1 attempt=2 duration=0.50s" in text
    assert "debug line" in text


def test_verbose_handler_redacts_keys():
    """The rich output of --verbose masks keys in messages and fields."""
    text = render(provider="myp", model=SECRET)
    assert SECRET not in text
    assert "calling with key ****" in text


def test_verbose_handler_honours_level():
    """Records below the chosen level are not shown."""
    text = render(logging.INFO)
    assert "debug line" not in text
    assert "calling with key" in text


def test_disable_restores_the_loggers():
    """The returned function removes the handler and restores the previous level."""
    root = logging.getLogger("claif")
    before_level, before_handlers = root.level, list(root.handlers)
    disable = enable_verbose_logging(Console(file=io.StringIO()))
    assert len(root.handlers) == len(before_handlers) + 1
    disable()
    assert (root.level, root.handlers) == (before_level, before_handlers)


def test_broken_format_string_is_shown_raw_not_raised(redacting_caplog):
    """A log call with mismatched arguments is logged raw, redacted, and never raises."""
    logger.info("two %s %s", SECRET)
    assert SECRET not in redacting_caplog.text
    assert "two %s %s" in redacting_caplog.text
