"""GeminiProvider against the real Gemini CLI (npm, pinned), offline through --fake-responses.

`make vendor-clis` installs @google/gemini-cli into .vendor/ (``make test`` does
it first when npm is present). The CLI then replays model replies from a JSONL
file we write, with a dummy key, a throwaway home and a trusted workspace: no
network. Without the install these tests skip and say why.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from claif.common.errors import AuthenticationError, ProviderError, RateLimitError
from claif.common.options import ClaifOptions
from claif.testing.http import Exchange, FakeHttpServer, HttpRequest
from claif_gem import GeminiProvider
from claif_gem.transport import private_folder

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[3]
REAL_GEMINI = Path(
    os.environ.get("CLAIF_REAL_GEMINI", ROOT / ".vendor/gemini-cli/node_modules/.bin/gemini")
)
SETTINGS = {
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "tools": {"useRipgrep": False},
}
ONCE = ClaifOptions(max_retries=0, timeout=60)
MODEL = "gemini-2.5-flash"

if not REAL_GEMINI.exists():
    pytest.skip(
        f"the real Gemini CLI is not installed at {REAL_GEMINI} "
        "(`make vendor-clis` installs it with npm; without npm it cannot be)",
        allow_module_level=True,
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def chunk(text: str, *, last: bool = False, usage: tuple[int, int] = (0, 0)) -> dict:
    """One GenerateContentResponse chunk as the API streams it."""
    candidate: dict = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
    response: dict = {"candidates": [candidate]}
    if last:
        candidate["finishReason"] = "STOP"
        prompt, answer = usage
        response["usageMetadata"] = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": answer,
            "totalTokenCount": prompt + answer,
        }
    return response


@pytest.fixture
def make_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A provider running the real CLI on a reply script, in a throwaway home and workspace.

    The retry defaults file goes to the real user cache: the CLI ignores one under /tmp.
    """
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))
    workspace = tmp_path / "workspace"
    workspace.mkdir()

    def make(
        *replies: list[dict], key: str | None = "dummy-key", api_url: str | None = None
    ) -> GeminiProvider:
        env = {"HOME": str(home), "GEMINI_CLI_TRUST_WORKSPACE": "true", "NO_COLOR": "1"}
        env["GEMINI_API_KEY"] = key or ""
        extra_args = ""
        if api_url is None:  # replies from a script; else from a local HTTP server
            script = tmp_path / "responses.jsonl"
            lines = [
                json.dumps({"method": "generateContentStream", "response": r}) for r in replies
            ]
            script.write_text("\n".join(lines) + "\n")
            extra_args = f"--fake-responses {script}"
        else:
            env["GOOGLE_GEMINI_BASE_URL"] = api_url
        return GeminiProvider(
            cli_path=str(REAL_GEMINI),
            model=MODEL,  # a named model: the CLI's default routes through an extra classifier call
            cwd=str(workspace),
            extra_args=extra_args,
            extra_env=env,
        )

    return make


async def test_text_and_usage_stream_from_the_real_cli(make_provider):
    """Two chunks arrive as text; the result's stats become usage; init gives the session."""
    provider = make_provider([chunk("Hello "), chunk("from Gemini.", last=True, usage=(12, 5))])
    messages = [m async for m in provider.query("Say hello", ONCE)]
    assert "".join(m.text for m in messages) == "Hello from Gemini."
    last = messages[-1].metadata
    assert last["usage"]["input_tokens"] == 12
    assert last["usage"]["output_tokens"] == 5
    assert last["finish_reason"] == "stop"
    assert last["native_session_id"]
    assert last["model"] == MODEL


async def test_a_long_prompt_goes_through(make_provider):
    """300 KB on standard input, beyond one argv string's limit: answered normally."""
    provider = make_provider([chunk("Read it all.", last=True, usage=(75000, 3))])
    messages = [m async for m in provider.query("word " * 60_000, ONCE)]
    assert "".join(m.text for m in messages) == "Read it all."


async def test_no_key_is_an_authentication_error(make_provider):
    """Without GEMINI_API_KEY the CLI exits 41: AuthenticationError quoting its words."""
    provider = make_provider([chunk("never", last=True)], key=None)
    with pytest.raises(AuthenticationError, match="GEMINI_API_KEY"):
        _ = [m async for m in provider.query("hi", ONCE)]


async def test_a_claif_session_resumes_the_clis_session(make_provider, tmp_path, monkeypatch):
    """The second turn of a claif session runs `--resume` with the CLI's own session id."""
    monkeypatch.setenv("CLAIF_SESSIONS_DIR", str(tmp_path / "sessions"))
    provider = make_provider([chunk("First answer.", last=True, usage=(10, 2))])
    options = ONCE.replace(session_id="real-gemini")
    first = [m async for m in provider.query("first question", options)]
    second = [m async for m in provider.query("second question", options)]
    session = first[-1].metadata["native_session_id"]
    assert second[-1].metadata["native_session_id"] == session
    assert "".join(m.text for m in second) == "First answer."


async def test_a_429_is_a_rate_limit_at_once_not_after_the_clis_own_retries(make_provider):
    """The API answers 429: RateLimitError within seconds (the CLI alone would retry ~220 s)."""
    if private_folder() is None:
        pytest.skip("the user cache folder has a shared ancestor: the CLI would skip its defaults")
    body = json.dumps(
        {"error": {"code": 429, "message": "Resource exhausted", "status": "RESOURCE_EXHAUSTED"}}
    ).encode()

    def answer(request: HttpRequest) -> Exchange:
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        return Exchange(429, headers, [body])

    with FakeHttpServer(answer) as server:
        provider = make_provider(api_url=server.url)
        started = time.monotonic()
        with pytest.raises(RateLimitError):
            _ = [m async for m in provider.query("hi", ONCE)]
        assert time.monotonic() - started < 30
        await provider.disconnect()


async def test_an_api_failure_is_a_provider_error(make_provider):
    """No reply left in the script: the CLI reports the API failure in its result."""
    provider = make_provider()
    with pytest.raises(ProviderError):
        _ = [m async for m in provider.query("hi", ONCE)]
