"""Config file, key resolution order, the key store and Secret."""

from __future__ import annotations

import copy
import os
import pickle
import stat
import sys
from pathlib import Path

import pytest

from claif.common.errors import ConfigurationError
from claif.config import (
    KeyStore,
    Secret,
    config_path,
    env_var_name,
    get_api_key,
    get_setting,
    keys_path,
    load_config,
)
from claif.logs import redact

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point config and keys into tmp_path and clear provider variables."""
    folder = tmp_path / "cfg"
    monkeypatch.setenv("CLAIF_CONFIG", str(folder / "config.toml"))
    monkeypatch.delenv("CLAIF_KEYS", raising=False)
    for name in ("MYPROVIDER_API_KEY", "MYPROVIDER_BASE_URL", "OTHER_KEY"):
        monkeypatch.delenv(name, raising=False)
    return folder


def write_config(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_config_path_follows_env(config_dir):
    """CLAIF_CONFIG names the config file."""
    assert config_path() == config_dir / "config.toml"


def test_config_path_default_is_platform_config_dir(monkeypatch):
    """Without CLAIF_CONFIG the file is config.toml in the platform's claif config dir."""
    import platformdirs

    monkeypatch.delenv("CLAIF_CONFIG")
    assert config_path() == platformdirs.user_config_path("claif") / "config.toml"


def test_keys_path_sits_beside_config_unless_overridden(config_dir, tmp_path, monkeypatch):
    """keys.json lives beside the config file; CLAIF_KEYS overrides it."""
    assert keys_path() == config_dir / "keys.json"
    monkeypatch.setenv("CLAIF_KEYS", str(tmp_path / "elsewhere.json"))
    assert keys_path() == tmp_path / "elsewhere.json"


def test_missing_config_file_is_empty():
    """A config file that does not exist reads as an empty config."""
    assert load_config() == {}


def test_config_file_is_parsed(config_dir):
    """Tables in the TOML file come back as nested dicts."""
    write_config(config_dir, '[providers.myprovider]\nbase_url = "http://127.0.0.1:1"\n')
    assert load_config() == {"providers": {"myprovider": {"base_url": "http://127.0.0.1:1"}}}


def test_invalid_toml_names_the_path_and_line(config_dir):
    """Broken TOML is a ConfigurationError naming the file and the line of the fault."""
    path = write_config(config_dir, '[providers.x]\nmodel = "a"\nbroken line\n')
    with pytest.raises(ConfigurationError) as caught:
        load_config()
    assert str(path) in str(caught.value)
    assert "line 3" in str(caught.value)


def test_missing_key_message_names_variable_config_key_and_command(config_dir):
    """The missing-key error says every way to fix it: variable, command and config key."""
    with pytest.raises(ConfigurationError) as caught:
        get_api_key("myprovider")
    text = str(caught.value)
    assert "MYPROVIDER_API_KEY" in text
    assert "providers.myprovider.api_key" in text
    assert str(config_dir / "config.toml") in text
    assert "claif keys set myprovider" in text


def test_resolution_order_explicit_env_store_config(config_dir, monkeypatch):
    """Explicit beats environment, which beats the key store, which beats the config file."""
    write_config(config_dir, '[providers.myprovider]\napi_key = "from-config-1"\n')
    assert get_api_key("myprovider").reveal() == "from-config-1"
    KeyStore().set("myprovider", "from-store-1")
    assert get_api_key("myprovider").reveal() == "from-store-1"
    monkeypatch.setenv("MYPROVIDER_API_KEY", "from-env-1")
    assert get_api_key("myprovider").reveal() == "from-env-1"
    assert get_api_key("myprovider", explicit="from-arg-1").reveal() == "from-arg-1"


def test_empty_strings_count_as_unset(config_dir, monkeypatch):
    """An empty argument or variable falls through to the next source."""
    write_config(config_dir, '[providers.myprovider]\napi_key = "from-config-1"\n')
    monkeypatch.setenv("MYPROVIDER_API_KEY", "")
    assert get_api_key("myprovider", explicit="").reveal() == "from-config-1"


def test_custom_env_var_is_used_and_named(monkeypatch):
    """A provider may choose its variable; the error then names that one."""
    monkeypatch.setenv("OTHER_KEY", "from-other-1")
    assert get_api_key("myprovider", env_var="OTHER_KEY").reveal() == "from-other-1"
    monkeypatch.delenv("OTHER_KEY")
    with pytest.raises(ConfigurationError, match="OTHER_KEY"):
        get_api_key("myprovider", env_var="OTHER_KEY")


def test_env_var_name_is_a_valid_identifier():
    """Dashes and dots in a provider name become underscores in its variable name."""
    assert env_var_name("myprovider") == "MYPROVIDER_API_KEY"
    assert env_var_name("my-provider.v2", "base_url") == "MY_PROVIDER_V2_BASE_URL"


