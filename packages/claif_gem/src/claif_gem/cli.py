"""``claif-gem``: query the Gemini CLI and check it, on core's CLI base.

The binary comes from ``--cli-path``, ``GEMINI_CLI_PATH``, the config file or
PATH; the CLI's own credentials (``GEMINI_API_KEY`` or its login) are its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from claif.cli.base import Flag, ProviderCLI, run_cli

if TYPE_CHECKING:
    from claif.providers.base import BaseProvider

__all__ = ["GeminiCLI", "main"]


class GeminiCLI(ProviderCLI):
    """Ask Gemini through the Gemini CLI (npm install -g @google/gemini-cli)."""

    provider_name: ClassVar[str] = "gemini"
    provider_flags: ClassVar[tuple[Flag, ...]] = (
        Flag("cli_path", "the gemini binary (default: GEMINI_CLI_PATH, then PATH)", metavar="PATH"),
        Flag(
            "approval_mode",
            "tool calls the CLI may run unasked: default, auto_edit, yolo or plan",
            metavar="MODE",
        ),
        Flag("cwd", "the folder the CLI works in", metavar="DIR"),
    )

    def _commands(self) -> list[str]:
        return ["health", "query"]  # the CLI has no model listing to offer

    def make_provider(self) -> BaseProvider:
        """Imported here, so ``--help`` stays fast."""
        from .provider import GeminiProvider

        return GeminiProvider(**self.settings)


def main() -> None:
    """The ``claif-gem`` console script."""
    run_cli(GeminiCLI, name="claif-gem")


if __name__ == "__main__":
    main()
