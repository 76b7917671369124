"""1,000 concurrent streams on one MyProvider instance: all complete, one pool, peak RSS.

Run with ``make bench`` (or ``uv run python bench/concurrency.py``). The fake
backend runs in a child process so the peak RSS printed is the client's alone.
"""

from __future__ import annotations

import resource
import time

import anyio
from server import fake_server

from claif.common import ClaifOptions
from claif.streaming import collect
from claif_myprovider import MyProvider

STREAMS = 1000
CHUNKS = 20


def raise_open_file_limit(needed: int) -> None:
    """Each stream holds a socket; lift the soft limit towards the hard one if it is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


async def run(url: str) -> dict[str, object]:
    provider = MyProvider(base_url=url)
    await provider.connect()
    pool = provider._transport  # the one connection pool every stream must share
    texts: list[str] = []

    async def one() -> None:
        reply = await collect(provider.query("go", ClaifOptions()))
        texts.append(reply.text)

    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        for _ in range(STREAMS):
            group.start_soon(one)
    elapsed = time.perf_counter() - started
    same_pool = provider._transport is pool
    await provider.disconnect()
    return {
        "completed": sum(1 for text in texts if text == "tok " * CHUNKS),
        "same_pool": same_pool,
        "seconds": elapsed,
    }


def main() -> None:
    raise_open_file_limit(STREAMS + 200)
    with fake_server(CHUNKS) as server:
        result = anyio.run(run, server.url)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"streams completed: {result['completed']}/{STREAMS} ({CHUNKS} chunks each) "
        f"in {result['seconds']:.2f}s"
    )
    print(
        f"one connection pool for all streams: {result['same_pool']}; "
        f"TCP connections the server accepted: {server.connections}"
    )
    print(f"peak RSS of the client: {peak_mib:.1f} MiB (target <= 150 MiB)")
    if result["completed"] != STREAMS or not result["same_pool"]:
        raise SystemExit("not every stream completed on the one pool")


if __name__ == "__main__":
    main()
