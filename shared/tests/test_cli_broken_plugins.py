"""Broken plugins, installed next to a working one: each is one line, the rest still work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .plugin_fixtures import add_echo_plugin, add_plugin, env_with

CLAIF = str(Path(sys.executable).parent / "claif")

# name -> (module source, entry-point attribute, what the one line must say)
BROKEN = {
    "notaclass": ("def Provider():\n    return None\n", "Provider", "is a function"),
    "plainclass": ("class Provider:\n    name = 'plainclass'\n", "Provider", "BaseProvider"),
    "crashes": (
        "from claif.testing import MockProvider\n"
        "class Provider(MockProvider):\n"
        "    name = 'crashes'\n"
        "    def __init__(self):\n"
        "        raise RuntimeError('no frobnicator')\n",
        "Provider",
        "failed to start: RuntimeError: no frobnicator",
    ),
    "badcaps": (
        "from claif.testing import MockProvider\n"
        "class Provider(MockProvider):\n"
        "    name = 'badcaps'\n"
        "    capabilities = 42\n",
        "Provider",
        "declares bad capabilities",
    ),
    "exits": ("import sys\nsys.exit(0)\n", "Provider", "sys.exit(0)"),
    "raises": ("raise ImportError('needs the frobnicator SDK')\n", "Provider", "frobnicator SDK"),
}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("site")
    add_echo_plugin(root)
    for name, (source, attr, _) in BROKEN.items():
        add_plugin(
            root,
            name=name,
            module=f"{name}_mod",
            source=source,
            distribution=f"claif-{name}",
            version="0.1.0",
            attr=attr,
        )
    home = root.parent
    return env_with(
        root,
        CLAIF_CONFIG=str(home / "config.toml"),
        CLAIF_SESSIONS_DIR=str(home / "sessions"),
        CLAIF_KEYS=str(home / "keys.json"),
    )


def claif(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLAIF, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_choosing_a_broken_plugin_is_one_line_exit_2(env, name):
    """`claif query -p BROKEN hi`: exit 2, one line naming the distribution and the reason."""
    done = claif("query", "-p", name, "hi", env=env)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"claif-{name} 0.1.0" in lines[0]
    assert BROKEN[name][2] in lines[0]


def test_the_working_provider_still_answers(env):
    """Broken neighbours do not stop `claif query -p echo`."""
    done = claif("query", "-p", "echo", "hello there", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello there\n"


def test_capabilities_listing_marks_each_broken_plugin(env):
    """`claif providers --capabilities` lists every plugin; broken ones say why, in their row.

    A class-level declaration is read without building the provider, so the one
    whose constructor crashes still shows its capabilities here.
    """
    done = claif("providers", "--capabilities", env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    rows = {line.split("\t")[0]: line for line in done.stdout.splitlines()}
    assert "streaming" in rows["echo"]
    assert "streaming" in rows["crashes"]
    for name, (_, _, reason) in BROKEN.items():
        if name == "crashes":
            continue
        assert f"unavailable: claif-{name} 0.1.0" in rows[name]
        assert reason in rows[name]


def test_health_checks_every_plugin_past_the_broken_ones(env):
    """`claif health` reports each broken plugin as failing, checks the rest, exits 1."""
    done = claif("health", env=env)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stdout.splitlines()
    assert "echo: ok" in lines[0] or any(line.startswith("echo: ok") for line in lines)
    for name in BROKEN:
        assert any(line.startswith(f"{name}: failing claif-{name}") for line in lines), lines
