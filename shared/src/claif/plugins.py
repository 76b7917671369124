"""Finding provider plugins through the ``claif.providers`` entry-point group.

Listing reads installed metadata only: no provider module is imported until one
is chosen, so a slow or broken plugin costs nothing to the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any

from .common.errors import ClaifError, ConfigurationError

if TYPE_CHECKING:
    from .providers.capabilities import Capability

__all__ = [
    "PluginInfo",
    "create_provider",
    "declared_capabilities",
    "list_plugins",
    "load_provider_class",
]

ENTRY_POINT_GROUP = "claif.providers"


@dataclass(frozen=True)
class PluginInfo:
    """One installed provider as its metadata describes it."""

    name: str
    distribution: str
    version: str
    target: str

    @property
    def label(self) -> str:
        """``distribution version``, the way people name an install."""
        return f"{self.distribution} {self.version}"


def _info(entry_point: metadata.EntryPoint) -> PluginInfo:
    dist = entry_point.dist
    return PluginInfo(
        name=entry_point.name,
        distribution=dist.metadata["Name"] if dist is not None else "unknown",
        version=dist.version if dist is not None else "unknown",
        target=entry_point.value,
    )


def _entry_points() -> list[metadata.EntryPoint]:
    return list(metadata.entry_points(group=ENTRY_POINT_GROUP))


def list_plugins() -> list[PluginInfo]:
    """Every installed provider, sorted by name, read from metadata alone."""
    seen: dict[str, PluginInfo] = {}
    for entry_point in _entry_points():
        seen.setdefault(entry_point.name, _info(entry_point))
    return sorted(seen.values(), key=lambda info: info.name)


def _find(name: str) -> tuple[metadata.EntryPoint, PluginInfo]:
    """The entry point called ``name`` (the first, as in the listing) and its info."""
    for entry_point in _entry_points():
        if entry_point.name == name:
            return entry_point, _info(entry_point)
    installed = ", ".join(info.name for info in list_plugins()) or "none"
    raise ConfigurationError(
        f"no provider named {name!r} is installed (installed: {installed}); "
        f"install one that registers the {ENTRY_POINT_GROUP!r} entry point"
    )


def find_plugin(name: str) -> PluginInfo:
    """The provider called ``name``; an unknown name lists the installed ones."""
    return _find(name)[1]


def load_provider_class(name: str) -> type[Any]:
    """Import the chosen provider and check it is one; a failure names its distribution and why.

    A plugin's import may raise anything, ``SystemExit`` included: it becomes a
    ConfigurationError, so one broken plugin never ends the program or hides
    the others.
    """
    entry_point, info = _find(name)
    try:
        loaded = entry_point.load()
    except (Exception, SystemExit) as exc:
        raise _broken(info, "failed to import", exc) from exc
    from .providers.base import BaseProvider

    if not isinstance(loaded, type) or not issubclass(loaded, BaseProvider):
        what = f"class {loaded.__name__}" if isinstance(loaded, type) else type(loaded).__name__
        raise ConfigurationError(
            f"{info.label} registers {info.target}, which is a {what}, "
            "not a subclass of claif's BaseProvider",
            provider=name,
        )
    return loaded


def create_provider(name: str, **kwargs: Any) -> Any:
    """Import and instantiate the provider called ``name``, with its capabilities checked.

    A ClaifError from the constructor (a missing key, a bad setting) is the
    user's to fix and passes through; anything else is the plugin's fault and
    is reported with its distribution.
    """
    from .providers.capabilities import capabilities_of

    provider_class = load_provider_class(name)
    info = find_plugin(name)
    try:
        provider = provider_class(**kwargs)
    except ClaifError:
        raise
    except (Exception, SystemExit) as exc:
        raise _broken(info, "failed to start", exc) from exc
    try:
        capabilities_of(provider)
    except (Exception, SystemExit) as exc:
        raise _broken(info, "declares bad capabilities", exc) from exc
    return provider


def declared_capabilities(name: str) -> frozenset[Capability]:
    """What the provider called ``name`` declares; it is built only if it declares per instance."""
    from .providers.capabilities import capabilities_of

    provider_class = load_provider_class(name)
    if isinstance(getattr(provider_class, "capabilities", None), property):
        return capabilities_of(create_provider(name))  # checked there
    try:
        return capabilities_of(provider_class)
    except (Exception, SystemExit) as exc:
        raise _broken(find_plugin(name), "declares bad capabilities", exc) from exc


def _broken(info: PluginInfo, what: str, exc: BaseException) -> ConfigurationError:
    """One line for a plugin that broke, naming its distribution and the reason."""
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, SystemExit):
        reason = f"it called sys.exit({exc.code!r})"
    elif isinstance(exc, ClaifError):
        reason = exc.message
    return ConfigurationError(f"{info.label} {what}: {reason}", provider=info.name)
