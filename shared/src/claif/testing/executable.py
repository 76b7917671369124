"""Fake executables for providers that drive a vendor's command-line tool.

A :class:`FakeExecutable` is a real file on disk, a Python script a provider
starts exactly as it would start the vendor's binary (its own process, real
pipes, real signals). Tests queue :class:`Run` scripts; each invocation plays
the oldest one, or the default, and leaves a :class:`Call` record behind::

    fake = FakeExecutable(tmp_path, "gemini")
    fake.enqueue(Run().line('{"type": "init"}').sleep(0.1).stderr("oops").exit(41))
    provider = GeminiProvider(cli_path=fake.path)

A provider's own fake only turns its wire format into ``line`` steps.
``live_processes()`` counts fake processes (and grandchildren) still running,
or exited and never reaped: the leak check of the conformance suite.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Call", "FakeExecutable", "Run", "read_prompt_text"]

_PLAYER = Path(__file__).with_name("_player.py")


@dataclass
class Run:
    """One scripted invocation: steps played in order, then exit 0 unless told otherwise."""

    steps: list[list[Any]] = field(default_factory=list)

    def output(self) -> list[bytes]:
        """The lines this run writes to standard output, in order."""
        data = b"".join(base64.b64decode(step[1]) for step in self.steps if step[0] == "out")
        return data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")

    def line(self, text: str | bytes) -> Run:
        """Write ``text`` and a line break to standard output, flushed."""
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        return self.raw(data + b"\n")

    def lines(self, texts: Sequence[str | bytes]) -> Run:
        for text in texts:
            self.line(text)
        return self

    def then(self, other: Run) -> Run:
        """Append the steps of ``other``: runs built from pieces."""
        self.steps.extend(other.steps)
        return self

    def raw(self, data: bytes) -> Run:
        """Write exactly these bytes to standard output (no line break added)."""
        self.steps.append(["out", base64.b64encode(data).decode()])
        return self

    def stderr(self, text: str | bytes, *, repeat: int = 1) -> Run:
        """Write ``text`` to standard error ``repeat`` times (a flood: a large ``repeat``)."""
        data = text.encode() if isinstance(text, str) else text
        self.steps.append(["err", base64.b64encode(data).decode(), repeat])
        return self

    def sleep(self, seconds: float) -> Run:
        self.steps.append(["sleep", seconds])
        return self

    def hang(self, *, ignore_sigterm: bool = False) -> Run:
        """Stop answering (for an hour), optionally deaf to SIGTERM as well."""
        if ignore_sigterm:
            self.steps.append(["ignore_sigterm"])
        return self.sleep(3600)

    def grandchild(self, seconds: float = 3600) -> Run:
        """Start a process that inherits standard output and lives ``seconds``."""
        self.steps.append(["grandchild", seconds])
        return self

    def die(self, signum: int = 9) -> Run:
        """End by a signal sent to itself (SIGKILL by default): a crash mid-output."""
        self.steps.append(["die", signum])
        return self

    def exit(self, code: int) -> Run:
        self.steps.append(["exit", code])
        return self


@dataclass(frozen=True)
class Call:
    """What one invocation of the fake received."""

    run: str  # which queued run it played ("default" when the queue was empty)
    argv: list[str]
    cwd: str
    stdin: bytes
    pid: int
    env: Mapping[str, str]

    @property
    def text(self) -> str:
        """Standard input as text."""
        return self.stdin.decode("utf-8", "replace")

    def option(self, *names: str) -> str | None:
        """The value after the first of ``names`` in argv (``-m X`` or ``--model=X``)."""
        for index, word in enumerate(self.argv):
            for name in names:
                if word == name and index + 1 < len(self.argv):
                    return self.argv[index + 1]
                if word.startswith(name + "="):
                    return word[len(name) + 1 :]
        return None


_SYSTEM = re.compile(r"\A<system_instructions>\n(.*?)\n</system_instructions>\n\n", re.DOTALL)
_HISTORY = re.compile(r"\A<conversation_so_far>\n(.*?)\n</conversation_so_far>\n\n", re.DOTALL)
_TURN = re.compile(r"<(user|assistant)>\n(.*?)\n</\1>", re.DOTALL)


def read_prompt_text(text: str) -> tuple[str | None, list[str]]:
    """The system prompt and the texts (history turns, then the prompt) of a text made by
    :func:`claif.common.conversation.prompt_text`: what a fake CLI was asked."""
    system = None
    if match := _SYSTEM.match(text):
        system, text = match.group(1), text[match.end() :]
    texts = []
    if match := _HISTORY.match(text):
        texts = [turn.group(2) for turn in _TURN.finditer(match.group(1))]
        text = text[match.end() :]
    return system, [*texts, text]


class FakeExecutable:
    """A script called ``name`` in ``directory`` that plays queued runs; see the module doc."""

    def __init__(
        self, directory: str | os.PathLike[str], name: str, *, default: Run | None = None
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / name
        self.state = self.directory / f".{name}-state"
        for part in ("queue", "claimed", "calls", "pids"):
            (self.state / part).mkdir(parents=True, exist_ok=True)
        self._queued = 0
        self._runs: dict[str, Run] = {}
        self.set_default(default or Run())
        source = _PLAYER.read_text(encoding="utf-8")
        self.path.write_text(
            f"#!{sys.executable} -I\n{source}\n\nplay({str(self.state)!r})\n", encoding="utf-8"
        )
        self.path.chmod(0o755)

    def set_default(self, run: Run) -> None:
        """What an invocation plays when the queue is empty."""
        self._runs["default"] = run
        _write_json(self.state / "default.json", run.steps)

    def enqueue(self, *runs: Run) -> FakeExecutable:
        """Queue runs for the next invocations, oldest first; returns self."""
        for run in runs:
            self._queued += 1
            name = f"{self._queued:08d}.json"
            self._runs[name] = run
            _write_json(self.state / "queue" / name, run.steps)
        return self

    def pending(self) -> int:
        """Queued runs no invocation has taken yet."""
        return len(os.listdir(self.state / "queue"))

    def run_of(self, call: Call) -> Run:
        """The run ``call`` played (the default as it is now, for ``"default"``)."""
        return self._runs[call.run]

    def calls(self) -> list[Call]:
        """Every invocation so far, oldest first."""
        folder = self.state / "calls"
        records = []
        for name in sorted(n for n in os.listdir(folder) if not n.startswith(".")):
            data = json.loads((folder / name).read_text(encoding="utf-8"))
            data["stdin"] = base64.b64decode(data["stdin"])
            records.append(Call(**data))
        return records

    def live_processes(self) -> int:
        """Fake processes and their grandchildren still alive, or exited but never reaped."""
        folder = self.state / "pids"
        return sum(
            1
            for name in os.listdir(folder)
            if _running_or_unreaped(int(name), (folder / name).read_text(encoding="utf-8"))
        )

    def remove(self) -> None:
        """Delete the script and its state (live processes are not touched)."""
        shutil.rmtree(self.state, ignore_errors=True)
        self.path.unlink(missing_ok=True)


def _write_json(path: Path, value: Any) -> None:
    """Write atomically, so an invocation never reads half a run."""
    temporary = path.with_name("." + path.name)
    temporary.write_text(json.dumps(value), encoding="utf-8")
    os.replace(temporary, path)


def _running_or_unreaped(pid: int, started: str) -> bool:
    """Alive and not a zombie, or a zombie whose parent is this process (a missing reap)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return _exists(pid)  # no /proc: fall back to a signal probe
    if started and fields[19] != started:
        return False  # the pid now belongs to another process
    state, parent = fields[0], int(fields[1])
    if state in ("Z", "X"):
        return parent == os.getpid()
    return True


def _exists(pid: int) -> bool:  # pragma: no cover - systems without /proc
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
