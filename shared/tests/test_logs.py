"""Log redaction, the library's handler discipline and the verbose rich handler."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from claif.logs import (
    RedactingFilter,
    enable_verbose_logging,
    mask_url,
    redact,
    register_secret,
    register_url_secret,
)

SECRET = "logs-test-secret-0123456789"  # not key-shaped: masked as registered
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


def test_short_values_are_masked_only_as_whole_words():
    """A key under 8 characters is masked where it stands alone, never inside a longer word."""
    register_secret("k9x")
    assert redact("k9x k9xd") == "**** k9xd"
    assert redact("key k9x, xk9x, k9x_, (k9x) ék9x") == "key ****, xk9x, ****_, (****) ék9x"


def test_eight_characters_and_more_are_masked_anywhere():
    """From 8 characters on a key is masked even inside other text; at 7 only alone."""
    register_secret("s7chars")
    register_secret("eight8ch")
    assert redact("xs7charsx s7chars xeight8chx") == "xs7charsx **** x****x"


def test_one_character_key_is_masked():
    """Even a one-character key is registered and masked where it stands alone."""
    register_secret("Q")
    assert redact("key=Q; QQ Quiet") == "key=****; QQ Quiet"


def test_empty_value_is_ignored():
    """Registering an empty string changes nothing."""
    register_secret("")
    assert redact("plain text") == "plain text"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "Incorrect API key provided: sk-never-registered-0123456789.",
            "Incorrect API key provided: sk-****.",
        ),
        ("bad key sk-proj-AbCdEf0123456789xyz here", "bad key sk-proj-**** here"),
        ("x-api-key: sk-ant-api03-abcdefghijklmnop", "x-api-key: sk-ant-****"),
        ("key=AIzaSyA1234567890abcdefghijklmnopqrstu", "key=AIza****"),
        (
            "the sk-short word and desk-1234567890abcdef stay",
            "the sk-short word and desk-1234567890abcdef stay",
        ),
    ],
)
def test_redact_masks_what_looks_like_an_api_key_though_never_registered(text, shown):
    """A backend or CLI may echo a key claif never saw; its shape gives it away."""
    assert redact(text) == shown


def test_secret_environment_values_are_registered_by_their_names():
    from claif.logs import register_secret_environment

    register_secret_environment(
        {
            "FAKE_KEY": "plainsecretvalue0123",
            "GH_TOKEN": " tok-123456789 ",
            "HOME": "/root/x1234567",
        }
    )
    assert redact("said plainsecretvalue0123 and tok-123456789") == "said **** and ****"
    assert redact("home is /root/x1234567") == "home is /root/x1234567"


def test_redact_returns_the_text_itself_when_nothing_is_registered():
    """With no secret registered redact() does no work and returns its argument."""
    code = "import claif.logs as logs; s = 'x' * 1000; print(logs.redact(s) is s)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "True", result.stderr


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:pw-123@example.com/v1", "https://user:****@example.com/v1"),
        ("https://user:p%40ss@h:8080/a?b=c@d#e", "https://user:****@h:8080/a?b=c@d#e"),
        ("redis://:pw@h", "redis://:****@h"),
        ("http://token@h/x", "http://token@h/x"),
        ("http://h/x?u=a:b@c", "http://h/x?u=a:b@c"),
        ("http://u:p@[::1", "http://****@[::1"),
        ("http://[::1", "http://[::1"),
        ("not a url", "not a url"),
        ("", ""),
    ],
)
def test_mask_url(url, shown):
    """The password of a URL's userinfo is masked, the user kept; odd URLs never raise."""
    assert mask_url(url) == shown


@given(st.text())
def test_mask_url_never_raises(text):
    """Any text at all comes back from mask_url as a string."""
    assert isinstance(mask_url(text), str)


@given(
    user=st.text(alphabet="abcdefgh", max_size=5),
    password=st.text(alphabet="ABCDEFGH123%:", min_size=1, max_size=12),
)
def test_mask_url_hides_every_password(user, password):
    """Whatever the password, it is absent from the masked URL."""
    masked = mask_url(f"https://{user}:{password}@example.com/path")
    assert masked == f"https://{user}:****@example.com/path"


def test_register_url_secret_masks_the_password_later():
    """After register_url_secret, the password (raw or decoded) is redacted from any text."""
    register_url_secret("https://bot:url-pass%21word@proxy.local:3128")
    assert redact("failed: url-pass%21word / url-pass!word") == "failed: **** / ****"
    register_url_secret("http://[::1")  # no userinfo: nothing to register, no error


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
