"""Config file, key resolution order, the key store and Secret."""

from __future__ import annotations

import copy
import json
import os
import pickle
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from claif.common.errors import ConfigurationError
from claif.config import (
    MAX_CONFIG_BYTES,
    KeyStore,
    Secret,
    check_key_name,
    clean_key,
    config_path,
    env_var_name,
    keys_path,
    load_config,
)
from claif.logs import redact
from claif.settings import Setting, resolve_settings

from .test_fileio import deep_json, finishes, link_to_dev_zero, make_fifo, make_sparse

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")


def get_api_key(provider, *, explicit=None, env_var=None):
    """A provider's key through claif.settings, declared as every provider declares it."""
    declared = (Setting("api_key", secret=True, key_store=True, env=env_var),)
    return resolve_settings(provider, declared, {"api_key": explicit})["api_key"]


def get_setting(provider, key, *, explicit=None, default=None):
    """A plain string setting through claif.settings."""
    declared = (Setting(key, str, default, optional=True),)
    return resolve_settings(provider, declared, {key: explicit})[key]


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


def write_keys(folder: Path, keys: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "keys.json"
    path.write_text(json.dumps({"version": 1, "keys": keys}), encoding="utf-8")
    return path


def set_env_key(config_dir: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> str:
    monkeypatch.setenv("MYPROVIDER_API_KEY", key)
    return "MYPROVIDER_API_KEY"


def set_store_key(config_dir: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> str:
    return str(write_keys(config_dir, {"myprovider": key}))


def set_config_key(config_dir: Path, monkeypatch: pytest.MonkeyPatch, key: str) -> str:
    escaped = json.dumps(key)  # a JSON string literal is a valid TOML basic string here
    return str(write_config(config_dir, f"[providers.myprovider]\napi_key = {escaped}\n"))


PLACES = [set_env_key, set_store_key, set_config_key]


@pytest.mark.parametrize("place", PLACES)
def test_key_from_each_source_loses_its_crlf(config_dir, monkeypatch, place):
    """A key ending in CR/LF (as `$(cat key.txt)` of a CRLF file gives) comes back without it."""
    place(config_dir, monkeypatch, "sk-pasted-key\r\n")
    assert get_api_key("myprovider").reveal() == "sk-pasted-key"
    assert get_api_key("myprovider", explicit="\tsk-arg-key\r\n").reveal() == "sk-arg-key"


def test_clean_key_strips_whitespace_and_line_ends():
    """Spaces, tabs and CR/LF around a key are removed; a blank key becomes empty."""
    assert clean_key(" \tsk-abc\r\n", source="x") == "sk-abc"
    assert clean_key(" \r\n", source="x") == ""


@pytest.mark.parametrize("bad", ["sk-a\rb", "sk-a\nb", "sk-\x00", "sk-\x1bb", "sk-\x7fb"])
def test_clean_key_refuses_control_characters_without_showing_the_key(bad):
    """A control character left inside a key is refused; the error names the source only."""
    with pytest.raises(ConfigurationError, match="MY_SOURCE: the API key holds") as caught:
        clean_key(f"  {bad}  ", source="MY_SOURCE")
    assert bad.strip() not in str(caught.value)
    assert bad.strip() not in repr(caught.value)


def test_blank_key_falls_through_to_the_next_source(config_dir, monkeypatch):
    """A variable holding only whitespace and a line end counts as unset."""
    write_config(config_dir, '[providers.myprovider]\napi_key = "from-config-1"\n')
    monkeypatch.setenv("MYPROVIDER_API_KEY", " \r\n")
    assert get_api_key("myprovider", explicit="\n").reveal() == "from-config-1"


def test_key_store_set_stores_the_cleaned_key(config_dir):
    """keys set with a CRLF-terminated key writes the key without the line end."""
    KeyStore().set("myprovider", "sk-typed-key\r\n")
    stored = json.loads((config_dir / "keys.json").read_text())["keys"]["myprovider"]
    assert stored == "sk-typed-key"


@pytest.mark.parametrize("place", PLACES)
def test_control_character_in_a_stored_key_names_its_source(config_dir, monkeypatch, place):
    """A key with a control character inside is refused, naming its variable or file, not it."""
    key = "sk-split\x1bkey-123"
    source: str = place(config_dir, monkeypatch, key)
    with pytest.raises(ConfigurationError) as caught:
        get_api_key("myprovider")
    assert source in str(caught.value)
    assert key not in repr(caught.value)
    assert "sk-split" not in str(caught.value)


def test_control_character_in_explicit_key_or_set_is_refused():
    """An explicit key, KeyStore.set and Secret all refuse a key with a control character."""
    calls: list[Callable[[], object]] = [
        lambda: get_api_key("myprovider", explicit="sk-a\rb-123"),
        lambda: KeyStore().set("myprovider", "sk-a\rb-123"),
        lambda: Secret("sk-a\rb-123"),
    ]
    for call in calls:
        with pytest.raises(ConfigurationError, match="control character") as caught:
            call()
        assert "sk-a" not in str(caught.value)
    assert not KeyStore().path.exists()


def test_secret_is_built_from_the_cleaned_key():
    """Secret strips surrounding whitespace, so equal keys compare equal."""
    assert Secret(" sk-spaced-key\r\n") == Secret("sk-spaced-key")


def test_check_key_name_is_public():
    """check_key_name accepts a plain name and refuses a path-like one."""
    check_key_name("my-provider.v2")
    with pytest.raises(ConfigurationError, match="key name"):
        check_key_name("../x")


def hostile_files() -> list[tuple[str, Callable[[Path], object], str]]:
    """(case, make the file at a path, what the error says) for each hostile kind."""
    return [
        ("fifo", make_fifo, "not a regular file"),
        ("dev-zero", link_to_dev_zero, "character device"),
        ("sparse", make_sparse, f"over the {MAX_CONFIG_BYTES} byte limit"),
        ("folder", lambda path: path.mkdir(parents=True), "not a regular file"),
    ]


@posix_only
@pytest.mark.parametrize(("case", "make", "reason"), hostile_files())
def test_hostile_config_file_is_an_error_not_a_hang(config_dir, case, make, reason):
    """A FIFO, device, huge file or folder as config.toml is a ConfigurationError with its path."""
    make(config_dir / "config.toml")
    error = finishes(load_config)
    assert isinstance(error, ConfigurationError), error
    assert reason in str(error)
    assert str(config_dir / "config.toml") in str(error)


@posix_only
@pytest.mark.parametrize(("case", "make", "reason"), hostile_files())
def test_hostile_key_store_is_an_error_not_a_hang(config_dir, case, make, reason):
    """A FIFO, device, huge file or folder as keys.json is a ConfigurationError with its path."""
    make(config_dir / "keys.json")
    error = finishes(lambda: KeyStore().get("myprovider"))
    assert isinstance(error, ConfigurationError), error
    assert reason in str(error)
    assert str(config_dir / "keys.json") in str(error)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a = " + deep_json(), "nested too deeply"),
        ("a = " + "{b = " * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
        ("a = 1\n# caf\xe9\n", "UTF-8"),
    ],
)
def test_deep_or_undecodable_toml_is_a_configuration_error(config_dir, text, reason):
    """TOML nested 100000 deep or not UTF-8 is a ConfigurationError naming the file."""
    config_dir.mkdir()
    path = config_dir / "config.toml"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(ConfigurationError, match=reason) as caught:
        load_config()
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "reason"), [(deep_json().encode(), "nested too deeply"), (b"\xff{}", "UTF-8")]
)
def test_deep_or_undecodable_key_store_is_a_configuration_error(config_dir, raw, reason):
    """A keys file nested 100000 deep or not UTF-8 is a ConfigurationError naming the file."""
    config_dir.mkdir()
    (config_dir / "keys.json").write_bytes(raw)
    with pytest.raises(ConfigurationError, match=reason) as caught:
        KeyStore().names()
    assert str(config_dir / "keys.json") in str(caught.value)


