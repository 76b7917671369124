"""Build, check, publish and version the workspace's packages, one at a time.

    python tools/release.py build [PKG ...]          each package into dist/<PKG>/
    python tools/release.py check PKG                build it, then check what was built
    python tools/release.py publish PKG [INDEX]      refuse, build, check, test, upload, prove
    python tools/release.py bump PKG PART            patch | minor | major, and the lock

PKG is a package's folder name (``claif`` for ``shared/``). INDEX is
``testpypi`` (the default: TestPyPI first), ``pypi``, or the URL of any other
index (its upload endpoint; the simple index is taken to be beside it at
``/simple/``). The two named ones come from twine's built-in repository list,
so this repo names no index host. Credentials come from the environment only:
``UV_PUBLISH_TOKEN``, or ``UV_PUBLISH_USERNAME`` and ``UV_PUBLISH_PASSWORD``
(``TWINE_USERNAME`` / ``TWINE_PASSWORD`` are accepted too).

Every failure is one line on stderr and exit status 1; nothing is uploaded
unless every file can be, so a release is never half-published.
"""

from __future__ import annotations

import hashlib
import html.parser
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the workspace runs on 3.11; kept for running it by hand
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
# uv as the Makefile found it (on PATH, or the module pip installed), else the same search.
UV = shlex.split(os.environ.get("UV", "")) or (
    ["uv"] if shutil.which("uv") else [shutil.which("python3") or "python3", "-m", "uv"]
)
CORE = "claif"
PARTS = ("major", "minor", "patch")
PROVE_ATTEMPTS = 6  # an index may take a while to list a fresh upload (TestPyPI does)


class ReleaseError(Exception):
    """What went wrong, said in one line; nothing after it was done."""


@dataclass(frozen=True)
class Package:
    """One distribution of the workspace."""

    key: str  # the folder name, as given on the command line
    folder: Path
    distribution: str
    version: str
    import_name: str

    @property
    def tests(self) -> Path:
        return self.folder / "tests"

    @property
    def out(self) -> Path:
        return DIST / self.key

    @property
    def is_provider(self) -> bool:
        return self.key != CORE


def packages() -> dict[str, Package]:
    """Every package of the workspace, by folder name (core as ``claif``)."""
    found = {}
    for folder in [ROOT / "shared", *sorted((ROOT / "packages").iterdir())]:
        pyproject = folder / "pyproject.toml"
        if not pyproject.is_file():
            continue
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        import_name = next(p.name for p in (folder / "src").iterdir() if p.is_dir())
        key = CORE if folder.name == "shared" else folder.name
        found[key] = Package(key, folder, project["name"], project["version"], import_name)
    return found


def package(key: str) -> Package:
    known = packages()
    if key == "shared":
        key = CORE
    if key not in known:
        raise ReleaseError(f"no package {key!r}; the packages are: {', '.join(known)}")
    return known[key]


def run(argv: Sequence[str | os.PathLike[str]], **options: object) -> None:
    """Run a command from the repo root, its output shown; a failure is a ReleaseError."""
    words = [os.fspath(word) for word in argv]
    done = subprocess.run(words, cwd=ROOT, check=False, **options)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise ReleaseError(f"`{' '.join(words)}` failed (exit {done.returncode})")


# -- build and check -------------------------------------------------------------------------


def build(pkg: Package) -> list[Path]:
    """The package's wheel and sdist, alone in ``dist/<PKG>/`` (cleared first)."""
    run(
        [
            *UV,
            "build",
            "--package",
            pkg.distribution,
            "--no-sources",
            "--out-dir",
            pkg.out,
            "--clear",
            "--quiet",
        ]
    )
    files = sorted(pkg.out.glob("*.whl")) + sorted(pkg.out.glob("*.tar.gz"))
    if len(files) != 2:
        raise ReleaseError(
            f"building {pkg.key} gave {[f.name for f in files]}, not a wheel and an sdist"
        )
    return files


def check(pkg: Package, files: Sequence[Path]) -> None:
    """What was built is what a user should get: see each check's message."""
    wheel = next(f for f in files if f.suffix == ".whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = (
            archive.read(f"{info}/entry_points.txt").decode()
            if f"{info}/entry_points.txt" in names
            else ""
        )
    problems = []
    if f"{pkg.import_name}/py.typed" not in names:
        problems.append(f"no {pkg.import_name}/py.typed")
    if not any(n.startswith(f"{info}/licenses/") and n.endswith("LICENSE") for n in names):
        problems.append("no LICENSE in the wheel's dist-info/licenses")
    if "[console_scripts]" not in entry_points:
        problems.append("no console script")
    if pkg.is_provider and "[claif.providers]" not in entry_points:
        problems.append("no claif.providers entry point")
    version = _field(metadata, "Version")
    if version != pkg.version:
        problems.append(f"version {version} is not the pyproject's {pkg.version}")
    if pkg.is_provider:
        requires = [
            line[len("Requires-Dist: ") :]
            for line in metadata.splitlines()
            if line.startswith("Requires-Dist: claif")
        ]
        if not any(_explicit_core_range(r) for r in requires):
            problems.append(f"its claif dependency {requires} is not an explicit >=2.x,<3 range")
    if (
        _field(metadata, "Description-Content-Type") != "text/markdown"
        or len(metadata.split("\n\n", 1)[-1].strip()) < 200
    ):
        problems.append("no README as its description")
    if problems:
        raise ReleaseError(f"{wheel.name}: " + "; ".join(problems))
    # This script runs in the workspace's environment (`uv run`), which has twine: no
    # nested `uv run`, which could re-sync an environment a caller is using.
    run([sys.executable, "-m", "twine", "check", "--strict", *files], stdout=subprocess.DEVNULL)
    print(f"checked {', '.join(f.name for f in files)}")


