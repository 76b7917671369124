"""The body of a fake executable: plays one scripted run, standard library only.

``FakeExecutable`` writes this file's source into the script it creates, so a
fake starts in the time of a bare interpreter and imports nothing of claif.
A run is a JSON list of steps; each invocation takes the oldest queued run
(atomically, by renaming its file) or the default one, records its argv,
working directory and standard input, and plays the steps.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time


def _claim(state: str) -> tuple[str, list[list[object]]]:
    queue = os.path.join(state, "queue")
    for name in sorted(os.listdir(queue)):
        claimed = os.path.join(state, "claimed", name)
        try:
            os.rename(os.path.join(queue, name), claimed)
        except OSError:
            continue  # another invocation took it first
        with open(claimed, encoding="utf-8") as handle:
            return name, json.load(handle)
    with open(os.path.join(state, "default.json"), encoding="utf-8") as handle:
        return "default", json.load(handle)


def _record(state: str, run: str, data: bytes) -> None:
    call = {
        "run": run,
        "argv": sys.argv[1:],
        "cwd": os.getcwd(),
        "stdin": base64.b64encode(data).decode(),
        "pid": os.getpid(),
        "env": {key: value for key, value in os.environ.items() if key.isupper()},
    }
    name = f"{time.time_ns()}-{os.getpid()}.json"
    temporary = os.path.join(state, "calls", "." + name)
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(call, handle)
    os.rename(temporary, os.path.join(state, "calls", name))


def _note_pid(state: str, pid: int) -> None:
    """Record ``pid`` with its start time, so a reused pid is never taken for it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            started = handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = ""
    with open(os.path.join(state, "pids", str(pid)), "w", encoding="utf-8") as handle:
        handle.write(started)


def play(state: str) -> None:
    """Play the next run of the fake whose state folder is ``state``."""
    _note_pid(state, os.getpid())
    run, steps = _claim(state)
    data = sys.stdin.buffer.read() if sys.stdin is not None else b""
    _record(state, run, data)
    out, err = sys.stdout.buffer, sys.stderr.buffer
    for kind, *args in steps:
        if kind == "out":
            out.write(base64.b64decode(str(args[0])))
            out.flush()
        elif kind == "err":
            chunk = base64.b64decode(str(args[0]))
            for _ in range(int(str(args[1]))):
                err.write(chunk)
            err.flush()
        elif kind == "sleep":
            time.sleep(float(str(args[0])))
        elif kind == "ignore_sigterm":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        elif kind == "grandchild":
            child = subprocess.Popen(
                [sys.executable, "-c", f"import time; time.sleep({float(str(args[0]))})"],
                stdout=sys.stdout,
            )
            _note_pid(state, child.pid)
        elif kind == "die":
            os.kill(os.getpid(), int(str(args[0])))
            time.sleep(5)  # a signal that does not end the process does not end the run
        elif kind == "exit":
            sys.exit(int(str(args[0])))
