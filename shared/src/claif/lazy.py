"""Package attributes imported on first use, so importing a package stays nearly free.

``claif`` itself and every provider package use it the same way::

    __getattr__, __dir__ = lazy_exports(__name__, {".provider": ("MyProvider",)}, __all__)

Listing providers, ``--help`` and ``import claif`` then never pay for an HTTP
client, an SDK or a provider module nobody asked for.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, homes: Mapping[str, Sequence[str]], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module ``__getattr__`` and ``__dir__`` for ``package``.

    ``homes`` maps a module (relative to ``package``, such as ``.provider``) to
    the names it defines; each is imported the first time it is asked for and
    then kept in the package's namespace.
    """
    where = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *public})

    return __getattr__, __dir__
