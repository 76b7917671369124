"""Chunks per second through MyProvider.query, a plain httpx loop and the openai SDK.

All three read the same 5,000-chunk stream from one fake backend (a child
process), in this one process, alternating rounds so that drift hits each
alike. Run with ``make bench``; the openai SDK comes from a throwaway layer
(``uv run --with openai``), never from the workspace.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Awaitable, Callable

import anyio
import httpx
from server import fake_server

from claif.common import ClaifOptions
from claif_myprovider import MyProvider

CHUNKS = 5000
ROUNDS = 21
BODY = {"model": "fake-model", "messages": [{"role": "user", "content": "go"}], "stream": True}


async def via_provider(provider: MyProvider) -> int:
    count = 0
    async for message in provider.query("go", ClaifOptions()):
        if message.text:
            count += 1
    return count


async def via_httpx(client: httpx.AsyncClient, url: str) -> int:
    """The floor: read SSE lines and decode each JSON chunk, nothing else."""
    count = 0
    async with client.stream("POST", f"{url}/chat/completions", json=BODY) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            data = line[6:]
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            choices = chunk.get("choices") or []
            if choices and choices[0].get("delta", {}).get("content"):
                count += 1
    return count


async def via_openai(client: object) -> int:
    count = 0
    stream = await client.chat.completions.create(  # type: ignore[attr-defined]
        model="fake-model", messages=[{"role": "user", "content": "go"}], stream=True
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            count += 1
    return count


async def timed(run: Callable[[], Awaitable[int]]) -> tuple[float, float]:
    """Chunks per second of wall time, and per second of this process's CPU time.

    The CPU figure leaves out the fake server (another process) and whatever
    else the machine runs, so it moves less between runs than the wall figure.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    count = await run()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if count != CHUNKS:
        raise SystemExit(f"expected {CHUNKS} chunks, got {count}")
    return CHUNKS / elapsed, CHUNKS / max(cpu, 1e-9)


async def measure(url: str) -> dict[str, tuple[float, float]]:
    try:
        import openai
    except ImportError:
        openai = None  # type: ignore[assignment]
    runners: dict[str, Callable[[], Awaitable[int]]] = {}
    provider = MyProvider(base_url=url)
    await provider.connect()
    client = httpx.AsyncClient(timeout=30)
    runners["MyProvider.query"] = lambda: via_provider(provider)
    runners["httpx line loop"] = lambda: via_httpx(client, url)
    sdk = None
    if openai is not None:
        sdk = openai.AsyncOpenAI(base_url=url, api_key="bench", max_retries=0)
        runners["openai SDK"] = lambda: via_openai(sdk)
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in runners}
    for run in runners.values():  # warm-up: imports, connections, caches
        await timed(run)
    for _ in range(ROUNDS):
        for name, run in runners.items():
            rates[name].append(await timed(run))
    await provider.disconnect()
    await client.aclose()
    if sdk is not None:
        await sdk.close()
    return {
        name: (
            statistics.median(wall for wall, _ in values),
            statistics.median(cpu for _, cpu in values),
        )
        for name, values in rates.items()
    }


def main() -> None:
    with fake_server(CHUNKS) as server:
        rates = anyio.run(measure, server.url)
    for name, (wall, cpu) in rates.items():
        print(
            f"{name:<18} {wall:10,.0f} chunks/s wall, {cpu:10,.0f} per CPU second "
            f"(median of {ROUNDS} streams of {CHUNKS})"
        )
    ours = rates["MyProvider.query"]
    for peer, target in (("httpx line loop", 0.85), ("openai SDK", 5.0)):
        if peer not in rates:
            print(f"{peer} not installed: run through `make bench` for that ratio")
            continue
        wall, cpu = (ours[index] / rates[peer][index] for index in (0, 1))
        print(f"ratio MyProvider/{peer}: {wall:.2f}x wall, {cpu:.2f}x CPU (target >= {target}x)")


if __name__ == "__main__":
    main()
