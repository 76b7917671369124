"""What the provider hands the CLI besides argv: its retry defaults and its environment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from claif_gem import GeminiProvider
from claif_gem.testing import FakeGemini
from claif_gem.transport import private_folder

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder with no shared ancestor, as the CLI demands of its system files."""
    cache = Path.home() / ".cache" / "claif-tests" / tmp_path.name
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    if private_folder() is None:
        pytest.skip(f"{cache} has an ancestor others can write to")
    yield
    shutil.rmtree(cache, ignore_errors=True)


async def defaults_seen(fake: FakeGemini, **settings) -> tuple[dict, Path, GeminiProvider]:
    """Run one query; the defaults file the CLI was pointed at, and the provider."""
    provider = GeminiProvider(cli_path=str(fake.path), **settings)
    _ = [m async for m in provider.query("hi")]
    path = Path(fake.calls()[-1].env["GEMINI_CLI_SYSTEM_DEFAULTS_PATH"])
    return read_json(path), path, provider


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


async def test_no_defaults_file_where_the_cli_would_skip_it(
    fake: FakeGemini, tmp_path, monkeypatch
):
    """Under a folder others can write to (here /tmp), no file is written and none named."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "shared"))
    (tmp_path / "shared").mkdir(mode=0o777)
    (tmp_path / "shared").chmod(0o777)
    provider = GeminiProvider(cli_path=str(fake.path))
    _ = [m async for m in provider.query("hi")]
    assert "GEMINI_CLI_SYSTEM_DEFAULTS_PATH" not in fake.calls()[0].env


async def test_the_clis_own_retries_are_turned_off(fake: FakeGemini):
    """general.maxAttempts is 1 in a private defaults file, removed on disconnect."""
    defaults, path, provider = await defaults_seen(fake)
    assert defaults == {"general": {"maxAttempts": 1}}
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    await provider.disconnect()
    assert not path.exists()


async def test_existing_defaults_are_kept_and_a_users_choice_wins(fake: FakeGemini, tmp_path):
    """Someone's own defaults file is merged, and their maxAttempts left alone."""
    own = tmp_path / "own.json"
    own.write_text(json.dumps({"general": {"maxAttempts": 4}, "ui": {"theme": "x"}}))
    defaults, _, provider = await defaults_seen(
        fake, extra_env={"GEMINI_CLI_SYSTEM_DEFAULTS_PATH": str(own)}
    )
    assert defaults == {"general": {"maxAttempts": 4}, "ui": {"theme": "x"}}
    await provider.disconnect()
    own.write_text(json.dumps({"ui": {}}))
    defaults, _, provider = await defaults_seen(
        fake, extra_env={"GEMINI_CLI_SYSTEM_DEFAULTS_PATH": str(own)}, cli_max_attempts=3
    )
    assert defaults == {"ui": {}, "general": {"maxAttempts": 3}}
    await provider.disconnect()


async def test_an_unreadable_defaults_file_is_left_to_the_cli(fake: FakeGemini, tmp_path):
    """A broken defaults file is not replaced: the CLI reports it in its own words."""
    own = tmp_path / "own.json"
    own.write_text("{broken")
    provider = GeminiProvider(
        cli_path=str(fake.path), extra_env={"GEMINI_CLI_SYSTEM_DEFAULTS_PATH": str(own)}
    )
    _ = [m async for m in provider.query("hi")]
    assert fake.calls()[0].env["GEMINI_CLI_SYSTEM_DEFAULTS_PATH"] == str(own)
