"""Starting the Gemini CLI: which binary, in which folder, with which environment.

The process plumbing itself (process group, stdin, line reading, stderr tail,
ending and reaping) is core's :mod:`claif.process`; this module only decides
what to start.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import weakref
from pathlib import Path

from claif.process import ChildProcess, find_executable, start_child

from .types import INSTALL_HINT, PROVIDER_NAME, GeminiSettings

__all__ = ["CliRunner"]

DEFAULTS_VARIABLE = "GEMINI_CLI_SYSTEM_DEFAULTS_PATH"
SYSTEM_SETTINGS = {
    "darwin": "/Library/Application Support/GeminiCli/settings.json",
    "win32": "C:\\ProgramData\\gemini-cli\\settings.json",
}


class CliRunner:
    """Starts the CLI for one provider instance; the binary is found once, on first use."""

    def __init__(self, settings: GeminiSettings) -> None:
        self.settings = settings
        self.binary = find_executable(
            "gemini", settings.cli_path, install_hint=INSTALL_HINT, provider=PROVIDER_NAME
        )
        self._defaults = _defaults_file(
            {**os.environ, **settings.extra_env}, settings.cli_max_attempts
        )
        if self._defaults is not None:
            weakref.finalize(self, _remove, self._defaults)

    def close(self) -> None:
        """Remove the defaults file written for the CLI."""
        if self._defaults is not None:
            _remove(self._defaults)

    def environment(self) -> dict[str, str]:
        """This process's environment plus ``extra_env``.

        ``GEMINI_CLI_NO_RELAUNCH`` defaults to true: the CLI then runs in the
        process started here instead of relaunching itself (a second node
        start, about a second, behind a parent that ignores SIGTERM).
        """
        env = {"GEMINI_CLI_NO_RELAUNCH": "true", **os.environ, **self.settings.extra_env}
        if self._defaults is not None:
            env[DEFAULTS_VARIABLE] = str(self._defaults)
        return env

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


def _defaults_file(env: dict[str, str], attempts: int) -> Path | None:
    """System defaults for the CLI with ``general.maxAttempts`` set, the existing ones kept.

    The CLI retries a failed API call ten times over minutes on its own; claif's
    retry loop and deadline are the ones that should decide. System defaults
    are the CLI's lowest settings layer, so a user's own ``maxAttempts`` still
    wins. An existing defaults file that cannot be read is left as it is.
    (Measured with the CLI 0.61 against a local server answering 429: exit in
    2 s instead of about 220 s.)
    """
    import sys

    system = SYSTEM_SETTINGS.get(sys.platform, "/etc/gemini-cli/settings.json")
    source = Path(env.get(DEFAULTS_VARIABLE) or Path(system).with_name("system-defaults.json"))
    try:
        existing = json.loads(source.read_text(encoding="utf-8")) if source.is_file() else {}
    except (OSError, ValueError):
        return None
    if not isinstance(existing, dict) or not isinstance(existing.get("general", {}), dict):
        return None
    existing.setdefault("general", {}).setdefault("maxAttempts", attempts)
    folder = private_folder()
    if folder is None:
        return None
    handle, name = tempfile.mkstemp(prefix="defaults-", suffix=".json", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        json.dump(existing, file)
    return Path(name)


def private_folder() -> Path | None:
    """Where the defaults file goes: the CLI skips system files under a folder others can
    write (such as /tmp), so it lives in the user's cache folder, private to them."""
    import platformdirs

    folder = platformdirs.user_cache_path("claif") / "gemini"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        shared = [p for p in (folder, *folder.parents) if p.stat().st_mode & 0o022]
    except OSError:
        return None
    return None if shared else folder  # the CLI would skip the file: no point writing it


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()
