"""The real `make publish`, end to end, into a package index on 127.0.0.1.

pypiserver serves a folder on a free port (uploads open, no fallback to the
public index). In a clean clone of this repo, `make publish PKG=... INDEX=<url>`
runs for every package, core first: its refusals, build, checks, the
package's own tests, the upload and its proof. Then each provider installs
from that index alone into a fresh venv and its CLI runs. Publishing a
version again skips identical files and refuses different ones. The server
is stopped at the end, also when a test fails.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.workspace

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("claif", "claif_myprovider", "claif_gem", "claif_cla", "claif_cod")
SCRIPTS = {
    "claif-myprovider": "claif-myp",
    "claif-gem": "claif-gem",
    "claif-cla": "claif-cla",
    "claif-cod": "claif-cod",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A running pypiserver: its URL and the folder it stores uploads in."""
    folder = tmp_path_factory.mktemp("index")
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("pypi-server")), "run", "-i", "127.0.0.1",
         "-p", str(port), "-a", ".", "-P", ".", "--disable-fallback", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("pypiserver did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/", folder
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr is not None:
            server.stderr.close()


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("clone") / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(copy)], check=True)
    return copy


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    """The caller's environment without this test run's venv, coverage or credentials."""
    drop = ("COVERAGE_", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_PUBLISH_", "TWINE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PATH"] = os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if ".venv" not in p)
    env.update(
        PIP_CONFIG_FILE="/dev/null",  # this machine's pip config adds indexes of its own
        GIT_AUTHOR_NAME="claif tests", GIT_AUTHOR_EMAIL="tests@invalid",
        GIT_COMMITTER_NAME="claif tests", GIT_COMMITTER_EMAIL="tests@invalid",
    )  # fmt: skip
    return env


def make(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args], cwd=repo, env=env,
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip


def stored(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_every_package_publishes_and_each_provider_installs_from_the_index_alone(
    index, repo, env, tmp_path
):
    url, folder = index
    for key in ORDER:
        done = make(repo, env, "publish", f"PKG={key}", f"INDEX={url}")
        assert done.returncode == 0, f"{key}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        assert f"published {key}-2.1.0-py3-none-any.whl, {key}-2.1.0.tar.gz" in done.stdout
        assert "installs from" in done.stdout  # the upload was proved by a fresh install
    assert len(stored(folder)) == 2 * len(ORDER)  # a wheel and an sdist each

    for distribution, script in SCRIPTS.items():
        venv = tmp_path / distribution
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=env)
        install = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
             "--extra-index-url", f"{url}simple/", f"{distribution}==2.1.0"],
            env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert install.returncode == 0, install.stderr[-2000:]
        helped = subprocess.run(
            [str(venv / "bin" / script), "--help"], env=env, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        assert helped.returncode == 0, helped.stderr
        assert "usage:" in helped.stdout


def test_the_same_version_again_skips_identical_files_and_refuses_different_ones(index, repo, env):
    url, folder = index
    before = stored(folder)
    again = make(repo, env, "publish", "PKG=claif_myprovider", f"INDEX={url}")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "identical: nothing to upload" in again.stdout
    assert stored(folder) == before

    readme = repo / "packages" / "claif_myprovider" / "README.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nA change after 2.1.0.\n")
    subprocess.run(["git", "commit", "-qam", "change without a new version"], cwd=repo,
                   env=env, check=True)  # fmt: skip
    changed = make(repo, env, "publish", "PKG=claif_myprovider", f"INDEX={url}")
    assert changed.returncode != 0
    assert "already on" in changed.stderr
    assert "other contents" in changed.stderr
    assert "make bump PKG=claif_myprovider PART=patch" in changed.stderr
    assert stored(folder) == before  # nothing half-published
