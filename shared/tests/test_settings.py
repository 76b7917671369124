"""Settings as data: each source in order, conversion, checks and errors that say where to look."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import claif.settings
from claif.common.errors import ConfigurationError, ValidationError
from claif.config import KeyStore, Secret
from claif.settings import (
    Setting,
    as_words,
    environment_words,
    explicit_settings,
    http_url,
    parse_environment,
    positive,
    resolve_settings,
    shell_words,
)

PROVIDER = "demo"


@pytest.fixture(autouse=True)
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated config file and key store, and no DEMO_* variables from the developer."""
    path = tmp_path / "config.toml"
    monkeypatch.setenv("CLAIF_CONFIG", str(path))
    monkeypatch.setenv("CLAIF_KEYS", str(tmp_path / "keys.json"))
    for name in ("DEMO_TOKEN", "DEMO_LIMIT", "DEMO_RATE", "DEMO_VERBOSE", "DEMO_MODE", "DEMO_X"):
        monkeypatch.delenv(name, raising=False)
    return path


def configure(path: Path, body: str) -> None:
    path.write_text(f"[providers.{PROVIDER}]\n{body}\n", encoding="utf-8")


def resolve(setting: Setting, **explicit: object) -> object:
    return resolve_settings(PROVIDER, [setting], explicit)[setting.name]


TOKEN = Setting("token", secret=True, key_store=True)
LIMIT = Setting("limit", int, 10, check=positive)
RATE = Setting("rate", float, 1.5, check=positive)
VERBOSE = Setting("verbose", bool, False)
MODE = Setting("mode", default="fast", choices=("fast", "slow"))


# --- sources and their order -------------------------------------------------


def test_each_source_in_turn_argument_environment_key_store_config_default(
    config_file, monkeypatch
):
    """Argument beats variable beats key store beats config file beats default."""
    setting = Setting("token", secret=True, key_store=True, default="from-default")
    assert resolve(setting).reveal() == "from-default"
    configure(config_file, 'token = "from-config"')
    assert resolve(setting).reveal() == "from-config"
    KeyStore().set(PROVIDER, "from-key-store")
    assert resolve(setting).reveal() == "from-key-store"
    monkeypatch.setenv("DEMO_TOKEN", "from-environment")
    assert resolve(setting).reveal() == "from-environment"
    assert resolve(setting, token="from-argument").reveal() == "from-argument"


def test_key_store_is_consulted_only_for_the_key_store_setting(config_file):
    """A secret without key_store=True never picks up the provider's stored API key."""
    KeyStore().set(PROVIDER, "stored-key")
    configure(config_file, 'other = "from-config"')
    assert resolve(Setting("other", secret=True)).reveal() == "from-config"


def test_none_argument_means_unset_but_zero_and_false_are_values(monkeypatch):
    """Only None (or a blank string) falls through; 0 and False are explicit values."""
    monkeypatch.setenv("DEMO_VERBOSE", "yes")
    assert resolve(VERBOSE, verbose=None) is True
    assert resolve(VERBOSE, verbose=False) is False
    monkeypatch.setenv("DEMO_LIMIT", "7")
    with pytest.raises(ConfigurationError, match="limit must be a positive number, got 0"):
        resolve(LIMIT, limit=0)


@pytest.mark.parametrize("blank", ["", "   ", "\r\n", "\t"])
def test_blank_values_count_as_unset_everywhere(config_file, monkeypatch, blank):
    """An empty or whitespace-only argument, variable or config value falls through."""
    configure(config_file, f"limit = {blank!r}".replace("'", '"'))
    monkeypatch.setenv("DEMO_LIMIT", blank)
    assert resolve(LIMIT, limit=blank) == 10


def test_surrounding_whitespace_is_stripped_from_every_source(config_file, monkeypatch):
    """A CR or spaces around a value, as copied from a file or a Windows shell, are dropped."""
    monkeypatch.setenv("DEMO_TOKEN", "  sk-environment\r\n")
    assert resolve(TOKEN).reveal() == "sk-environment"
    configure(config_file, 'mode = "  slow\\t"')
    assert resolve(MODE) == "slow"
    assert resolve(LIMIT, limit=" 3 ") == 3


def test_declared_variable_and_config_key_replace_the_derived_ones(config_file, monkeypatch):
    """env= and config_key= rename where a setting is looked up."""
    setting = Setting("region", env="DEMO_X", config_key="zone")
    configure(config_file, 'region = "ignored"\nzone = "eu"')
    assert resolve(setting) == "eu"
    monkeypatch.setenv("DEMO_X", "us")
    assert resolve(setting) == "us"


