"""Public surfaces: sorted __all__, the guide's import lines, and a light core."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

# Every public module (no leading underscore in its dotted path) and its __all__.
# Growing this surface is a decision: change the snapshot on purpose, not by accident.
PUBLIC_API = {
    "claif": 14,
    "claif.bounds": 2,
    "claif.cli.base": 5,
    "claif.cli.main": 1,
    "claif.common": 18,
    "claif.common.conversation": 2,
    "claif.common.errors": 15,
    "claif.common.options": 3,
    "claif.common.types": 16,
    "claif.config": 8,
    "claif.host": 3,
    "claif.lazy": 1,
    "claif.logs": 7,
    "claif.plugins": 5,
    "claif.process": 3,
    "claif.providers.base": 2,
    "claif.providers.command_line": 5,
    "claif.providers.capabilities": 5,
    "claif.retry": 2,
    "claif.sessions": 4,
    "claif.settings": 10,
    "claif.sse": 1,
    "claif.streaming": 6,
    "claif.testing": 10,
    "claif.testing.cli_conformance": 1,
    "claif.testing.conformance": 2,
    "claif.testing.executable": 4,
    "claif.testing.http": 11,
    "claif.tools": 3,
}
PUBLIC_MODULES = sorted(PUBLIC_API)


def public_modules() -> list[str]:
    """The modules a user may import: every module whose dotted path has no private part."""
    import pkgutil

    import claif

    names = ["claif"] + [info.name for info in pkgutil.walk_packages(claif.__path__, "claif.")]
    public = [name for name in names if not any(part.startswith("_") for part in name.split("."))]
    return sorted(name for name in public if hasattr(importlib.import_module(name), "__all__"))


def test_public_surface_is_pinned_and_smaller_than_before():
    """The public modules and their __all__ sizes match the snapshot.

    2.1 came in at 142 names (2.0: 143); the CLI work added Flag (a provider
    CLI's own flags) and declared_capabilities (capabilities of a chosen plugin,
    with a broken one reported) and the CLI conformance suite; claif.process
    (start_child, ChildProcess, find_executable) and claif.testing.executable
    (FakeExecutable, Run, Call) came with the subprocess providers, and
    claif.lazy (lazy_exports, shared by every package's __init__): 153. The
    second CLI provider moved what both share into core: CommandLineProvider,
    Launch, LineDecoder, with_stderr, the shell-words settings helpers and a
    private claif home for tests; prompt_text and read_prompt_text, one
    prompt for CLIs that read one; http_status_in, an API error's status
    in a CLI's message; register_secret_environment (a child's secrets
    masked in what it says); run_script for console-script tests; json_event,
    one JSON line of a CLI: 169.
    """
    sizes = {name: len(importlib.import_module(name).__all__) for name in public_modules()}
    assert sizes == PUBLIC_API
    assert sum(sizes.values()) == 169


def test_top_level_names_load_lazily():
    """import claif loads none of its submodules; each name imports its home on first use."""
    code = (
        "import sys, claif\n"
        "loaded = [m for m in sys.modules if m.startswith('claif.') and m != 'claif.lazy']\n"
        "assert not loaded, loaded\n"
        "for name in claif.__all__:\n"
        "    getattr(claif, name)\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "ok", done.stderr


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
