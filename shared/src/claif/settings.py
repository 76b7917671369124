"""Settings as data: a provider declares them, core finds, converts and checks them.

A provider lists its settings as :class:`Setting` values and calls
:func:`resolve_settings`, which looks for each one in this order, the first
value present winning:

1. the explicit argument (a constructor keyword, a CLI flag);
2. the environment variable (``MYPROVIDER_BASE_URL`` for ``base_url`` of ``myprovider``);
3. for the API key only (``key_store=True``), the key store of ``claif keys set NAME``;
4. the config file, ``[providers.<provider>] <config_key>``;
5. the declared default.

None counts as unset, and so does a string that is empty once its surrounding
whitespace is stripped, wherever it comes from: an exported but empty
``MYPROVIDER_API_KEY=`` must not hide the key in the key store. The value found
is converted to the declared type (strings such as ``"2.5"`` or ``"yes"``, and
TOML numbers and booleans, convert alike), then checked. Every problem is a
:class:`~claif.common.errors.ConfigurationError` naming the setting, where the
value came from, the environment variable and the config key, and the bad value
unless the setting is secret. Secret settings come back as
:class:`~claif.config.Secret`.
"""

from __future__ import annotations

import functools
import math
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

from .common.errors import ConfigurationError, ValidationError
from .config import KeyStore, Secret, config_path, env_var_name, load_config

__all__ = [
    "Check",
    "Setting",
    "as_words",
    "environment_words",
    "explicit_settings",
    "http_url",
    "parse_environment",
    "positive",
    "resolve_settings",
    "shell_words",
]

Check = Callable[[Any], str | None]
"""A check takes the converted value and returns what is wrong with it, or None."""

_BOOLEANS = {
    **dict.fromkeys(("true", "yes", "on", "1"), True),
    **dict.fromkeys(("false", "no", "off", "0"), False),
}


@dataclass(frozen=True)
class Setting:
    """One setting a provider declares: what it is called, its type, default and checks.

    ``optional`` may be a predicate on the settings declared before this one,
    for a setting required only sometimes (an API key, unless the server is local).
    A declaration that cannot work (a secret int, a key-store setting that is not
    secret) fails when it is made, as a TypeError or ValueError.
    """

    name: str
    type: type = str
    default: Any = None
    _: KW_ONLY
    env: str | None = None
    config_key: str | None = None
    secret: bool = False
    key_store: bool = False
    optional: bool | Callable[[Mapping[str, Any]], bool] = False
    check: Check | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"setting name {self.name!r} must be a Python identifier")
        if self.type not in _CONVERTERS:
            raise TypeError(f"setting {self.name}: type must be str, int, float or bool")
        if (self.secret or self.choices) and self.type is not str:
            raise TypeError(f"setting {self.name}: a secret or a choice must be a str")
        if self.key_store and not self.secret:
            raise ValueError(f"setting {self.name}: only a secret setting lives in the key store")

    def env_name(self, provider: str) -> str:
        """The environment variable: ``env`` if declared, else ``MYPROVIDER_<NAME>``."""
        return self.env or env_var_name(provider, self.name)

    def config_name(self, provider: str) -> str:
        """The dotted config key, ``providers.<provider>.<config_key>``."""
        return f"providers.{provider}.{self.config_key or self.name}"


def positive(value: float) -> str | None:
    """Refuse zero, negative, infinite and NaN numbers."""
    return None if math.isfinite(value) and value > 0 else "must be a positive number"


def shell_words(value: str) -> str | None:
    """Refuse text that does not split into shell words (an unclosed quote)."""
    try:
        shlex.split(value)
    except ValueError as exc:
        return f"must be shell words ({exc})"
    return None


def environment_words(value: str) -> str | None:
    """Refuse text that is not ``NAME=VALUE`` shell words."""
    try:
        parse_environment(value)
    except ValueError as exc:
        return str(exc)
    return None


def parse_environment(value: str | Mapping[str, Any]) -> dict[str, str]:
    """``NAME=VALUE`` shell words (or a mapping) as a dict; a word without ``=`` is refused."""
    if isinstance(value, Mapping):
        return {str(name): str(setting) for name, setting in value.items()}
    pairs = {}
    for word in shlex.split(value):
        name, equals, setting = word.partition("=")
        if not equals or not name:
            raise ValueError(f"must be NAME=VALUE words, not {word!r}")
        pairs[name] = setting
    return pairs


