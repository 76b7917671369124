"""How a CodexProvider runs the Codex CLI: settings declared once, resolved by core.

Each comes from the constructor argument, else the environment
(``CODEX_CLI_PATH``, ``CODEX_MODEL``, ``CODEX_SANDBOX`` ...), else
``[providers.codex]`` in the claif config file, else the default below. The CLI
keeps its own credentials (``CODEX_API_KEY`` in its environment, or its login):
this provider never reads or prints an OpenAI key.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from claif.bounds import DEFAULT_MAX_EVENT_BYTES
from claif.settings import (
    Setting,
    as_words,
    environment_words,
    parse_environment,
    positive,
    resolve_settings,
)

__all__ = ["INSTALL_HINT", "PROVIDER_NAME", "SANDBOX_MODES", "SETTINGS", "CodexSettings"]

PROVIDER_NAME = "codex"
INSTALL_HINT = "install the Codex CLI with `npm install -g @openai/codex` or set CODEX_CLI_PATH"
# What --sandbox accepts: commands may read only, write in the workspace, or do anything.
SANDBOX_MODES = ("read-only", "workspace-write", "danger-full-access")


def _overrides(value: str) -> str | None:
    """``-c`` overrides are shell words, each ``dotted.key=TOML value``."""
    try:
        words = shlex.split(value)
    except ValueError as exc:
        return f"must be shell words ({exc})"
    wrong = [word for word in words if "=" not in word or word.startswith("=")]
    return f"must be key=value words, not {wrong[0]!r}" if wrong else None


SETTINGS = (
    Setting(
        "cli_path",
        str,
        optional=True,
        doc="the codex binary (default: the one on PATH)",
    ),
    Setting("model", str, optional=True, doc="-m when a query names none (default: the CLI's)"),
    Setting(
        "sandbox",
        str,
        "read-only",
        choices=SANDBOX_MODES,
        doc="what the commands the agent runs may touch",
    ),
    Setting("cwd", str, optional=True, doc="the agent's working root (--cd)"),
    Setting(
        "skip_git_repo_check",
        bool,
        True,
        doc="run outside a git repository too (--skip-git-repo-check)",
    ),
    Setting(
        "config_overrides",
        str,
        optional=True,
        check=_overrides,
        doc="more -c overrides of the CLI's config, shell words key=value",
    ),
    Setting(
        "extra_env",
        str,
        optional=True,
        check=environment_words,
        doc="more environment for the CLI, as shell words NAME=VALUE",
    ),
    Setting(
        "home",
        str,
        env="CODEX_HOME",
        optional=True,
        doc="the CLI's own home (config, login, sessions); default: its ~/.codex",
    ),
    Setting(
        "max_line_bytes",
        int,
        DEFAULT_MAX_EVENT_BYTES,
        check=positive,
        doc="cap on one line of the CLI's output",
    ),
    Setting("term_grace", float, 2.0, check=positive, doc="seconds between SIGTERM and SIGKILL"),
)


@dataclass(frozen=True)
class CodexSettings:
    """Resolved settings of one provider instance (fields mirror :data:`SETTINGS`)."""

    cli_path: str | None
    model: str | None
    sandbox: str
    cwd: str | None
    skip_git_repo_check: bool
    config_overrides: tuple[str, ...]
    extra_env: Mapping[str, str]
    home: str | None
    max_line_bytes: int
    term_grace: float

    @classmethod
    def resolve(cls, **keywords: Any) -> CodexSettings:
        """Settings from arguments, environment and config; lists and dicts taken as words."""
        for name in ("config_overrides", "extra_env"):
            if name in keywords:
                keywords[name] = as_words(keywords[name])
        values = resolve_settings(PROVIDER_NAME, SETTINGS, keywords)
        values["config_overrides"] = tuple(shlex.split(values["config_overrides"] or ""))
        values["extra_env"] = parse_environment(values["extra_env"] or "")
        return cls(**values)
