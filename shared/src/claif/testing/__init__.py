"""Public test helpers: MockProvider, fast retries, and the conformance suites providers subclass.

The conformance suite imports pytest, so it is loaded only when asked for. The
scripted HTTP server providers' fakes are built on is the submodule
``claif.testing.http``, imported only by those who use it.
"""

from __future__ import annotations

from typing import Any

from ._harness import Harness, SentRequest, Unsupported
from ._home import claif_home_env, isolate_claif, run_script
from ._mock import MockProvider
from ._retries import fast_retries

__all__ = [
    "CLIConformance",
    "Harness",
    "MockProvider",
    "ProviderConformance",
    "SentRequest",
    "Unsupported",
    "claif_home_env",
    "fast_retries",
    "isolate_claif",
    "run_script",
]


def __getattr__(name: str) -> Any:
    if name == "ProviderConformance":
        from .conformance import ProviderConformance

        return ProviderConformance
    if name == "CLIConformance":
        from .cli_conformance import CLIConformance

        return CLIConformance
    raise AttributeError(f"module 'claif.testing' has no attribute {name!r}")
