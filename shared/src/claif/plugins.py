"""Finding provider plugins through the ``claif.providers`` entry-point group.

Listing reads installed metadata only: no provider module is imported until one
is chosen, so a slow or broken plugin costs nothing to the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

from .common.errors import ConfigurationError

__all__ = [
    "PluginInfo",
    "create_provider",
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
    """Import the chosen provider; a failing import names its distribution and why."""
    entry_point, info = _find(name)
    try:
        return entry_point.load()  # type: ignore[no-any-return]
    except Exception as exc:
        raise ConfigurationError(
            f"provider {name!r} from {info.label} failed to import: {type(exc).__name__}: {exc}",
            provider=name,
        ) from exc


def create_provider(name: str, **kwargs: Any) -> Any:
    """Import and instantiate the provider called ``name``."""
    provider_class = load_provider_class(name)
    return provider_class(**kwargs)
