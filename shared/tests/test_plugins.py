"""Discovery through entry points, checked in child processes with real metadata."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .plugin_fixtures import add_echo_plugin, add_plugin, env_with

BROKEN_MODULE = "raise ImportError('needs the frobnicator SDK')\n"
LOUD_MODULE = """
import os
import pathlib

pathlib.Path(os.environ["MARKER"]).write_text("imported")
Provider = object
"""

PROBE = """
import json, sys
from claif import plugins
infos = plugins.list_plugins()
out = {"listed": [[i.name, i.distribution, i.version] for i in infos],
       "modules": sorted(m for m in sys.modules if m in ("echo_mod", "broken_mod", "loud_mod"))}
results = {}
for info in infos:
    try:
        results[info.name] = plugins.load_provider_class(info.name).__name__
    except Exception as exc:
        results[info.name] = f"{type(exc).__name__}: {exc}"
out["loaded"] = results
print(json.dumps(out))
"""


@pytest.fixture
def plugin_root(tmp_path: Path) -> Path:
    add_echo_plugin(tmp_path)
    add_plugin(
        tmp_path,
        name="broken",
        module="broken_mod",
        source=BROKEN_MODULE,
        distribution="claif-broken",
        version="0.1.0",
    )
    add_plugin(
        tmp_path,
        name="loud",
        module="loud_mod",
        source=LOUD_MODULE,
        distribution="claif-loud",
        version="2.0.0",
    )
    return tmp_path


def run_python(root: Path, code: str) -> str:
    """Run ``code`` in a child interpreter that sees the plugins under ``root``."""
    env = env_with(root, MARKER=str(root / "marker"))
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_listing_reads_metadata_only(plugin_root: Path):
    """Listing gives name, distribution and version and imports no provider module."""
    code = (
        "import json, sys\n"
        "from claif.plugins import list_plugins\n"
        "print(json.dumps([[i.name, i.distribution, i.version] for i in list_plugins()]))\n"
        "print(sorted(m for m in sys.modules if m.endswith('_mod')))"
    )
    listed, modules = run_python(plugin_root, code).splitlines()
    assert ["echo", "claif-echo", "1.2.3"] in json.loads(listed)
    assert ["broken", "claif-broken", "0.1.0"] in json.loads(listed)
    assert modules == "[]"
    assert not (plugin_root / "marker").exists()


def test_broken_plugin_reported_others_still_load(plugin_root: Path):
    """A plugin failing to import is reported with its distribution and reason; the rest work."""
    result = json.loads(run_python(plugin_root, PROBE))
    assert result["loaded"]["echo"] == "EchoProvider"
    broken = result["loaded"]["broken"]
    assert broken.startswith("ConfigurationError")
    assert "claif-broken 0.1.0" in broken
    assert "needs the frobnicator SDK" in broken


def test_provider_imported_only_when_chosen(plugin_root: Path):
    """Loading one provider imports its module and not the others'."""
    code = (
        "import sys\n"
        "from claif.plugins import load_provider_class\n"
        "load_provider_class('echo')\n"
        "print(sorted(m for m in sys.modules if m.endswith('_mod')))"
    )
    assert run_python(plugin_root, code).strip() == "['echo_mod']"
    assert not (plugin_root / "marker").exists()


def test_unknown_provider_names_installed_ones(plugin_root: Path):
    """Asking for a missing provider lists what is installed."""
    code = (
        "from claif.plugins import find_plugin\n"
        "try:\n    find_plugin('nope')\n"
        "except Exception as e:\n    print(type(e).__name__, e)"
    )
    printed = run_python(plugin_root, code)
    assert printed.startswith("ConfigurationError")
    assert "echo" in printed
