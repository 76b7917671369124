"""``claif-cod``: ask the Codex agent and check it, on core's CLI base.

The binary comes from ``--cli-path``, ``CODEX_CLI_PATH``, the config file or
PATH; the CLI's own credentials (``CODEX_API_KEY`` or its login) are its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from claif.cli.base import Flag, ProviderCLI, run_cli

if TYPE_CHECKING:
    from claif.providers.base import BaseProvider

__all__ = ["CodexCLI", "main"]


class CodexCLI(ProviderCLI):
    """Ask the Codex agent through the Codex CLI (npm install -g @openai/codex)."""

    provider_name: ClassVar[str] = "codex"
    provider_flags: ClassVar[tuple[Flag, ...]] = (
        Flag("cli_path", "the codex binary (default: CODEX_CLI_PATH, then PATH)", metavar="PATH"),
        Flag(
            "sandbox",
            "what the agent's commands may touch: read-only, workspace-write or danger-full-access",
            metavar="MODE",
        ),
        Flag("cd", "the folder the agent works in", metavar="DIR"),
    )

    def _commands(self) -> list[str]:
        return ["health", "query"]  # the CLI has no model listing to offer

    def make_provider(self) -> BaseProvider:
        """Imported here, so ``--help`` stays fast; ``--cd`` is the ``cwd`` setting."""
        from .provider import CodexProvider

        settings = dict(self.settings)
        if "cd" in settings:
            settings["cwd"] = settings.pop("cd")
        return CodexProvider(**settings)


def main() -> None:
    """The ``claif-cod`` console script."""
    run_cli(CodexCLI, name="claif-cod")


if __name__ == "__main__":
    main()
