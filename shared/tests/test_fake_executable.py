"""claif.testing.executable: scripted runs of a real fake binary, records, and the leak count."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import anyio
import pytest

from claif.process import start_child
from claif.testing.executable import FakeExecutable, Run

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fake(tmp_path: Path) -> FakeExecutable:
    return FakeExecutable(tmp_path / "bin", "tool", default=Run().line("default"))


async def run(fake: FakeExecutable, *args: str, stdin: bytes = b"") -> tuple[list[bytes], int]:
    async with await start_child([str(fake.path), *args], stdin=stdin, provider="t") as child:
        lines = []
        while (line := await child.next_line()) is not None:
            lines.append(line)
        return lines, await child.wait()


async def test_runs_play_in_order_then_the_default(fake: FakeExecutable):
    """Queued runs are taken oldest first; an empty queue plays the default."""
    fake.enqueue(Run().line("first").exit(3), Run().lines(["second", b"\xff raw"]))
    assert await run(fake) == ([b"first"], 3)
    assert await run(fake) == ([b"second", b"\xff raw"], 0)
    assert await run(fake) == ([b"default"], 0)
    assert fake.pending() == 0
    fake.enqueue(Run().line("half").die())
    assert await run(fake) == ([b"half"], -9)


async def test_each_call_is_recorded(fake: FakeExecutable, tmp_path: Path):
    """argv, working directory and the whole of standard input, per invocation."""
    await run(fake, "-m", "pro", "--approval-mode=yolo", stdin=b"the prompt \xe2\x9c\x93")
    (call,) = fake.calls()
    assert call.run == "default"
    assert fake.run_of(call).output() == [b"default"]
    assert call.argv == ["-m", "pro", "--approval-mode=yolo"]
    assert call.option("-m", "--model") == "pro"
    assert call.option("--approval-mode") == "yolo"
    assert call.option("--resume") is None
    assert call.text == "the prompt \u2713"
    assert Path(call.cwd) == Path.cwd()
    assert "PATH" in call.env


async def test_stderr_raw_bytes_and_sleep(fake: FakeExecutable):
    """A stderr flood, raw bytes without a line break and a pause, as scripted."""
    fake.enqueue(Run().stderr("e" * 1023 + "\n", repeat=2048).sleep(0.2).raw(b"no break"))
    started = time.monotonic()
    assert await run(fake) == ([b"no break"], 0)
    assert time.monotonic() - started >= 0.2


async def test_leaks_are_counted_until_ended_and_reaped(fake: FakeExecutable):
    """A hung fake and its grandchild count as live until claif.process ends the group."""
    fake.enqueue(Run().grandchild().line("up").hang(ignore_sigterm=True))
    async with await start_child([str(fake.path)], provider="t", term_grace=0.3) as child:
        assert await child.next_line() == b"up"
        assert fake.live_processes() == 2
    for _ in range(100):
        if fake.live_processes() == 0:
            break
        await anyio.sleep(0.02)
    assert fake.live_processes() == 0


def test_an_unreaped_child_counts_as_a_leak(fake: FakeExecutable):
    """A fake that exited but whose parent never waited for it is still counted."""
    child = subprocess.Popen([str(fake.path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    state = ""
    while state != "Z" and time.monotonic() < deadline:  # exited, not yet waited for
        time.sleep(0.02)
        state = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    assert fake.live_processes() == 1
    child.wait()
    assert fake.live_processes() == 0


def test_remove_deletes_script_and_state(fake: FakeExecutable):
    fake.remove()
    assert not fake.path.exists()
    assert not fake.state.exists()
