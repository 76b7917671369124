"""Each provider's wheel installs alone with pip, outside the workspace, and works.

For the oldest and newest supported Python: a fresh venv per provider, pip
given that provider's wheel with only the core wheel beside it (third-party
dependencies come from the index), then ``pip check``, an import, the CLI's
``--help`` and one query against the provider's own fake backend.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from claif.testing import claif_home_env

pytestmark = pytest.mark.workspace

ROOT = Path(__file__).resolve().parents[1]
PROVIDERS = {
    "claif_myprovider": "claif-myp",
    "claif_gem": "claif-gem",
    "claif_cla": "claif-cla",
    "claif_cod": "claif-cod",
}
PYTHONS = ("3.10", "3.13")

# Run by the venv's Python: the provider's fake, its harness's reply, its CLI's answer.
SMOKE = """
import contextlib, os, subprocess, sys, tempfile
from pathlib import Path

name = sys.argv[1]
with contextlib.ExitStack() as stack, tempfile.TemporaryDirectory() as folder:
    if name == "claif_myprovider":
        from claif_myprovider.testing import FakeBackend, MyProviderHarness
        harness = MyProviderHarness(stack.enter_context(FakeBackend()))
    elif name == "claif_cla":
        from claif_cla.testing import ClaudeHarness, FakeAnthropic
        harness = ClaudeHarness(stack.enter_context(FakeAnthropic()))
    elif name == "claif_gem":
        from claif_gem.testing import FakeGemini, GeminiHarness
        harness = GeminiHarness(FakeGemini(Path(folder)))
    else:
        from claif_cod.testing import CodexHarness, FakeCodex
        harness = CodexHarness(FakeCodex(Path(folder)))
    harness.reply(["installed ", "alone"], model="m")
    env = {**os.environ, **harness.cli_environment()}
    done = subprocess.run([*harness.cli_command(), "query", "hi"], env=env,
                          capture_output=True, text=True, timeout=120)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    sys.exit(done.returncode)
"""


def interpreter(version: str) -> str | None:
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    found = sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"))
    return found[-1] if found else shutil.which(f"python{version}")


@pytest.fixture(scope="module")
def wheels(release, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every package's wheel, freshly built, each in a folder of its own."""
    out = tmp_path_factory.mktemp("wheels")
    found = {}
    for key in ("claif", *PROVIDERS):
        built = release.build(release.package(key))
        wheel = next(path for path in built if path.suffix == ".whl")
        (out / key).mkdir()
        found[key] = Path(shutil.copy(wheel, out / key))
    return found


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.parametrize("version", PYTHONS)
@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_the_wheel_installs_alone_and_works(provider, version, wheels, tmp_path):
    python = interpreter(version)
    if python is None:
        pytest.skip(f"Python {version} is not installed (pyenv or PATH)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE_", "VIRTUAL_ENV"))}
    env.update(PIP_CONFIG_FILE="/dev/null", NO_COLOR="1", **claif_home_env(tmp_path / "home"))
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
    venv = tmp_path / "venv"
    assert run([python, "-m", "venv", str(venv)], env).returncode == 0
    bin_dir = venv / "bin"
    pip = [str(bin_dir / "python"), "-m", "pip"]
    core = wheels["claif"].parent
    done = run([*pip, "install", "--quiet", "--find-links", str(core), str(wheels[provider])], env)
    assert done.returncode == 0, done.stderr[-2000:]
    listed = run([*pip, "list", "--format=freeze"], env).stdout
    assert "claif==2.1.0" in listed.splitlines()  # the core wheel beside it, not an older claif
    assert run([*pip, "check"], env).returncode == 0
    version_line = run(
        [str(bin_dir / "python"), "-c", f"import {provider}; print({provider}.__version__)"], env
    )
    assert version_line.stdout.strip() == "2.1.0", version_line.stderr
    helped = run([str(bin_dir / PROVIDERS[provider]), "--help"], env)
    assert helped.returncode == 0, helped.stderr
    assert "usage:" in helped.stdout
    smoke = tmp_path / "smoke.py"
    smoke.write_text(SMOKE, encoding="utf-8")
    answered = run([str(bin_dir / "python"), str(smoke), provider], env)
    assert answered.returncode == 0, answered.stderr[-2000:]
    assert answered.stdout == "installed alone\n"
