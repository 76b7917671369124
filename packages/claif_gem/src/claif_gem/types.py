"""How a GeminiProvider runs the Gemini CLI: settings declared once, resolved by core.

Each comes from the constructor argument, else the environment
(``GEMINI_CLI_PATH``, ``GEMINI_MODEL``, ``GEMINI_APPROVAL_MODE`` ...), else
``[providers.gemini]`` in the claif config file, else the default below. The
CLI keeps its own credentials (``GEMINI_API_KEY`` in its environment, or its
login): this provider never reads or stores a Gemini key.
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
    shell_words,
)

__all__ = [
    "APPROVAL_MODES",
    "INSTALL_HINT",
    "PROVIDER_NAME",
    "SETTINGS",
    "GeminiSettings",
]

PROVIDER_NAME = "gemini"
INSTALL_HINT = (
    "install the Gemini CLI with `npm install -g @google/gemini-cli` or set GEMINI_CLI_PATH"
)
# What --approval-mode accepts in the CLI 0.61: ask, accept edits, accept all, plan only.
APPROVAL_MODES = ("default", "auto_edit", "yolo", "plan")


SETTINGS = (
    Setting(
        "cli_path",
        str,
        env="GEMINI_CLI_PATH",
        optional=True,
        doc="the gemini binary (default: the one on PATH)",
    ),
    Setting(
        "model", str, optional=True, doc="--model when a query names none (default: the CLI's)"
    ),
    Setting(
        "approval_mode",
        str,
        "default",
        choices=APPROVAL_MODES,
        doc="which tool calls the CLI runs without asking; headless, 'default' runs none",
    ),
    Setting(
        "extra_args", str, optional=True, check=shell_words, doc="more CLI arguments, shell words"
    ),
    Setting("cwd", str, optional=True, doc="the CLI's working directory (its workspace)"),
    Setting(
        "extra_env",
        str,
        optional=True,
        check=environment_words,
        doc="more environment for the CLI, as shell words NAME=VALUE",
    ),
    Setting(
        "max_line_bytes",
        int,
        DEFAULT_MAX_EVENT_BYTES,
        check=positive,
        doc="cap on one line of the CLI's output",
    ),
    Setting("term_grace", float, 2.0, check=positive, doc="seconds between SIGTERM and SIGKILL"),
    Setting(
        "cli_max_attempts",
        int,
        1,
        check=positive,
        doc="attempts the CLI makes per API call itself (claif's retries wrap the whole run)",
    ),
)


@dataclass(frozen=True)
class GeminiSettings:
    """Resolved settings of one provider instance (fields mirror :data:`SETTINGS`)."""

    cli_path: str | None
    model: str | None
    approval_mode: str
    extra_args: tuple[str, ...]
    cwd: str | None
    extra_env: Mapping[str, str]
    max_line_bytes: int
    term_grace: float
    cli_max_attempts: int

    @classmethod
    def resolve(cls, **keywords: Any) -> GeminiSettings:
        """Settings from arguments, environment and config; ``extra_env`` may be a dict."""
        for name in ("extra_args", "extra_env"):
            if name in keywords:
                keywords[name] = as_words(keywords[name])
        values = resolve_settings(PROVIDER_NAME, SETTINGS, keywords)
        values["extra_args"] = tuple(shlex.split(values["extra_args"] or ""))
        values["extra_env"] = parse_environment(values["extra_env"] or "")
        return cls(**values)
