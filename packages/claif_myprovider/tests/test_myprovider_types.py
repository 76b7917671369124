"""Settings: where the base URL, key, model and timeouts come from."""

from __future__ import annotations

import pytest

from claif.common import ConfigurationError
from claif_myprovider.types import DEFAULT_BASE_URL, MyProviderSettings, is_loopback


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
