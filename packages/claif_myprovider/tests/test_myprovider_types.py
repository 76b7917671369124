"""Settings: where the base URL, key, model and timeouts come from."""

from __future__ import annotations

from dataclasses import fields

import pytest

from claif.common import ConfigurationError, ValidationError
from claif.config import KeyStore
from claif_myprovider.types import (
    DEFAULT_BASE_URL,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_EVENT_BYTES,
    DEFAULT_MODEL,
    PROVIDER_NAME,
    SETTINGS,
    MyProviderSettings,
    is_loopback,
)


def write_config(monkeypatch, tmp_path, text: str) -> None:
    path = tmp_path / "claif.toml"
    path.write_text(text)
    monkeypatch.setenv("CLAIF_CONFIG", str(path))


def test_default_url_needs_a_key_and_names_the_variable():
    """Against the default (remote) URL a missing key is a ConfigurationError naming the fixes."""
    with pytest.raises(ConfigurationError, match="MYPROVIDER_API_KEY") as caught:
        MyProviderSettings.resolve()
    assert "providers.myprovider.api_key" in str(caught.value)


def test_defaults_with_a_key_from_the_environment(monkeypatch):
    """With only MYPROVIDER_API_KEY set, the URL is OpenAI's and the key is a redacted Secret."""
    monkeypatch.setenv("MYPROVIDER_API_KEY", "sk-test-123")
    settings = MyProviderSettings.resolve()
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.api_key is not None
    assert settings.api_key.reveal() == "sk-test-123"
    assert "sk-test-123" not in repr(settings)


def test_loopback_url_needs_no_key(monkeypatch):
    """A server on loopback (Ollama, llama.cpp) works with no key at all."""
    monkeypatch.setenv("MYPROVIDER_BASE_URL", "http://localhost:11434/v1/")
    settings = MyProviderSettings.resolve()
    assert settings.base_url == "http://localhost:11434/v1"
    assert settings.api_key is None


def test_argument_beats_environment_beats_config(monkeypatch, tmp_path):
    """The explicit argument wins over MYPROVIDER_BASE_URL, which wins over the config file."""
    write_config(
        monkeypatch,
        tmp_path,
        '[providers.myprovider]\nbase_url = "http://127.0.0.1:1/v1"\nmodel = "cfg"\n',
    )
    assert MyProviderSettings.resolve().base_url == "http://127.0.0.1:1/v1"
    assert MyProviderSettings.resolve().model == "cfg"
    monkeypatch.setenv("MYPROVIDER_BASE_URL", "http://127.0.0.1:2/v1")
    assert MyProviderSettings.resolve().base_url == "http://127.0.0.1:2/v1"
    assert MyProviderSettings.resolve(base_url="http://127.0.0.1:3/v1").base_url.endswith(":3/v1")


def test_key_from_the_config_file(monkeypatch, tmp_path):
    """A key in [providers.myprovider] api_key is used for a remote URL."""
    write_config(monkeypatch, tmp_path, '[providers.myprovider]\napi_key = "sk-from-file"\n')
    settings = MyProviderSettings.resolve()
    assert settings.api_key is not None
    assert settings.api_key.reveal() == "sk-from-file"


def test_bad_base_url_is_a_configuration_error():
    """A base URL without http(s) scheme or host is refused, naming where to fix it."""
    with pytest.raises(ConfigurationError, match="MYPROVIDER_BASE_URL"):
        MyProviderSettings.resolve(base_url="ftp://example.com")


def test_timeouts_from_environment_and_bad_values(monkeypatch):
    """Timeouts read MYPROVIDER_IDLE_TIMEOUT; a non-positive value names the variable."""
    monkeypatch.setenv("MYPROVIDER_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("MYPROVIDER_IDLE_TIMEOUT", "2.5")
    assert MyProviderSettings.resolve().idle_timeout == 2.5
    monkeypatch.setenv("MYPROVIDER_IDLE_TIMEOUT", "-1")
    with pytest.raises(ConfigurationError, match="MYPROVIDER_IDLE_TIMEOUT"):
        MyProviderSettings.resolve()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000/v1", True),
        ("http://127.5.5.5/v1", True),
        ("http://[::1]:8000/v1", True),
        ("http://localhost/v1", True),
        ("https://api.openai.com/v1", False),
        ("http://10.0.0.5/v1", False),
        ("http://localhost.evil.com/v1", False),
    ],
)
def test_is_loopback(url, expected):
    """Only this machine's addresses count as loopback."""
    assert is_loopback(url) is expected


# --- declared once, resolved by core -------------------------------------------


