"""Starting the Codex CLI: which binary, in which folder, with which environment.

The process plumbing (process group, stdin, line reading, stderr tail, ending
and reaping) is core's :mod:`claif.process`. The npm package's ``codex`` is a
node launcher that starts the native binary as its child, in the same process
group: ending the group ends both, and any command the agent was running.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from claif.process import ChildProcess, find_executable, start_child

from .types import INSTALL_HINT, PROVIDER_NAME, CodexSettings

__all__ = ["CliRunner"]


class CliRunner:
    """Starts the CLI for one provider instance; the binary is found once, on first use."""

    def __init__(self, settings: CodexSettings) -> None:
        self.settings = settings
        self.binary = find_executable(
            "codex", settings.cli_path, install_hint=INSTALL_HINT, provider=PROVIDER_NAME
        )

    def environment(self) -> dict[str, str]:
        """This process's environment, ``extra_env``, and ``CODEX_HOME`` when set."""
        env = {**os.environ, **self.settings.extra_env}
        if self.settings.home:
            env["CODEX_HOME"] = os.path.expanduser(self.settings.home)
        return env

    async def start(self, argv: Sequence[str], data: bytes) -> ChildProcess:
        """Start ``argv`` with ``data`` as its standard input; use it with ``async with``.

        The child also runs in the working directory, so a missing one is a
        ConfigurationError naming it before the CLI starts.
        """
        return await start_child(
            argv,
            stdin=data,
            cwd=self.settings.cwd,
            env=self.environment(),
            provider=PROVIDER_NAME,
            max_line_bytes=self.settings.max_line_bytes,
            term_grace=self.settings.term_grace,
        )
