"""``make demo``: start the fake backend, stream one reply through ``claif-myp``, stop.

No key and no network: the backend is a local server on 127.0.0.1 that streams
a scripted answer a word at a time, so a person sees the stream arrive.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .testing import FakeBackend, reply_for

__all__ = ["main"]

PROMPT = "Explain in one paragraph what a claif provider is."
ANSWER = (
    "A claif provider is a small plugin that teaches claif to talk to one backend. "
    "This reply comes from a fake OpenAI-compatible server on 127.0.0.1, streamed "
    "chunk by chunk through httpx and server-sent events, assembled into claif "
    "Messages, and rendered by the claif-myp command you are watching."
)
WORD_INTERVAL = 0.06


def command(prompt: str) -> list[str]:
    """The ``claif-myp`` script of this environment (what ``uv run claif-myp`` runs)."""
    script = Path(sys.executable).with_name("claif-myp")
    if script.exists():
        return [str(script), "query", prompt]
    return [sys.executable, "-m", "claif_myprovider.cli", "query", prompt]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo; the exit code is claif-myp's."""
    args = list(sys.argv[1:] if argv is None else argv)
    prompt = args[0] if args else PROMPT
    with FakeBackend(default=reply_for(ANSWER, interval=WORD_INTERVAL)) as backend:
        env = {**os.environ, "MYPROVIDER_BASE_URL": backend.url}
        env.pop("MYPROVIDER_API_KEY", None)
        sys.stdout.write(f"fake backend on {backend.url}\n$ claif-myp query {prompt!r}\n")
        sys.stdout.flush()
        return subprocess.call(command(prompt), env=env)


if __name__ == "__main__":
    sys.exit(main())
