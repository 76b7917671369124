"""Starting the Gemini CLI: which binary, in which folder, with which environment.

The process plumbing itself (process group, stdin, line reading, stderr tail,
ending and reaping) is core's :mod:`claif.process`; this module only decides
what to start.
"""

from __future__ import annotations

import os

from claif.process import ChildProcess, find_executable, start_child

from .types import INSTALL_HINT, PROVIDER_NAME, GeminiSettings

__all__ = ["CliRunner"]

VERSION_TIMEOUT = 30.0


class CliRunner:
    """Starts the CLI for one provider instance; the binary is found once, on first use."""

    def __init__(self, settings: GeminiSettings) -> None:
        self.settings = settings
        self.binary = find_executable(
            "gemini", settings.cli_path, install_hint=INSTALL_HINT, provider=PROVIDER_NAME
        )

    def environment(self) -> dict[str, str]:
        """This process's environment plus ``extra_env``."""
        return {**os.environ, **self.settings.extra_env}

    async def start(self, argv: list[str], data: bytes) -> ChildProcess:
        """Start ``argv`` with ``data`` as its standard input; use it with ``async with``."""
        return await start_child(
            argv,
            stdin=data,
            cwd=self.settings.cwd,
            env=self.environment(),
            provider=PROVIDER_NAME,
            max_line_bytes=self.settings.max_line_bytes,
            term_grace=self.settings.term_grace,
        )

    async def version(self) -> tuple[int, str, str]:
        """``gemini --version``: exit code, first line of output, tail of stderr."""
        import anyio

        with anyio.fail_after(VERSION_TIMEOUT):
            async with await self.start([self.binary, "--version"], b"") as child:
                line = await child.next_line()
                code = await child.wait()
        text = (line or b"").decode("utf-8", "replace").strip()
        return code, text, child.stderr_tail(500)