def test_config_file_at_the_cap_is_read(config_dir):
    """A config file of exactly MAX_CONFIG_BYTES is still read; one byte more is refused."""
    body = "a = 1\n#" + "x" * (MAX_CONFIG_BYTES - 8) + "\n"
    path = write_config(config_dir, body)
    assert path.stat().st_size == MAX_CONFIG_BYTES
    assert load_config() == {"a": 1}
    path.write_text(body + "\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="byte limit"):
        load_config()


@posix_only
def test_symlinked_key_store_lock_is_refused(config_dir, tmp_path):
    """A symlink in place of keys.json.lock makes keys set fail clearly, touching nothing."""
    config_dir.mkdir()
    (config_dir / "keys.json.lock").symlink_to(tmp_path / "target")
    with pytest.raises(ConfigurationError, match=r"keys\.json\.lock is a symlink"):
        KeyStore().set("myprovider", "sk-lock-test")
    assert not (tmp_path / "target").exists()
    assert not (config_dir / "keys.json").exists()


def test_keys_set_refuses_a_bad_name_before_asking_for_the_key(config_dir):
    """`claif keys set ../x` exits 2 at once, without waiting for a key on standard input."""
    claif = Path(sys.executable).parent / "claif"
    env = {**os.environ, "CLAIF_CONFIG": str(config_dir / "config.toml")}
    child = subprocess.Popen(
        [str(claif), "keys", "set", "../x"],
        env=env,
        stdin=subprocess.PIPE,  # left open: a child that reads it would wait forever
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        code = child.wait(timeout=30)
    finally:
        child.kill()
        _out, err = child.communicate()
    assert code == 2
    assert "key name '../x'" in err
    assert not config_dir.exists()
