"""CodexProvider against the bare subprocess: per-run overhead and first-line latency.

Run with ``make bench`` (or ``cd bench && uv run python cod_overhead.py``). Both
sides start the same fake ``codex`` (a real executable printing ``codex exec
--json`` lines) from this one process, alternating rounds so that drift on a
noisy machine hits each alike. Prints median wall times and the ratio
provider/bare (target at most 1.1x), then how long an agent message takes from
the child's write to the provider's Message (target at most 20 ms), with the
bare pipe read as the floor.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
from anyio.streams.buffered import BufferedByteReceiveStream

from claif_cod.provider import CodexProvider
from claif_cod.testing import FakeCodex, event, item_event

RUNS = 30
PARTS = 50
PROMPT = "Say something."
PAUSE = 0.2  # the child waits this long before its timed line, so the reader sits idle
MARK = "@STAMP@"


def stamping_script(directory: Path) -> Path:
    """A ``codex`` whose agent message carries ``time.time()`` taken just before writing.

    A FakeCodex run is fixed when queued, so it cannot hold its own write time.
    """
    timed = item_event("completed", "msg_0", "agent_message", text=MARK)
    done = event("turn.completed", usage={"input_tokens": 10, "output_tokens": 1})
    path = directory / "codex-stamp"
    path.write_text(
        f"#!{sys.executable} -I\nimport sys, time\nsys.stdin.buffer.read()\n"
        f"out = sys.stdout\nout.write({event('thread.started', thread_id='t')!r} + '\\n')\n"
        f"out.flush()\ntime.sleep({PAUSE})\nline = {timed!r}.replace({MARK!r}, repr(time.time()))\n"
        f"out.write(line + '\\n')\nout.flush()\n"
        f"out.write({done!r} + '\\n')\nout.flush()\n",
        encoding="utf-8",
    )
    path.chmod(0o755)
    return path


async def provider_reply(provider: CodexProvider) -> None:
    async for _ in provider.query(PROMPT):
        pass


async def bare_reply(binary: Path) -> None:
    """The floor: start the binary, prompt on stdin, read stdout to EOF, reap it."""
    await anyio.run_process([str(binary)], input=PROMPT.encode(), check=True)


async def provider_latency(provider: CodexProvider) -> float:
    """Seconds from the child's write to the first Message with text, in this process."""
    delay = None
    async for message in provider.query(PROMPT):
        if delay is None and message.text:
            delay = time.time() - float(message.text)
    assert delay is not None, "no text came back"
    return delay


async def bare_latency(binary: Path) -> float:
    """The same delay read straight off the pipe: the floor for the figure above."""
    async with await anyio.open_process([str(binary)]) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        await process.stdin.send(PROMPT.encode())
        await process.stdin.aclose()
        reader = BufferedByteReceiveStream(process.stdout)
        await reader.receive_until(b"\n", 1 << 20)  # thread.started
        line = (await reader.receive_until(b"\n", 1 << 20)).decode()
        delay = time.time()
        stamp = float(json.loads(line)["item"]["text"])
        while True:
            try:
                await reader.receive(65536)
            except anyio.EndOfStream:
                break
    return delay - stamp


async def alternate(
    runners: dict[str, Callable[[], Awaitable[float | None]]], rounds: int
) -> dict[str, list[float]]:
    """Run each runner once per round, order flipped every round; keep wall time or result."""
    results: dict[str, list[float]] = {name: [] for name in runners}
    for index in range(rounds):
        order = list(runners.items())
        for name, run in order if index % 2 == 0 else reversed(order):
            started = time.perf_counter()
            value = await run()
            results[name].append(time.perf_counter() - started if value is None else value)
    return results


async def measure(directory: Path) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    fake = FakeCodex(directory / "fake")
    parts = [f"part {n} " for n in range(PARTS)]
    fake.set_default(FakeCodex.reply(parts, usage_figures=(10, PARTS)))
    stamp = stamping_script(directory)
    provider = CodexProvider(cli_path=str(fake.path))
    stamped = CodexProvider(cli_path=str(stamp))
    await provider.connect()
    await stamped.connect()
    whole: dict[str, Callable[[], Awaitable[float | None]]] = {
        "CodexProvider.query": lambda: provider_reply(provider),
        "bare run_process": lambda: bare_reply(fake.path),
    }
    first: dict[str, Callable[[], Awaitable[float | None]]] = {
        "CodexProvider.query": lambda: provider_latency(stamped),
        "bare pipe read": lambda: bare_latency(stamp),
    }
    await alternate(whole, 3)  # warm-up: imports, page cache, the fake's first runs
    await alternate(first, 1)
    results = await alternate(whole, RUNS), await alternate(first, RUNS)
    await provider.disconnect()
    await stamped.disconnect()
    return results


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="cod-bench-") as folder:
        whole, first = anyio.run(measure, Path(folder), backend="asyncio")
    for name, times in whole.items():
        print(
            f"{name:<22} {statistics.median(times) * 1000:8.1f} ms median, "
            f"{sum(times):6.2f} s total ({RUNS} runs of {PARTS} parts)"
        )
    ours, bare = whole["CodexProvider.query"], whole["bare run_process"]
    print(
        f"overhead ratio provider/bare: {statistics.median(ours) / statistics.median(bare):.3f}x "
        f"median, {sum(ours) / sum(bare):.3f}x total (target <= 1.1x)"
    )
    for name, delays in first.items():
        print(
            f"first line, {name:<20} {statistics.median(delays) * 1000:7.2f} ms median, "
            f"{max(delays) * 1000:7.2f} ms max ({RUNS} runs)"
        )
    print("first-line latency target: provider median <= 20 ms")


if __name__ == "__main__":
    main()