def as_words(value: Any) -> Any:
    """A list of words or a mapping of NAME to VALUE given in Python, as one shell-words
    string a words setting takes; anything else unchanged (resolution checks it)."""
    if isinstance(value, Mapping):
        return shlex.join(f"{name}={setting}" for name, setting in value.items())
    if isinstance(value, list | tuple):
        return shlex.join(str(word) for word in value)
    return value


def http_url(value: str) -> str | None:
    """Refuse anything but an ``http://`` or ``https://`` URL with a host (and a valid port)."""
    from urllib.parse import urlsplit  # deferred: only providers with a URL need it

    problem = "must be an http:// or https:// URL with a host"
    if not value.isprintable() or " " in value:  # urlsplit would drop a tab or line break
        return problem + " and no spaces or control characters"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - reading it raises ValueError for a bad port
    except ValueError:
        return problem
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        return problem + " and no query or fragment (paths are appended to it)"
    return None if parts.scheme in ("http", "https") and parts.hostname else problem


def resolve_settings(
    provider: str, declared: Sequence[Setting], explicit: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Each setting's value by name: argument, environment, key store, config file, default.

    Settings resolve in declaration order, so an ``optional`` predicate sees the
    ones before it. An explicit keyword that names no setting is a ValidationError
    (a typo must not be silently ignored); the config file is read at most once.
    """
    given = dict(explicit or {})
    _refuse_unknown(provider, declared, given)
    resolver = _Resolver(provider)
    resolved: dict[str, Any] = {}
    for setting in declared:
        resolved[setting.name] = resolver.resolve(setting, given.get(setting.name), resolved)
    return resolved


def explicit_settings(
    provider: str, declared: Sequence[Setting], given: Mapping[str, Any]
) -> dict[str, Any]:
    """The arguments worth keeping until :func:`resolve_settings` runs, for a lazy constructor.

    A misspelt keyword is refused at once (a ValidationError), None and blank
    values are dropped, and a secret is wrapped in a Secret, so an instance that
    resolves on connect neither hides a typo nor holds a key as plain text.
    """
    _refuse_unknown(provider, declared, given)
    secrets = {setting.name for setting in declared if setting.secret}
    kept = {name: _present(value) for name, value in given.items()}
    return {
        name: _secret(provider, value, f"the {name} argument")
        if name in secrets and isinstance(value, str)
        else value
        for name, value in kept.items()
        if value is not None
    }


def _refuse_unknown(provider: str, declared: Sequence[Setting], given: Mapping[str, Any]) -> None:
    names = [setting.name for setting in declared]
    if len(set(names)) != len(names):
        raise ValueError(f"{provider} declares a setting twice: {sorted(names)}")
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValidationError(
            f"unknown setting {', '.join(unknown)}; known: {', '.join(names)}",
            field=unknown[0],
            provider=provider,
        )


class _Resolver:
    """One provider's resolution; the config file is read the first time it is needed."""

    def __init__(self, provider: str) -> None:
        self.provider = provider

    def resolve(self, setting: Setting, argument: Any, earlier: Mapping[str, Any]) -> Any:
        for origin, value in self._candidates(setting, argument):
            if value is not None:
                return self._convert(setting, value, origin)
        optional = setting.optional
        if optional if isinstance(optional, bool) else optional(earlier):
            return None
        raise self._missing(setting)

    def _candidates(self, setting: Setting, argument: Any) -> Iterator[tuple[str, Any]]:
        """(origin, value) from each source in turn, blank values already None; lazily."""
        yield "argument", _present(argument)
        yield "environment", _present(os.environ.get(setting.env_name(self.provider)))
        if setting.key_store:
            yield "key store", _present(KeyStore().get(self.provider))
        yield "config", _present(self._table.get(setting.config_key or setting.name))
        yield "default", _present(setting.default)

    @functools.cached_property
    def _table(self) -> Mapping[str, Any]:
        """``[providers.<provider>]`` of the config file, or an empty table."""
        table = load_config()
        for key, dotted in (
            ("providers", "providers"),
            (self.provider, f"providers.{self.provider}"),
        ):
            found = table.get(key, {})
            if not isinstance(found, dict):
                raise ConfigurationError(
                    f"{dotted} in {config_path()} must be a table", provider=self.provider
                )
            table = found
        return table

    def _convert(self, setting: Setting, value: Any, origin: str) -> Any:
        try:
            converted = _CONVERTERS[setting.type](value)
        except ValueError as exc:
            raise self._refused(setting, str(exc), value, origin) from None
        problem = _problem(setting, converted)
        if problem:
            raise self._refused(setting, problem, value, origin)
        if not setting.secret:
            return converted
        return _secret(self.provider, converted, f"{setting.name} ({self._where(setting, origin)})")

    def _refused(self, setting: Setting, problem: str, value: Any, origin: str) -> Exception:
        if isinstance(value, str):
            from .logs import mask_url  # a refused URL may still carry a password

            value = mask_url(value)
        shown = "" if setting.secret or not _is_scalar(value) else f", got {value!r}"
        return ConfigurationError(
            f"{setting.name} {problem}{shown} ({self._where(setting, origin)})",
            provider=self.provider,
        )

    def _where(self, setting: Setting, origin: str) -> str:
        """Where the value came from, then the variable and key not already named."""
        variable = setting.env_name(self.provider)
        key = setting.config_name(self.provider)
        if origin == "environment":
            return f"from {variable}; config key {key}"
        if origin == "config":
            return f"from config key {key} in {config_path()}; variable {variable}"
        source = f"the {setting.name} argument" if origin == "argument" else f"the {origin}"
        return f"from {source}; variable {variable}, config key {key}"

    def _missing(self, setting: Setting) -> ConfigurationError:
        store = f", run `claif keys set {self.provider}`," if setting.key_store else ""
        return ConfigurationError(
            f"{setting.name} is required: set {setting.env_name(self.provider)}{store} "
            f"or set {setting.config_name(self.provider)} in {config_path()}",
            provider=self.provider,
        )


def _secret(provider: str, value: str, source: str) -> Secret:
    """The value as a Secret; one that Secret refuses (a control character) names ``source``."""
    try:
        return Secret(value, source=source)
    except ConfigurationError as exc:
        raise ConfigurationError(exc.message, provider=provider) from None


def _present(value: Any) -> Any:
    """The value with surrounding whitespace stripped, or None if it is None or blank."""
    if isinstance(value, Secret):
        value = value.reveal()
    if isinstance(value, str):
        value = value.strip()
    return None if value is None or value == "" else value


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float)


