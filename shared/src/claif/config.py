"""The claif config file and key store, and the Secret that carries a key.

:mod:`claif.settings` resolves each provider setting from these (argument,
environment variable, key store for the key, config file, default).

The config file lives under the platform config dir (``CLAIF_CONFIG`` overrides
it); the key store sits beside it (``CLAIF_KEYS`` overrides that). A key is
handed out as a :class:`Secret`, which never shows its value in a repr, a log
line or an error.

Every key, wherever it comes from, passes :func:`clean_key`: surrounding
whitespace goes (a key pasted from a CRLF file ends in ``\r``), and a key still
holding a control character is refused with an error naming its source, not
the key. Both files are read with :func:`claif._fileio.read_regular_file`, so a
FIFO, a device or a file over :data:`MAX_CONFIG_BYTES` is an error, not a hang.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from ._fileio import atomic_write, decode_utf8, exclusive_lock, parse_json, read_regular_file
from .common.errors import ConfigurationError
from .logs import register_secret

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    # mypy runs as 3.10 where tomli may be absent from the dev environment
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

__all__ = [
    "KeyStore",
    "Secret",
    "check_key_name",
    "clean_key",
    "config_path",
    "env_var_name",
    "keys_path",
    "load_config",
]

CONFIG_ENV = "CLAIF_CONFIG"
KEYS_ENV = "CLAIF_KEYS"
KEYS_FORMAT_VERSION = 1
# The config file and the key store are each refused beyond 1 MiB: both are
# hand-sized, and the cap bounds what a hostile file can make us read.
MAX_CONFIG_BYTES = 1024 * 1024
_KEY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def config_path() -> Path:
    """The config file: ``$CLAIF_CONFIG``, else ``config.toml`` in the platform config dir."""
    override = os.environ.get(CONFIG_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs  # deferred: only needed when no override is set

    return platformdirs.user_config_path("claif") / "config.toml"


def keys_path() -> Path:
    """The key store: ``$CLAIF_KEYS``, else ``keys.json`` beside the config file."""
    override = os.environ.get(KEYS_ENV)
    if override:
        return Path(override).expanduser()
    return config_path().with_name("keys.json")


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The parsed config file; a missing file is an empty config, a broken one an error."""
    target = path or config_path()
    raw = _read_file(target, "config file")
    if raw is None:
        return {}
    try:
        parsed: dict[str, Any] = tomllib.loads(decode_utf8(raw))
    except ValueError as exc:  # TOMLDecodeError is one; its message has a position, no content
        raise ConfigurationError(f"invalid TOML in config file {target}: {exc}") from exc
    except RecursionError:  # from None: a thousand frames of parser say nothing more
        raise ConfigurationError(f"config file {target} is nested too deeply") from None
    return parsed


def _read_file(path: Path, what: str) -> bytes | None:
    """The bytes of the config file or key store (None if missing), within the size cap."""
    try:
        return read_regular_file(path, max_bytes=MAX_CONFIG_BYTES)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def clean_key(value: str, *, source: str) -> str:
    """``value`` without surrounding whitespace; the empty string means no key.

    A key that still holds a control character (below 0x20, or 0x7f) is refused:
    sent in a header it would break the request or smuggle in another. The
    error names ``source`` (a variable name, a file), never the key.
    """
    cleaned = value.strip()
    if _CONTROL.search(cleaned):
        raise ConfigurationError(
            f"{source}: the API key holds a control character (a line break?); "
            "copy the key again without it"
        )
    return cleaned


class Secret:
    """An API key that shows as ``Secret(****)``; :meth:`reveal` is the only way to read it.

    Creating one cleans the value (:func:`clean_key`; ``source`` names where it
    came from in the error) and registers it with the log redactor, and pickling
    is refused, so the key cannot leak through a log line or a serialised object.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str, *, source: str = "the key passed to Secret") -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret wraps a str")
        self._value = clean_key(value, source=source)
        register_secret(self._value)

    def reveal(self) -> str:
        """The key itself, for the one place that must send it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret(****)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        import hmac  # deferred: it pulls in hashlib; comparing keys is rare

        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("claif.Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled: pass the key explicitly instead")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self


def env_var_name(provider: str, key: str = "api_key") -> str:
    """The default variable name: ``myprovider`` + ``api_key`` -> ``MYPROVIDER_API_KEY``."""
    return re.sub(r"[^A-Z0-9]", "_", f"{provider}_{key}".upper())


def _secret_or_none(value: str | None, source: str) -> Secret | None:
    """The cleaned key as a Secret, or None when there is none (missing or blank)."""
    secret = Secret(value or "", source=source)
    return secret or None


class KeyStore:
    """API keys saved by ``claif keys set``: a JSON file, 0600, in a 0700 folder."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or keys_path()

    def get(self, name: str) -> Secret | None:
        """The stored key for ``name``, or None."""
        return _secret_or_none(self._read().get(name), f"the key store {self.path} ({name})")

    def names(self) -> list[str]:
        """The names that have a key, sorted; the keys themselves stay hidden."""
        return sorted(self._read())

    def set(self, name: str, value: str) -> None:
        """Store (or replace) the key for ``name``, cleaned by :func:`clean_key`."""
        check_key_name(name)
        given = value if isinstance(value, str) else None  # anything but a str is no key
        secret = _secret_or_none(given, f"the key given for {name}")
        if secret is None:
            raise ConfigurationError(f"the key for {name} is empty")
        with self._locked():
            keys = self._read()
            keys[name] = secret.reveal()
            self._write(keys)

    def delete(self, name: str) -> None:
        """Forget the key for ``name``; a name with no key is an error, as a typo would be."""
        with self._locked():
            keys = self._read()
            if keys.pop(name, None) is None:
                raise ConfigurationError(f"no key stored for {name!r} in {self.path}")
            self._write(keys)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's lock; failing to take it or to write is a ConfigurationError."""
        try:
            with exclusive_lock(self.path.with_name(self.path.name + ".lock")):
                yield
        except OSError as exc:
            raise ConfigurationError(
                f"cannot update key store {self.path}: {exc.strerror or exc}"
            ) from exc

    def _read(self) -> dict[str, str]:
        raw = _read_file(self.path, "key store")
        if raw is None:
            return {}
        try:
            payload = parse_json(raw)
        except ValueError as exc:  # the parser's message has a position, never the content
            raise ConfigurationError(f"key store {self.path} is not valid JSON: {exc}") from exc
        keys = payload.get("keys") if isinstance(payload, dict) else None
        if not isinstance(keys, dict) or not all(
            isinstance(name, str) and isinstance(value, str) for name, value in keys.items()
        ):
            raise ConfigurationError(
                f"key store {self.path} is corrupt: expected {{'keys': {{name: key}}}}"
            )
        return dict(keys)

    def _write(self, keys: dict[str, str]) -> None:
        payload = {"version": KEYS_FORMAT_VERSION, "keys": dict(sorted(keys.items()))}
        atomic_write(self.path, json.dumps(payload, indent=2).encode("utf-8") + b"\n", mode=0o600)


def check_key_name(name: str) -> None:
    """Refuse a key name that is not 1 to 64 plain characters (it becomes a file entry)."""
    if not isinstance(name, str) or not _KEY_NAME.fullmatch(name):
        raise ConfigurationError(
            f"key name {name!r} must be 1 to 64 letters, digits, '_', '.' or '-' "
            "and may not start with '.' or '-'"
        )
