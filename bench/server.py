"""Start and stop bench/fake_server.py from a benchmark."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER = Path(__file__).resolve().parent / "fake_server.py"


class RunningServer:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url
        self.connections: int | None = None


@contextmanager
def fake_server(chunks: int) -> Iterator[RunningServer]:
    """A fake backend streaming ``chunks`` chunks per reply, in a child process."""
    process = subprocess.Popen(
        [sys.executable, str(SERVER), str(chunks)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    server = RunningServer(process, process.stdout.readline().strip())
    try:
        yield server
    finally:
        process.stdin.close()
        tail = process.stdout.read().strip()
        server.connections = int(tail) if tail.isdigit() else None
        process.wait(timeout=30)
