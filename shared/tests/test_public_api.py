"""Public surfaces: sorted __all__, the guide's import lines, and a light core."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PUBLIC_MODULES = [
    "claif.common",
    "claif.common.errors",
    "claif.common.types",
    "claif.common.options",
    "claif.common._codec",
    "claif.providers.base",
    "claif.providers.capabilities",
    "claif.host",
    "claif.retry",
    "claif.streaming",
    "claif.plugins",
    "claif.config",
    "claif.sessions",
    "claif.logs",
    "claif.tools",
    "claif.testing",
    "claif.cli.base",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_and_resolves(name):
    """Each public module's __all__ is sorted and every name in it exists."""
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported)
    for attribute in exported:
        assert hasattr(module, attribute), f"{name}.{attribute} is missing"


def test_guide_import_lines_run():
    """The plugin guide's import lines work verbatim."""
    code = (
        "from claif.providers.base import BaseProvider\n"
        "from claif.common.types import Message, Role, TextBlock, ToolUseBlock, "
        "ToolResultBlock, ImageBlock\n"
        "from claif.common import ClaifOptions, ProviderError, ConfigurationError, "
        "TransportError, RateLimitError\n"
        "from claif.common import ClaifOptions, Message\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_core_import_loads_no_cli_or_http_stack():
    """Importing claif.common pulls in neither rich, fire, httpx nor anyio."""
    code = (
        "import sys, claif.common, claif.providers.base\n"
        "print(sorted(m for m in ('rich', 'fire', 'httpx', 'anyio', 'platformdirs') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout.strip() == "[]"