def test_get_setting_order(config_dir, monkeypatch):
    """A setting comes from the argument, the variable, the config file, then the default."""
    assert get_setting("myprovider", "base_url", default="d") == "d"
    write_config(config_dir, '[providers.myprovider]\nbase_url = "c"\ntimeout = 30\n')
    assert get_setting("myprovider", "base_url", default="d") == "c"
    assert get_setting("myprovider", "timeout") == "30"
    monkeypatch.setenv("MYPROVIDER_BASE_URL", "e")
    assert get_setting("myprovider", "base_url") == "e"
    assert get_setting("myprovider", "base_url", explicit="x") == "x"


def test_non_string_config_value_is_refused(config_dir):
    """A table where a string belongs is a ConfigurationError naming the config key."""
    write_config(config_dir, "[providers.myprovider.api_key]\nx = 1\n")
    with pytest.raises(ConfigurationError, match=r"providers\.myprovider\.api_key"):
        get_api_key("myprovider")


def test_secret_never_shows_its_value():
    """repr, str and f-strings of a Secret show only a mask."""
    secret = Secret("sk-live-1234567890")
    for shown in (repr(secret), str(secret), f"{secret}", repr([secret])):
        assert "1234567890" not in shown
    assert repr(secret) == "Secret(****)"
    assert secret.reveal() == "sk-live-1234567890"


def test_secret_compares_by_value():
    """Two Secrets with the same key are equal and hash alike."""
    assert Secret("sk-same-value") == Secret("sk-same-value")
    assert Secret("sk-same-value") != Secret("sk-other-value")
    assert hash(Secret("sk-same-value")) == hash(Secret("sk-same-value"))


def test_secret_refuses_pickling_but_copies():
    """Pickling a Secret fails rather than writing the key out; copying keeps it."""
    secret = Secret("sk-pickle-12345")
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)
    assert copy.deepcopy(secret) == secret


def test_secret_registers_with_the_redactor():
    """Creating a Secret makes the log redactor mask its value."""
    Secret("sk-registered-777")
    assert redact("key=sk-registered-777!") == "key=****!"


def test_errors_never_show_a_key(config_dir):
    """Broken files holding keys give errors whose text and repr omit the key."""
    write_config(config_dir, '[providers.myprovider]\napi_key = "sk-leak-in-toml\n')
    with pytest.raises(ConfigurationError) as caught:
        get_api_key("myprovider")
    assert "sk-leak-in-toml" not in repr(caught.value)
    assert "sk-leak-in-toml" not in str(caught.value)
    keys = config_dir / "keys.json"
    keys.write_text('{"keys": {"myprovider": "sk-leak-in-json"', encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        KeyStore().get("myprovider")
    assert "sk-leak-in-json" not in repr(caught.value)
    assert str(keys) in str(caught.value)


@posix_only
def test_key_store_file_is_0600_in_a_0700_folder(config_dir):
    """The keys file is readable by its owner only, and so is the folder it creates."""
    KeyStore().set("myprovider", "sk-mode-check")
    assert stat.S_IMODE(os.stat(config_dir / "keys.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(config_dir).st_mode) == 0o700


@posix_only
def test_key_store_stays_0600_under_a_loose_umask(config_dir):
    """A permissive umask does not widen the keys file."""
    old = os.umask(0)
    try:
        KeyStore().set("myprovider", "sk-umask-check")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(config_dir / "keys.json").st_mode) == 0o600


def test_key_store_round_trip(config_dir):
    """Keys can be set, listed by name, read back and deleted; no temp files remain."""
    store = KeyStore()
    store.set("b-provider", "sk-bbbbbb")
    store.set("a-provider", " sk-aaaaaa\n")
    assert store.names() == ["a-provider", "b-provider"]
    assert store.get("a-provider") == Secret("sk-aaaaaa")
    store.delete("a-provider")
    assert store.get("a-provider") is None
    assert sorted(p.name for p in config_dir.iterdir()) == ["keys.json", "keys.json.lock"]


def test_key_store_delete_of_unknown_name_is_an_error():
    """Deleting a name with no key says so, naming the store."""
    with pytest.raises(ConfigurationError, match="no key stored for 'nothing'"):
        KeyStore().delete("nothing")


@pytest.mark.parametrize("name", ["", ".hidden", "../x", "a/b", "x" * 65])
def test_key_store_refuses_odd_names(name):
    """A key name must be a short plain word."""
    with pytest.raises(ConfigurationError, match="key name"):
        KeyStore().set(name, "sk-whatever")


def test_key_store_refuses_empty_keys():
    """Storing a blank key is refused rather than shadowing the config file."""
    with pytest.raises(ConfigurationError, match="empty"):
        KeyStore().set("myprovider", "   ")


@pytest.mark.parametrize("content", ["[]", '{"keys": []}', '{"keys": {"a": 1}}', "{oops"])
def test_corrupt_key_store_names_its_path(config_dir, content):
    """A keys file of the wrong shape or bad JSON is a ConfigurationError with its path."""
    config_dir.mkdir()
    (config_dir / "keys.json").write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        KeyStore().names()
    assert str(config_dir / "keys.json") in str(caught.value)