def test_config_file_values_of_other_providers_are_ignored(config_file):
    """Only [providers.<provider>] is read."""
    config_file.write_text("[providers.other]\nlimit = 99\n", encoding="utf-8")
    assert resolve(LIMIT) == 10


def test_settings_resolve_in_order_for_an_optional_predicate():
    """An optional predicate sees the settings declared before it."""
    local = Setting("url", default="http://localhost")
    key = Setting("key", secret=True, optional=lambda earlier: "localhost" in earlier["url"])
    assert resolve_settings(PROVIDER, [local, key]) == {"url": "http://localhost", "key": None}
    with pytest.raises(ConfigurationError, match="key is required"):
        resolve_settings(PROVIDER, [local, key], {"url": "https://example.com"})


def test_optional_setting_without_a_value_is_none():
    """optional=True makes None an acceptable final value."""
    assert resolve(Setting("proxy", optional=True)) is None


# --- conversion -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "text", "expected"),
    [
        (LIMIT, "42", 42),
        (LIMIT, "1_000", 1000),
        (RATE, "2.5", 2.5),
        (RATE, "3", 3.0),
        (MODE, "slow", "slow"),
        *[(VERBOSE, text, True) for text in ("true", "TRUE", "1", "yes", "on")],
        *[(VERBOSE, text, False) for text in ("false", "False", "0", "no", "off")],
    ],
)
def test_strings_from_the_environment_convert_to_the_declared_type(
    monkeypatch, setting, text, expected
):
    """Variables are strings; each converts to str, int, float or bool."""
    monkeypatch.setenv(setting.env_name(PROVIDER), text)
    value = resolve(setting)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("setting", "toml", "expected"),
    [
        (LIMIT, "25", 25),
        (RATE, "4", 4.0),
        (RATE, "0.25", 0.25),
        (VERBOSE, "true", True),
        (Setting("model"), "4", "4"),
    ],
)
def test_toml_numbers_and_booleans_convert_too(config_file, setting, toml, expected):
    """A config value that is not a string converts to the declared type as well."""
    configure(config_file, f"{setting.name} = {toml}")
    value = resolve(setting)
    assert value == expected
    assert type(value) is type(expected)


def test_explicit_values_are_converted_and_checked_like_the_others():
    """An int argument for a float setting becomes a float; "7" for an int becomes 7."""
    assert resolve(RATE, rate=2) == 2.0
    assert isinstance(resolve(RATE, rate=2), float)
    assert resolve(LIMIT, limit="7") == 7


def test_secret_comes_back_wrapped_and_never_in_a_repr(monkeypatch):
    """A secret setting is a Secret, whichever source it came from, and repr hides it."""
    monkeypatch.setenv("DEMO_TOKEN", "sk-live-abcdef")
    resolved = resolve_settings(PROVIDER, [TOKEN])
    assert isinstance(resolved["token"], Secret)
    assert "sk-live-abcdef" not in repr(resolved)
    assert resolve(TOKEN, token=Secret("sk-given-abcdef")).reveal() == "sk-given-abcdef"


# --- errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "text", "problem"),
    [
        (LIMIT, "abc", "limit must be a whole number, got 'abc'"),
        (LIMIT, "2.5", "limit must be a whole number, got '2.5'"),
        (LIMIT, "-3", "limit must be a positive number, got '-3'"),
        (RATE, "abc", "rate must be a number, got 'abc'"),
        (RATE, "inf", "rate must be a finite number, got 'inf'"),
        (RATE, "nan", "rate must be a finite number, got 'nan'"),
        (RATE, "0", "rate must be a positive number, got '0'"),
        (VERBOSE, "maybe", "verbose must be true or false"),
        (MODE, "medium", "mode must be one of 'fast', 'slow', got 'medium'"),
    ],
)
def test_bad_variable_names_setting_value_variable_and_key(monkeypatch, setting, text, problem):
    """A bad variable's error names the setting, the value, the variable and the config key."""
    variable = setting.env_name(PROVIDER)
    monkeypatch.setenv(variable, text)
    with pytest.raises(ConfigurationError) as caught:
        resolve(setting)
    message = str(caught.value)
    assert problem in message
    assert f"(from {variable}; config key providers.demo.{setting.name})" in message
    assert caught.value.provider == PROVIDER


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ('"many"', "limit must be a whole number, got 'many'"),
        ("true", "limit must be a whole number, got True"),
        ("{ a = 1 }", "limit must be a single value, not a table"),
        ("[1, 2]", "limit must be a single value, not a list"),
        ("1979-05-27", "limit must be a whole number"),
    ],
)
def test_bad_config_value_names_the_file_key_and_variable(config_file, toml, problem):
    """A bad config value's error names the key, the file and the variable too."""
    configure(config_file, f"limit = {toml}")
    with pytest.raises(ConfigurationError) as caught:
        resolve(LIMIT)
    message = str(caught.value)
    assert problem in message
    assert f"from config key providers.demo.limit in {config_file}; variable DEMO_LIMIT" in message