@pytest.fixture(autouse=True)
def no_declared_variables(monkeypatch):
    """Every declared MYPROVIDER_* variable is unset, including ones conftest does not know."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env_name(PROVIDER_NAME), raising=False)


def test_fields_mirror_the_declaration():
    """MyProviderSettings has exactly one field per declared setting, in the same order."""
    assert [field.name for field in fields(MyProviderSettings)] == [s.name for s in SETTINGS]


def test_max_event_bytes_defaults_to_16_mib_and_reads_variable_and_config(monkeypatch, tmp_path):
    """The per-event cap is 16 MiB unless MYPROVIDER_MAX_EVENT_BYTES or the config says else."""
    monkeypatch.setenv("MYPROVIDER_BASE_URL", "http://127.0.0.1:9/v1")
    assert (
        MyProviderSettings.resolve().max_event_bytes == DEFAULT_MAX_EVENT_BYTES == 16 * 1024 * 1024
    )
    write_config(monkeypatch, tmp_path, "[providers.myprovider]\nmax_event_bytes = 4096\n")
    assert MyProviderSettings.resolve().max_event_bytes == 4096
    monkeypatch.setenv("MYPROVIDER_MAX_EVENT_BYTES", "65536")
    assert MyProviderSettings.resolve().max_event_bytes == 65536
    assert MyProviderSettings.resolve(max_event_bytes=10).max_event_bytes == 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("idle_timeout", "abc"),
        ("connect_timeout", "0"),
        ("max_connections", "-5"),
        ("max_connections", "1.5"),
        ("max_event_bytes", "0"),
        ("base_url", "api.openai.com/v1"),
    ],
)
def test_every_bad_value_names_variable_and_config_key(monkeypatch, name, value):
    """A refused value's error names the setting, the value, MYPROVIDER_<NAME> and the key."""
    monkeypatch.setenv("MYPROVIDER_API_KEY", "sk-test-123")
    monkeypatch.setenv(f"MYPROVIDER_{name.upper()}", value)
    with pytest.raises(ConfigurationError) as caught:
        MyProviderSettings.resolve()
    message = str(caught.value)
    assert message.startswith(f"myprovider: {name} must be")
    assert f"got {value!r} (from MYPROVIDER_{name.upper()}; " in message
    assert f"config key providers.myprovider.{name})" in message


def test_bad_base_url_in_config_names_the_file(monkeypatch, tmp_path):
    """A base URL from the config file is checked too, and the error points at the file."""
    write_config(monkeypatch, tmp_path, '[providers.myprovider]\nbase_url = "file:///tmp"\n')
    with pytest.raises(ConfigurationError) as caught:
        MyProviderSettings.resolve()
    where = f"from config key providers.myprovider.base_url in {tmp_path / 'claif.toml'}"
    assert f"got 'file:///tmp' ({where}; variable MYPROVIDER_BASE_URL)" in str(caught.value)


def test_values_convert_to_their_types(monkeypatch, tmp_path):
    """Timeouts are floats and counts are ints, whether given as int, str or TOML number."""
    write_config(monkeypatch, tmp_path, "[providers.myprovider]\nconnect_timeout = 3\n")
    settings = MyProviderSettings.resolve(
        base_url="http://127.0.0.1:9/v1", idle_timeout=5, max_connections="20"
    )
    assert settings.connect_timeout == 3.0
    assert isinstance(settings.connect_timeout, float)
    assert settings.idle_timeout == 5.0
    assert isinstance(settings.idle_timeout, float)
    assert settings.max_connections == 20


def test_key_from_the_key_store():
    """`claif keys set myprovider` is enough for a remote URL."""
    KeyStore().set(PROVIDER_NAME, "sk-from-store")
    settings = MyProviderSettings.resolve()
    assert settings.api_key is not None
    assert settings.api_key.reveal() == "sk-from-store"


def test_missing_key_mentions_claif_keys_set():
    """With no key anywhere, the error offers `claif keys set myprovider` too."""
    with pytest.raises(ConfigurationError, match="`claif keys set myprovider`"):
        MyProviderSettings.resolve()


def test_loopback_url_still_uses_a_key_when_given(monkeypatch):
    """A local server that wants a key gets the one configured."""
    monkeypatch.setenv("MYPROVIDER_API_KEY", "sk-local-key")
    settings = MyProviderSettings.resolve(base_url="http://127.0.0.1:9/v1")
    assert settings.api_key is not None
    assert settings.api_key.reveal() == "sk-local-key"


def test_the_keywords_provider_py_passes_are_accepted():
    """None for every constructor keyword means unset, so the defaults apply."""
    names = ("api_key", "model", "connect_timeout", "idle_timeout", "max_connections")
    settings = MyProviderSettings.resolve(
        base_url="http://[::1]:9/v1", **dict.fromkeys(names), max_event_bytes=None
    )
    assert settings == MyProviderSettings(
        base_url="http://[::1]:9/v1",
        api_key=None,
        model=DEFAULT_MODEL,
        connect_timeout=DEFAULT_CONNECT_TIMEOUT,
        idle_timeout=DEFAULT_IDLE_TIMEOUT,
        max_connections=DEFAULT_MAX_CONNECTIONS,
        max_event_bytes=DEFAULT_MAX_EVENT_BYTES,
    )


def test_misspelt_keyword_is_refused():
    """A typo such as idle_timout is a ValidationError, not silently ignored."""
    with pytest.raises(ValidationError, match="idle_timout"):
        MyProviderSettings.resolve(idle_timout=5.0)
