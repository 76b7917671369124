"""tools/release.py piece by piece: index names, the wheel checks, what is already
published, credentials, and the refusals and version bumps in a clone of the repo."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from claif.testing.http import Exchange, FakeHttpServer, HttpRequest

ROOT = Path(__file__).resolve().parents[1]


def clone(tmp_path: Path) -> Path:
    """A clean clone of this repo's HEAD (its own tree, so refusals touch nothing here)."""
    copy = tmp_path / "repo"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(copy)], check=True)
    return copy


def run_release(repo: Path, *args: str, env: dict[str, str] | None = None):
    """The script in ``repo``, never pointed at this test run's own environment."""
    drop = ("UV_PROJECT_ENVIRONMENT", "VIRTUAL_ENV", "COVERAGE_")
    env = {k: v for k, v in (env or os.environ).items() if not k.startswith(drop)}
    return subprocess.run(
        [sys.executable, str(repo / "tools" / "release.py"), *args],
        cwd=repo, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


class TestIndexes:
    def test_the_two_named_indexes_come_from_twines_builtin_list(self, release):
        from twine import utils

        test = release.index_for("testpypi")
        assert test.upload == utils.TEST_REPOSITORY
        assert test.simple.endswith("/simple/")
        assert "upload." not in test.simple
        assert release.index_for("pypi").upload == utils.DEFAULT_REPOSITORY

    def test_any_other_index_is_a_url(self, release):
        index = release.index_for("http://127.0.0.1:8080")
        assert (index.upload, index.simple) == (
            "http://127.0.0.1:8080/",
            "http://127.0.0.1:8080/simple/",
        )
        with pytest.raises(release.ReleaseError, match="testpypi, pypi or an http"):
            release.index_for("warehouse")

    def test_credentials_come_from_the_environment_only(self, release, monkeypatch):
        for name in ("UV_PUBLISH_TOKEN", "UV_PUBLISH_USERNAME", "UV_PUBLISH_PASSWORD"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv("TWINE_USERNAME", raising=False)
        monkeypatch.delenv("TWINE_PASSWORD", raising=False)
        with pytest.raises(release.ReleaseError, match="UV_PUBLISH_TOKEN"):
            release.credentials(release.index_for("testpypi"))
        monkeypatch.setenv("TWINE_USERNAME", "__token__")
        monkeypatch.setenv("TWINE_PASSWORD", "pypi-abc")
        env = release.credentials(release.index_for("pypi"))
        assert (env["UV_PUBLISH_USERNAME"], env["UV_PUBLISH_PASSWORD"]) == ("__token__", "pypi-abc")


@pytest.fixture(scope="module")
def built_cod(release) -> list[Path]:
    pkg = release.package("claif_cod")
    return release.build(pkg)


class TestChecks:
    def test_a_real_build_passes(self, release, built_cod):
        release.check(release.package("claif_cod"), built_cod)

    @pytest.mark.parametrize(
        ("dropped", "named"),
        [
            ("claif_cod/py.typed", "py.typed"),
            ("licenses/LICENSE", "LICENSE"),
            ("entry_points.txt", "console script"),
        ],
    )
    def test_a_wheel_missing_a_part_is_refused(self, release, built_cod, tmp_path, dropped, named):
        wheel = next(path for path in built_cod if path.suffix == ".whl")
        doctored = tmp_path / wheel.name
        with zipfile.ZipFile(wheel) as source, zipfile.ZipFile(doctored, "w") as target:
            for item in source.infolist():
                if not item.filename.endswith(dropped):
                    target.writestr(item, source.read(item))
        sdist = next(path for path in built_cod if path.suffix != ".whl")
        with pytest.raises(release.ReleaseError, match=named):
            release.check(release.package("claif_cod"), [doctored, sdist])

    def test_the_core_range_must_be_explicit(self, release):
        assert release._explicit_core_range("claif<3,>=2.1")
        assert release._explicit_core_range("claif (>=2.1, <3)")
        assert not release._explicit_core_range("claif>=2.1")
        assert not release._explicit_core_range("claif")
        assert not release._explicit_core_range("claif<3,>=1.0")


class TestAlreadyPublished:
    @staticmethod
    def index_listing(files: dict[str, str]):
        links = "".join(f'<a href="/packages/{n}#sha256={d}">{n}</a><br>' for n, d in files.items())
        body = f"<html><body>{links}</body></html>".encode()

        def answer(request: HttpRequest) -> Exchange:
            if request.path != "/simple/claif-cod/" or not files:
                return Exchange(404, [("Content-Length", "0")], [b""])
            return Exchange(200, [("Content-Length", str(len(body)))], [body])

        return answer

    def digests(self, files: list[Path]) -> dict[str, str]:
        return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in files}

    def test_nothing_there_means_everything_goes_up(self, release, built_cod):
        with FakeHttpServer(self.index_listing({})) as server:
            index = release.index_for(server.url)
            assert release.to_upload(index, release.package("claif_cod"), built_cod) == built_cod

    def test_identical_files_are_skipped(self, release, built_cod):
        with FakeHttpServer(self.index_listing(self.digests(built_cod))) as server:
            index = release.index_for(server.url)
            assert release.to_upload(index, release.package("claif_cod"), built_cod) == []

    def test_different_files_of_the_same_version_refuse_everything(self, release, built_cod):
        listed = self.digests(built_cod)
        wheel = next(path.name for path in built_cod if path.suffix == ".whl")
        listed[wheel] = "0" * 64
        with FakeHttpServer(self.index_listing(listed)) as server:
            index = release.index_for(server.url)
            with pytest.raises(release.ReleaseError, match=r"other contents.*nothing was uploaded"):
                release.to_upload(index, release.package("claif_cod"), built_cod)


class TestInAClone:
    """Refusals and bumps run the real script in a clone of HEAD."""

    def test_a_dirty_tree_is_refused_before_anything_runs(self, tmp_path):
        repo = clone(tmp_path)
        readme = repo / "packages" / "claif_cod" / "README.md"
        readme.write_text(readme.read_text() + "\nlocal edit\n")
        env = {**os.environ, "UV_PUBLISH_TOKEN": "unused"}
        done = run_release(repo, "publish", "claif_cod", "http://127.0.0.1:9/", env=env)
        assert done.returncode == 1
        assert "uncommitted changes (packages/claif_cod/README.md)" in done.stderr
        assert not (repo / "dist").exists()

    def test_an_unknown_package_or_part_is_named(self, tmp_path):
        done = run_release(ROOT, "publish", "claif_nope")
        assert done.returncode == 1
        assert "no package 'claif_nope'; the packages are: claif, claif_cla" in done.stderr
        done = run_release(ROOT, "bump", "claif_gem", "huge")
        assert done.returncode == 1
        assert "PART must be one of major, minor, patch" in done.stderr
        assert run_release(ROOT).returncode == 2

    @pytest.mark.workspace
    def test_a_package_whose_tests_fail_is_not_uploaded(self, tmp_path):
        """The tests run after the cheap checks and before any upload."""
        repo = clone(tmp_path)
        failing = repo / "packages" / "claif_cod" / "tests" / "test_aaa_broken.py"
        failing.write_text("def test_broken():\n    assert False, 'broken on purpose'\n")
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE_", "VIRTUAL_ENV"))
        }
        env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@invalid", GIT_COMMITTER_NAME="t",
                   GIT_COMMITTER_EMAIL="t@invalid")  # fmt: skip
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
        subprocess.run(["git", "commit", "-qm", "a broken test"], cwd=repo, env=env, check=True)
        uploads: list[str] = []

        def index(request: HttpRequest) -> Exchange:
            if request.method == "POST":
                uploads.append(request.path)
            return Exchange(404, [("Content-Length", "0")], [b""])

        with FakeHttpServer(index) as server:
            done = run_release(repo, "publish", "claif_cod", server.url, env=env)
        assert done.returncode == 1
        assert "claif_cod's tests fail, so it is not published" in done.stderr
        assert uploads == []

    @pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
    def test_bump_changes_the_version_everywhere_and_the_lock(self, tmp_path):
        repo = clone(tmp_path)
        done = run_release(repo, "bump", "claif_gem", "minor")
        assert done.returncode == 0, done.stderr
        assert 'version = "2.2.0"' in (repo / "packages/claif_gem/pyproject.toml").read_text()
        init = (repo / "packages/claif_gem/src/claif_gem/__init__.py").read_text()
        assert '__version__ = "2.2.0"' in init
        lock = (repo / "uv.lock").read_text()
        assert 'name = "claif-gem"\nversion = "2.2.0"' in lock
        changed = subprocess.run(
            ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout
        assert sorted(line[3:] for line in changed.splitlines()) == [
            "packages/claif_gem/pyproject.toml",
            "packages/claif_gem/src/claif_gem/__init__.py",
            "uv.lock",
        ]
