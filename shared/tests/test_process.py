"""claif.process against real child processes: lines, caps, floods, hangs, groups, cleanup."""

from __future__ import annotations

import os
import signal
import stat
import sys
import textwrap
import time
from pathlib import Path

import anyio
import pytest

from claif.common.errors import ConfigurationError, TransportError
from claif.process import ChildProcess, find_executable, start_child

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


async def lines_of(child: ChildProcess) -> list[bytes]:
    lines = []
    while (line := await child.next_line()) is not None:
        lines.append(line)
    return lines


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


async def test_lines_as_they_arrive_and_the_exit_code():
    """Lines come without their breaks (CRLF too), the last one even without a break."""
    code = "import sys; sys.stdout.write('one\\ntwo\\r\\nthree'); sys.exit(3)"
    async with await start_child(python(code), provider="t") as child:
        assert await lines_of(child) == [b"one", b"two", b"three"]
        assert await child.wait() == 3


async def test_stdin_is_the_whole_prompt_and_then_ends():
    """A 1 MiB prompt arrives whole and the child sees the end of its input."""
    prompt = b"x" * (1024 * 1024) + b"\nend"
    code = "import sys; data = sys.stdin.buffer.read(); print(len(data), data[-3:].decode())"
    async with await start_child(python(code), stdin=prompt, provider="t") as child:
        assert await lines_of(child) == [f"{len(prompt)} end".encode()]


async def test_a_line_of_megabytes_passes_and_one_over_the_cap_fails():
    """No 64 KiB readline limit: 20 MB passes under a 32 MiB cap; over 1 MiB fails typed."""
    code = "import sys; sys.stdout.write('y' * 20_000_000 + '\\nok\\n')"
    async with await start_child(python(code), provider="t", max_line_bytes=32 << 20) as child:
        lines = await lines_of(child)
        assert [len(line) for line in lines] == [20_000_000, 2]
    async with await start_child(python(code), provider="t", max_line_bytes=1 << 20) as child:
        with pytest.raises(TransportError, match="over the 1 MiB cap"):
            await lines_of(child)


async def test_a_stderr_flood_never_blocks_and_only_its_tail_is_kept():
    """10 MB on stderr before the first output line: read in time, tail bounded."""
    code = """
        import sys
        for _ in range(10_000):
            sys.stderr.write('e' * 1023 + '\\n')
        sys.stderr.write('the real reason\\n')
        sys.stderr.flush()
        print('done')
    """
    with anyio.fail_after(30):
        async with await start_child(python(code), provider="t") as child:
            assert await lines_of(child) == [b"done"]
            assert await child.wait() == 0
    assert len(child._stderr) <= 64 * 1024
    assert child.stderr_tail().endswith("the real reason")
    assert len(child.stderr_tail(100)) <= 103


async def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period():
    """Leaving the block ends a hung child that ignores SIGTERM, within the grace period."""
    code = """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print('ready', flush=True)
        time.sleep(60)
    """
    started = time.monotonic()
    async with await start_child(python(code), provider="t", term_grace=0.5) as child:
        assert await child.next_line() == b"ready"
    assert time.monotonic() - started < 5
    assert not alive(child.pid)
    assert child.returncode == -signal.SIGKILL


async def test_a_grandchild_holding_stdout_does_not_hold_the_reply(tmp_path: Path):
    """The child exits, its grandchild keeps stdout open: output ends soon, the grandchild dies."""
    pid_file = tmp_path / "grandchild"
    code = f"""
        import subprocess, sys
        child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
        open({str(pid_file)!r}, 'w').write(str(child.pid))
        print('bye', flush=True)
    """
    with anyio.fail_after(10):
        async with await start_child(python(code), provider="t") as child:
            assert await lines_of(child) == [b"bye"]
            assert await child.wait() == 0
    grandchild = int(pid_file.read_text())
    for _ in range(100):
        if not alive(grandchild):
            break
        await anyio.sleep(0.02)
    assert not alive(grandchild)


async def test_cancellation_ends_and_reaps_the_group(tmp_path: Path):
    """A deadline in the middle of a read ends the child and its grandchild; no zombie."""
    pid_file = tmp_path / "grandchild"
    code = f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
        open({str(pid_file)!r}, 'w').write(str(child.pid))
        print('working', flush=True)
        time.sleep(60)
    """
    with anyio.move_on_after(1.5):
        async with await start_child(python(code), provider="t") as child:
            assert await child.next_line() == b"working"
            await child.next_line()  # never comes
    assert not alive(child.pid)
    await anyio.sleep(0.1)
    assert not alive(int(pid_file.read_text()))


async def test_a_missing_binary_or_working_directory_is_a_configuration_error(tmp_path: Path):
    """Nothing to run, or nowhere to run it: ConfigurationError naming what is missing."""
    with pytest.raises(ConfigurationError, match="no-such-tool"):
        await start_child([str(tmp_path / "no-such-tool")], provider="t")
    with pytest.raises(ConfigurationError, match="nowhere"):
        await start_child([sys.executable, "-c", "pass"], cwd=tmp_path / "nowhere", provider="t")


async def test_a_file_that_cannot_run_is_a_transport_error(tmp_path: Path):
    """A file without an interpreter line: the OS refuses it, and the error says so."""
    script = tmp_path / "tool"
    script.write_bytes(b"\x00\x01binary junk")
    script.chmod(0o755)
    with pytest.raises(TransportError, match="cannot start"):
        await start_child([str(script)], provider="t")


def test_find_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A configured path or name, else the default name on PATH; a miss says how to fix it."""
    tool = tmp_path / "gemini"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_executable("gemini", None, install_hint="npm i", provider="g") == str(tool)
    assert find_executable("x", "gemini", install_hint="npm i", provider="g") == str(tool)
    assert find_executable("x", tool, install_hint="npm i", provider="g") == str(tool)
    with pytest.raises(ConfigurationError, match="'codex' command was not found on PATH; npm i"):
        find_executable("codex", None, install_hint="npm i", provider="c")
    with pytest.raises(ConfigurationError, match="does not exist; npm i"):
        find_executable("x", tmp_path / "missing", install_hint="npm i", provider="c")
    plain = tmp_path / "plain"
    plain.write_text("")
    with pytest.raises(ConfigurationError, match="is not executable"):
        find_executable("x", str(plain), install_hint="npm i", provider="c")
    assert os.environ["PATH"] == str(tmp_path)
