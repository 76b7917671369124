"""Real installed-looking plugins: a dist-info folder with entry points, on a path we choose."""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

ECHO_MODULE = '''
from claif.testing import MockProvider


class EchoProvider(MockProvider):
    """Replies with the prompt, in two parts, so streaming is visible."""

    name = "echo"

    async def query(self, prompt, options=None):
        if prompt == "fail-auth":
            from claif.common.errors import AuthenticationError

            raise AuthenticationError("bad key", provider="echo", status=401)
        if prompt == "sleep":
            import anyio

            print("sleeping", flush=True)
            await anyio.sleep(60)
        half = len(prompt) // 2
        self.enqueue([prompt[:half], prompt[half:]])
        async for message in super().query(prompt, options):
            yield message
'''


def add_plugin(
    root: Path,
    *,
    name: str,
    module: str,
    source: str,
    distribution: str,
    version: str = "1.0.0",
    attr: str = "Provider",
) -> None:
    """Write ``module.py`` and a dist-info that registers it under ``claif.providers``."""
    (root / f"{module}.py").write_text(textwrap.dedent(source))
    dist_info = root / f"{distribution.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
    )
    (dist_info / "entry_points.txt").write_text(f"[claif.providers]\n{name} = {module}:{attr}\n")


def add_echo_plugin(root: Path) -> None:
    """The echo provider, registered as ``echo`` by distribution claif-echo 1.2.3."""
    add_plugin(
        root,
        name="echo",
        module="echo_mod",
        source=ECHO_MODULE,
        distribution="claif-echo",
        version="1.2.3",
        attr="EchoProvider",
    )


def env_with(root: Path, **extra: str) -> dict[str, str]:
    """The current environment with ``root`` on the import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *sys.path])
    env.update(extra)
    return env
