"""ClaudeProvider against the bare anthropic SDK: per-reply overhead, and what importing costs.

Run with ``make bench`` (or ``cd bench && uv run python cla_overhead.py``). Both
sides read the same streamed reply from one FakeAnthropic (real sockets, the
real SDK on httpx2) in this one process, alternating rounds so that drift on a
noisy machine hits each alike. Prints median wall times and the ratio
provider/bare (target at most 1.1x), then whether ``claif providers`` imports
the SDK (it should not: the SDK loads on ``connect()``) next to what
``import anthropic`` costs on its own.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import anthropic
import anyio

from claif_cla.provider import ClaudeProvider
from claif_cla.testing import FakeAnthropic, Script

RUNS = 30
PARTS = 200
PROMPT = "hi"
MODEL = "claude-fake-1"
KEY = "sk-test"
PROVIDERS = "import sys; sys.argv=['claif','providers']; from claif.cli.main import main; main()"


async def provider_reply(provider: ClaudeProvider) -> int:
    """Every Message of one reply; the count shows that each text delta came through."""
    count = 0
    async for message in provider.query(PROMPT):
        count += bool(message.text)
    return count


async def bare_reply(client: anthropic.AsyncAnthropic) -> int:
    """The floor: the SDK's own raw event stream, text deltas collected, nothing else."""
    texts: list[str] = []
    stream = await client.messages.create(
        model=MODEL,
        max_tokens=1024,
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
    )
    async for event in stream:
        if event.type == "content_block_delta" and event.delta.type == "text_delta":
            texts.append(event.delta.text)
    return len(texts)


async def alternate(
    runners: dict[str, Callable[[], Awaitable[int]]], rounds: int
) -> dict[str, list[float]]:
    """Run each runner once per round, order flipped every round; keep wall times."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for index in range(rounds):
        order = list(runners.items())
        for name, run in order if index % 2 == 0 else reversed(order):
            started = time.perf_counter()
            count = await run()
            times[name].append(time.perf_counter() - started)
            if count < PARTS:
                raise SystemExit(f"{name}: expected {PARTS} text deltas, got {count}")
    return times


async def measure(url: str) -> dict[str, list[float]]:
    provider = ClaudeProvider(api_key=KEY, base_url=url)
    await provider.connect()
    client = anthropic.AsyncAnthropic(api_key=KEY, base_url=url, max_retries=0)
    runners: dict[str, Callable[[], Awaitable[int]]] = {
        "ClaudeProvider.query": lambda: provider_reply(provider),
        "bare AsyncAnthropic": lambda: bare_reply(client),
    }
    await alternate(runners, 3)  # warm-up: lazy imports, connections, pydantic's caches
    times = await alternate(runners, RUNS)
    await provider.disconnect()
    await client.close()
    return times


def importtime(code: str) -> list[tuple[int, str]]:
    """(cumulative us, name as printed, indented by depth) per ``-X importtime`` line."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=False,  # `claif providers` ends in SystemExit; only its stderr matters
    )
    rows = []
    for line in done.stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if line.startswith("import time:") and len(fields) == 3 and fields[1].strip().isdigit():
            rows.append((int(fields[1]), fields[2][1:]))
    return rows


def main() -> None:
    with FakeAnthropic(default=Script(text=[f"part {n} " for n in range(PARTS)])) as api:
        times = anyio.run(measure, api.url, backend="asyncio")
    for name, runs in times.items():
        print(
            f"{name:<22} {statistics.median(runs) * 1000:8.1f} ms median, "
            f"{sum(runs):6.2f} s total ({RUNS} replies of {PARTS} parts)"
        )
    ours, bare = times["ClaudeProvider.query"], times["bare AsyncAnthropic"]
    print(
        f"overhead ratio provider/bare: {statistics.median(ours) / statistics.median(bare):.3f}x "
        f"median, {sum(ours) / sum(bare):.3f}x total (target <= 1.1x)"
    )
    rows = importtime(PROVIDERS)
    top = sum(cumulative for cumulative, name in rows if not name.startswith(" "))
    named = any("anthropic" in name for _, name in rows)
    print(
        f"`claif providers`: {top:,} us of top-level imports, "
        f"anthropic imported: {'yes' if named else 'no'}"
    )
    sdk = [cumulative for cumulative, name in importtime("import anthropic") if name == "anthropic"]
    print(f"`import anthropic` alone: {sdk[0] if sdk else 0:,} us cumulative")


if __name__ == "__main__":
    main()