def _explicit_core_range(requirement: str) -> bool:
    """``claif>=2.N,<3`` in any spelling: a floor in this major and a ceiling below the next."""
    from packaging.requirements import Requirement

    parsed = Requirement(requirement)
    operators = {(spec.operator, spec.version) for spec in parsed.specifier}
    floor = any(op in (">=", "~=") and version.startswith("2.") for op, version in operators)
    return parsed.name == CORE and floor and ("<", "3") in operators


def _field(metadata: str, name: str) -> str | None:
    for line in metadata.splitlines():
        if not line:
            break
        if line.startswith(f"{name}: "):
            return line[len(name) + 2 :]
    return None


# -- indexes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    name: str
    upload: str
    simple: str


def index_for(given: str) -> Index:
    """``testpypi``, ``pypi`` (twine's built-in names) or an index's upload URL."""
    if given in ("pypi", "testpypi"):
        from twine import utils

        upload = utils.TEST_REPOSITORY if given == "testpypi" else utils.DEFAULT_REPOSITORY
        # Warehouse serves uploads at upload.<host>/legacy/ and the index at <host>/simple/.
        simple = re.sub(r"//upload\.", "//", upload).replace("/legacy/", "/simple/")
        return Index(given, upload, simple)
    if not re.match(r"^https?://[^/\s]+", given):
        raise ReleaseError(f"INDEX must be testpypi, pypi or an http(s) URL, not {given!r}")
    upload = given if given.endswith("/") else given + "/"
    return Index(given, upload, upload + "simple/")


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            path, _, fragment = href.partition("#")
            digest = fragment[len("sha256=") :] if fragment.startswith("sha256=") else None
            self.files[path.rsplit("/", 1)[-1]] = digest


def published(index: Index, distribution: str) -> dict[str, str | None]:
    """Files of ``distribution`` the index lists, with their sha256 when it says."""
    name = re.sub(r"[-_.]+", "-", distribution).lower()
    try:
        with urllib.request.urlopen(f"{index.simple}{name}/", timeout=60) as answer:
            page = answer.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return {}
        raise ReleaseError(f"{index.simple}{name}/ answered {error.code}") from error
    except (urllib.error.URLError, OSError) as error:
        raise ReleaseError(f"cannot reach {index.simple}: {error}") from error
    links = _Links()
    links.feed(page)
    return links.files


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def to_upload(index: Index, pkg: Package, files: Sequence[Path]) -> list[Path]:
    """The files the index lacks; refuses when it holds any of them with other contents."""
    there = published(index, pkg.distribution)
    missing, differing = [], []
    for path in files:
        if path.name not in there:
            missing.append(path)
        elif there[path.name] not in (None, _sha256(path)):
            differing.append(path.name)
    if differing:
        raise ReleaseError(
            f"{pkg.distribution} {pkg.version} is already on {index.name} with other contents "
            f"({', '.join(differing)}); nothing was uploaded. Release a new version: "
            f"make bump PKG={pkg.key} PART=patch"
        )
    return missing


def credentials(index: Index) -> dict[str, str]:
    """The environment for ``uv publish``: its own variables, or twine's mapped onto them."""
    env = dict(os.environ)
    if "TWINE_USERNAME" in env and "UV_PUBLISH_USERNAME" not in env:
        env["UV_PUBLISH_USERNAME"] = env["TWINE_USERNAME"]
    if "TWINE_PASSWORD" in env and "UV_PUBLISH_PASSWORD" not in env:
        env["UV_PUBLISH_PASSWORD"] = env["TWINE_PASSWORD"]
    given = env.get("UV_PUBLISH_TOKEN") or (
        env.get("UV_PUBLISH_USERNAME") and env.get("UV_PUBLISH_PASSWORD")
    )
    if index.name in ("pypi", "testpypi") and not given:
        raise ReleaseError(
            f"no credentials for {index.name}: set UV_PUBLISH_TOKEN (an API token), or "
            "UV_PUBLISH_USERNAME and UV_PUBLISH_PASSWORD"
        )
    if not given:  # an index without authentication (a local one) still wants a user name
        env.setdefault("UV_PUBLISH_USERNAME", "claif")
        env.setdefault("UV_PUBLISH_PASSWORD", "unused")
    return env


# -- publish ---------------------------------------------------------------------------------


