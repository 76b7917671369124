"""Async tests run on anyio's pytest plugin (``anyio_mode = "auto"`` in pyproject).

pytest-asyncio stays installed in its strict mode, which is how a third-party
provider project typically has it, and so handles nothing here. Our own tests
run on asyncio; the conformance suite asks for asyncio and trio itself.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# -- the whole suite leaves nothing behind --------------------------------------------------
# Checked once, after every test: no child process of this one is left (running or a
# zombie), and this process's open file descriptors are the ones it had at the start.

_AT_START: dict[str, object] = {}


def _open_descriptors() -> dict[int, str]:
    import os

    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
    return found


def _children() -> list[str]:
    import os

    mine = str(os.getpid())
    left = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if fields[1] == mine:  # the parent pid
            left.append(f"{pid} ({fields[0]}) {command[:120]}")
    return left


def pytest_sessionstart(session: pytest.Session) -> None:
    import os

    if os.path.isdir("/proc/self/fd"):
        _AT_START["descriptors"] = _open_descriptors()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import gc
    import time

    before = _AT_START.get("descriptors")
    if not isinstance(before, dict):
        return
    deadline = time.monotonic() + 5
    while True:
        gc.collect()
        children = _children()
        extra = {fd: target for fd, target in _open_descriptors().items() if fd not in before}
        if not (children or extra) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if children or extra:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"child process left: {child}" for child in children]
        lines += [f"descriptor left open: {fd} -> {target}" for fd, target in sorted(extra.items())]
        if reporter is not None:
            reporter.write_line("the suite leaked:\n  " + "\n  ".join(lines), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
