"""``claif-myp``: query, health and models from the shell, on core's CLI base.

The server comes from ``--base-url``, ``MYPROVIDER_BASE_URL`` or the config file; the key
from ``MYPROVIDER_API_KEY``, ``claif keys set myprovider`` or the config file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from claif.cli.base import Flag, ProviderCLI, run_cli

if TYPE_CHECKING:
    from claif.providers.base import BaseProvider

__all__ = ["MyProviderCLI", "main"]


class MyProviderCLI(ProviderCLI):
    """Talk to any OpenAI-compatible server (set MYPROVIDER_BASE_URL to choose one)."""

    provider_name: ClassVar[str] = "myprovider"
    provider_flags: ClassVar[tuple[Flag, ...]] = (
        Flag(
            "base_url",
            "the server's API root, up to /v1 (default: MYPROVIDER_BASE_URL)",
            metavar="URL",
        ),
    )

    def make_provider(self) -> BaseProvider:
        """Imported here, so ``--help`` never loads httpx."""
        from .provider import MyProvider

        return MyProvider(**self.settings)


def main() -> None:
    """The ``claif-myp`` console script."""
    run_cli(MyProviderCLI, name="claif-myp")


if __name__ == "__main__":
    main()