def _problem(setting: Setting, value: Any) -> str | None:
    if setting.choices and value not in setting.choices:
        return "must be one of " + ", ".join(repr(choice) for choice in setting.choices)
    return setting.check(value) if setting.check else None


def _not_a_table(value: Any) -> None:
    if isinstance(value, dict | list):
        kind = "table" if isinstance(value, dict) else "list"
        raise ValueError(f"must be a single value, not a {kind}")


def _to_str(value: Any) -> str:
    _not_a_table(value)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ValueError("must be a string")


def _to_int(value: Any) -> int:
    _not_a_table(value)
    if isinstance(value, str):
        value = _parsed(int, value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    return value


def _to_float(value: Any) -> float:
    _not_a_table(value)
    if isinstance(value, str):
        value = _parsed(float, value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    # Compared, not converted: float() of a huge int would raise OverflowError.
    if not abs(value) <= sys.float_info.max:
        raise ValueError("must be a finite number")
    return float(value)


def _to_bool(value: Any) -> bool:
    _not_a_table(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _BOOLEANS:
        return _BOOLEANS[value.lower()]
    raise ValueError("must be true or false (or yes/no, on/off, 1/0)")


def _parsed(kind: Callable[[str], Any], text: str) -> Any:
    """``kind(text)``, or the text itself when it does not parse, for the caller to refuse."""
    try:
        return kind(text)
    except ValueError:
        return text


_CONVERTERS: dict[type, Callable[[Any], Any]] = {
    str: _to_str,
    int: _to_int,
    float: _to_float,
    bool: _to_bool,
}