def clean_tree() -> None:
    status = subprocess.run(
        ["git", "status", "--porcelain"],  # untracked files too: they would be built in
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if status.returncode != 0:
        raise ReleaseError("not a git checkout: a release is built from a commit")
    if status.stdout.strip():
        changed = ", ".join(line[3:] for line in status.stdout.splitlines()[:5])
        raise ReleaseError(
            f"the tree has uncommitted changes ({changed}); commit, stash or remove them first"
        )


def test(pkg: Package) -> None:
    print(f"testing {pkg.key} ({pkg.tests.relative_to(ROOT)})")
    try:
        run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", pkg.tests])
    except ReleaseError as error:
        raise ReleaseError(f"{pkg.key}'s tests fail, so it is not published ({error})") from error


def prove(index: Index, pkg: Package, scripts: Sequence[str]) -> None:
    """Install exactly this version from the index into a fresh venv and run its CLI's help.

    The index is an extra one beside pip's default, which supplies third-party
    dependencies; the pinned version is found only where it was published.
    """
    with tempfile.TemporaryDirectory(prefix="claif-prove-") as folder:
        venv = Path(folder) / "venv"
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        pip = [
            venv / "bin" / "python",
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-cache-dir",
            "--extra-index-url",
            index.simple,
            f"{pkg.distribution}=={pkg.version}",
        ]
        for attempt in range(PROVE_ATTEMPTS):
            done = subprocess.run(
                [os.fspath(w) for w in pip], capture_output=True, text=True, check=False
            )
            if done.returncode == 0:
                break
            time.sleep(2**attempt)
        else:
            raise ReleaseError(
                f"{pkg.distribution}=={pkg.version} was uploaded but does not install from "
                f"{index.simple}: {done.stderr.strip()[-500:]}"
            )
        for script in scripts:
            run([venv / "bin" / script, "--help"], stdout=subprocess.DEVNULL)
    print(f"proved: {pkg.distribution}=={pkg.version} installs from {index.name} and its CLI runs")


def console_scripts(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        text = archive.read(name).decode()
    section = text.split("[console_scripts]", 1)[1].split("[", 1)[0]
    return [line.split("=")[0].strip() for line in section.splitlines() if "=" in line]


def publish(pkg: Package, given_index: str) -> None:
    """Cheap refusals first (tree, build, checks, the index's copy), then the tests,
    the upload of what the index lacks, and the proof that it installs."""
    index = index_for(given_index)
    env = credentials(index)
    clean_tree()
    files = build(pkg)
    check(pkg, files)
    missing = to_upload(index, pkg, files)
    if missing:
        test(pkg)
        run([*UV, "publish", "--publish-url", index.upload, "--check-url", index.simple, *missing],
            env=env)  # fmt: skip
        print(f"published {', '.join(f.name for f in missing)} to {index.name}")
    else:
        print(
            f"{pkg.distribution} {pkg.version} is already on {index.name}, identical: "
            "nothing to upload"
        )
    prove(index, pkg, console_scripts(files[0]))


# -- versions --------------------------------------------------------------------------------


def bump(pkg: Package, part: str) -> str:
    """The next version in the pyproject and ``__version__``, then the lock; returns it."""
    if part not in PARTS:
        raise ReleaseError(f"PART must be one of {', '.join(PARTS)}, not {part!r}")
    numbers = [int(n) for n in re.findall(r"\d+", pkg.version)[:3]]
    index = PARTS.index(part)
    numbers = [*numbers[:index], numbers[index] + 1] + [0] * (2 - index)
    new = ".".join(map(str, numbers))
    _replace(
        pkg.folder / "pyproject.toml",
        rf'(?m)^version = "{re.escape(pkg.version)}"$',
        f'version = "{new}"',
    )
    _replace(
        pkg.folder / "src" / pkg.import_name / "__init__.py",
        rf'(?m)^__version__ = "{re.escape(pkg.version)}"$',
        f'__version__ = "{new}"',
    )
    run([*UV, "lock", "--quiet"])
    print(f"{pkg.distribution} {pkg.version} -> {new} (pyproject, __version__, uv.lock)")
    return new


def _replace(path: Path, pattern: str, replacement: str) -> None:
    text = path.read_text(encoding="utf-8")
    changed, count = re.subn(pattern, replacement, text, count=1)
    if count != 1:
        raise ReleaseError(f"{path.relative_to(ROOT)} does not hold the version where expected")
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(changed, encoding="utf-8")
    temporary.replace(path)


# -- command line ----------------------------------------------------------------------------

USAGE = __doc__.split("\n\n")[1] if __doc__ else ""


def main(argv: Sequence[str]) -> int:
    try:
        match list(argv):
            case ["build", *keys]:
                for pkg in [package(k) for k in keys] or list(packages().values()):
                    print(f"built {', '.join(f.name for f in build(pkg))} in dist/{pkg.key}/")
            case ["check", key]:
                pkg = package(key)
                check(pkg, build(pkg))
            case ["publish", key]:
                publish(package(key), "testpypi")
            case ["publish", key, given]:
                publish(package(key), given)
            case ["bump", key, part]:
                bump(package(key), part)
            case _:
                print(f"usage:\n{USAGE}", file=sys.stderr)
                return 2
    except ReleaseError as error:
        print(f"release: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
