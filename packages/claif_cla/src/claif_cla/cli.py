"""``claif-cla``: query Claude and check the API, on core's CLI base.

The key comes from ``ANTHROPIC_API_KEY``, ``claif keys set claude`` or the
config file; the API root from ``--base-url``, ``ANTHROPIC_BASE_URL`` or config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from claif.cli.base import Flag, ProviderCLI, run_cli

if TYPE_CHECKING:
    from claif.providers.base import BaseProvider

__all__ = ["ClaudeCLI", "main"]


class ClaudeCLI(ProviderCLI):
    """Ask Claude through Anthropic's Messages API."""

    provider_name: ClassVar[str] = "claude"
    provider_flags: ClassVar[tuple[Flag, ...]] = (
        Flag("base_url", "the API root (default: ANTHROPIC_BASE_URL)", metavar="URL"),
    )

    def make_provider(self) -> BaseProvider:
        """Imported here, so ``--help`` never loads the SDK."""
        from .provider import ClaudeProvider

        return ClaudeProvider(**self.settings)


def main() -> None:
    """The ``claif-cla`` console script."""
    run_cli(ClaudeCLI, name="claif-cla")


if __name__ == "__main__":
    main()