def test_bad_argument_names_the_argument_variable_and_key():
    """A bad argument is refused too, and the message still says where else it can be set."""
    with pytest.raises(ConfigurationError) as caught:
        resolve(RATE, rate=-1.0)
    assert str(caught.value) == (
        "demo: rate must be a positive number, got -1.0 "
        "(from the rate argument; variable DEMO_RATE, config key providers.demo.rate)"
    )


def test_custom_check_describes_the_problem(monkeypatch):
    """A check callable's description becomes the error, with the usual places named."""
    even = Setting("limit", int, 2, check=lambda n: None if n % 2 == 0 else "must be even")
    monkeypatch.setenv("DEMO_LIMIT", "3")
    with pytest.raises(ConfigurationError, match=r"limit must be even, got '3' \(from DEMO_LIMIT"):
        resolve(even)


def test_bad_secret_is_never_shown(monkeypatch):
    """A refused secret's error names where it came from but never the value."""
    scoped = Setting(
        "token",
        secret=True,
        check=lambda key: None if key.startswith("sk-proj-") else "must start with sk-proj-",
    )
    monkeypatch.setenv("DEMO_TOKEN", "sk-hidden-value")
    with pytest.raises(ConfigurationError) as caught:
        resolve(scoped)
    message = str(caught.value)
    assert "sk-hidden-value" not in message
    assert (
        "token must start with sk-proj- (from DEMO_TOKEN; config key providers.demo.token)"
        in message
    )


def test_secret_with_a_control_character_is_refused_naming_its_source(monkeypatch):
    """A line break inside a key would split a header: refused, naming the variable, not the key."""
    monkeypatch.setenv("DEMO_TOKEN", "sk-first\nX-Injected: yes")
    with pytest.raises(ConfigurationError, match="control character") as caught:
        resolve(TOKEN)
    message = str(caught.value)
    assert "sk-first" not in message
    assert "token (from DEMO_TOKEN; config key providers.demo.token)" in message
    assert caught.value.provider == PROVIDER
    with pytest.raises(ConfigurationError, match="the token argument") as caught:
        explicit_settings(PROVIDER, [TOKEN], {"token": "sk-a\rb"})
    assert caught.value.provider == PROVIDER


def test_missing_key_says_every_place_to_set_it(config_file):
    """A required key with no value names the variable, `claif keys set`, the key and the file."""
    with pytest.raises(ConfigurationError) as caught:
        resolve(TOKEN)
    assert str(caught.value) == (
        "demo: token is required: set DEMO_TOKEN, run `claif keys set demo`, "
        f"or set providers.demo.token in {config_file}"
    )


def test_missing_plain_setting_names_variable_key_and_file(config_file):
    """A required setting outside the key store leaves `claif keys set` out."""
    with pytest.raises(ConfigurationError) as caught:
        resolve(Setting("region"))
    assert str(caught.value) == (
        f"demo: region is required: set DEMO_REGION or set providers.demo.region in {config_file}"
    )


def test_unknown_keyword_is_refused_by_name():
    """A misspelt keyword is a ValidationError naming it and the known settings."""
    with pytest.raises(ValidationError, match="unknown setting limt; known: limit, rate") as caught:
        resolve_settings(PROVIDER, [LIMIT, RATE], {"limt": 3})
    assert caught.value.field == "limt"


@pytest.mark.parametrize(
    ("toml", "dotted"),
    [('[providers]\ndemo = "x"', "providers.demo"), ("providers = 3", "providers")],
)
def test_provider_entry_that_is_not_a_table_is_refused(config_file, toml, dotted):
    """providers or providers.demo that is not a table cannot hold settings; the error names it."""
    config_file.write_text(toml, encoding="utf-8")
    expected = f"{dotted} in {config_file} must be a table"
    with pytest.raises(ConfigurationError, match=re.escape(expected)):
        resolve(LIMIT)


def test_config_file_is_not_read_when_arguments_settle_everything(config_file):
    """A broken config file does not matter while every value is given explicitly."""
    config_file.write_text("not toml [", encoding="utf-8")
    assert resolve(LIMIT, limit=3) == 3
    with pytest.raises(ConfigurationError, match="invalid TOML"):
        resolve(LIMIT)


# --- declarations and checks ------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"name": "not a name"}, ValueError),
        ({"name": "x", "type": list}, TypeError),
        ({"name": "x", "type": int, "secret": True}, TypeError),
        ({"name": "x", "type": int, "choices": ("1",)}, TypeError),
        ({"name": "x", "key_store": True}, ValueError),
    ],
)
def test_impossible_declarations_fail_when_made(arguments, error):
    """A declaration that could never resolve is a programming error, raised at once."""
    with pytest.raises(error):
        Setting(**arguments)


def test_a_setting_declared_twice_is_a_programming_error():
    """Two settings with one name cannot both be resolved."""
    with pytest.raises(ValueError, match="twice"):
        resolve_settings(PROVIDER, [LIMIT, LIMIT])


def test_names_derived_from_the_provider():
    """The variable is PROVIDER_NAME, upper-cased; the key is providers.<provider>.<name>."""
    assert LIMIT.env_name("my-provider") == "MY_PROVIDER_LIMIT"
    assert LIMIT.config_name("my-provider") == "providers.my-provider.limit"


@pytest.mark.parametrize(("value", "ok"), [(1, True), (0.001, True), (0, False), (-2, False)])
def test_positive(value, ok):
    """positive accepts numbers above zero only."""
    assert (positive(value) is None) is ok


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.example.com/v1", True),
        ("http://127.0.0.1:8080", True),
        ("ftp://example.com", False),
        ("https://", False),
        ("example.com", False),
        ("http://[::1", False),
        ("http://host:99999/v1", False),
        ("http://exa\nmple.com/v1", False),
        ("http://example.com/a b", False),
    ],
)
def test_http_url(url, ok):
    """http_url accepts http(s) URLs with a host and a valid port."""
    assert (http_url(url) is None) is ok


def test_all_is_sorted():
    """claif.settings exports a sorted __all__ whose names all exist."""
    assert claif.settings.__all__ == sorted(claif.settings.__all__)
    assert all(hasattr(claif.settings, name) for name in claif.settings.__all__)


def test_import_is_cheap():
    """Importing claif.settings loads no HTTP client, async runtime, CLI or platformdirs."""
    heavy = "{'rich', 'fire', 'httpx', 'anyio', 'platformdirs'}"
    code = f"import sys, claif.settings; assert not {heavy} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_explicit_settings_keeps_what_resolve_settings_needs():
    """For a lazy constructor: None and blanks dropped, secrets wrapped, values otherwise kept."""
    kept = explicit_settings(
        PROVIDER, [TOKEN, LIMIT, MODE], {"token": " sk-abcdef ", "limit": None, "mode": " "}
    )
    assert kept == {"token": Secret("sk-abcdef")}
    assert isinstance(kept["token"], Secret)
    assert resolve_settings(PROVIDER, [TOKEN, LIMIT], kept)["token"] == Secret("sk-abcdef")
    assert explicit_settings(PROVIDER, [LIMIT], {"limit": "x"}) == {"limit": "x"}


def test_explicit_settings_refuses_a_misspelt_keyword_at_once():
    """The typo is caught when the instance is built, not when it first connects."""
    with pytest.raises(ValidationError, match="unknown setting tokn"):
        explicit_settings(PROVIDER, [TOKEN], {"tokn": "sk-abcdef"})


class TestWordSettings:
    """Settings holding shell words: extra arguments and extra environment of a CLI."""

    def test_shell_words_refuses_an_unclosed_quote(self):
        assert shell_words("--flag 'two words'") is None
        assert "shell words" in (shell_words("--flag 'open") or "")

    def test_environment_words_become_a_dict_and_a_word_without_equals_is_refused(self):
        assert parse_environment("A=1 'B=two words' C=") == {"A": "1", "B": "two words", "C": ""}
        assert parse_environment({"A": 1}) == {"A": "1"}
        assert environment_words("A=1") is None
        assert "not 'B'" in (environment_words("A=1 B") or "")
        assert "NAME=VALUE" in (environment_words("=x") or "")

    def test_python_lists_and_mappings_join_into_the_words_a_setting_takes(self):
        assert as_words(["-c", "a b"]) == "-c 'a b'"
        assert as_words({"A": "x y"}) == "'A=x y'"
        assert as_words("kept as it is") == "kept as it is"
        assert parse_environment(as_words({"A": "x y", "B": ""})) == {"A": "x y", "B": ""}

    def test_a_words_setting_with_a_broken_quote_in_the_environment_names_the_variable(
        self, monkeypatch
    ):
        monkeypatch.setenv("DEMO_EXTRA_ARGS", "--x 'open")
        declared = (Setting("extra_args", str, optional=True, check=shell_words),)
        with pytest.raises(ConfigurationError, match=r"shell words.*DEMO_EXTRA_ARGS"):
            resolve_settings("demo", declared, {})
