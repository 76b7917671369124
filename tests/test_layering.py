"""The workspace's layers, read from the source: who may import whom.

Providers import only claif's public API and never each other; core imports
no provider and no vendor SDK. Read with ``ast`` from every source file, so a
lazy import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE_SOURCE = ROOT / "shared" / "src" / "claif"
PROVIDERS = {
    path.name: path for path in sorted((ROOT / "packages").glob("*/src/*")) if path.is_dir()
}
VENDOR_SDKS = {"anthropic", "openai", "google", "httpx2"}


def imports(folder: Path) -> list[tuple[Path, int, str]]:
    """Every absolute module a file under ``folder`` imports: (file, line, module)."""
    found = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(path, node.lineno, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append((path, node.lineno, node.module))
                found += [
                    (path, node.lineno, f"{node.module}.{alias.name}")
                    for alias in node.names
                    if node.module == "claif" or node.module.startswith("claif.")
                ]
    return found


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def test_there_are_four_providers():
    assert set(PROVIDERS) == {"claif_myprovider", "claif_gem", "claif_cla", "claif_cod"}


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_a_provider_imports_no_other_provider(name):
    others = set(PROVIDERS) - {name}
    wrong = [
        f"{where(path, line)} imports {module}"
        for path, line, module in imports(PROVIDERS[name])
        if module.split(".")[0] in others
    ]
    assert not wrong


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_a_provider_uses_only_claifs_public_api(name):
    """No module or name of claif whose dotted path has a part starting with ``_``."""
    wrong = [
        f"{where(path, line)} imports {module}"
        for path, line, module in imports(PROVIDERS[name])
        if module.split(".")[0] == "claif"
        and any(part.startswith("_") and part != "__version__" for part in module.split("."))
    ]
    assert not wrong


def test_core_imports_no_provider_and_no_vendor_sdk():
    banned = set(PROVIDERS) | VENDOR_SDKS
    wrong = [
        f"{where(path, line)} imports {module}"
        for path, line, module in imports(CORE_SOURCE)
        if module.split(".")[0] in banned
    ]
    assert not wrong


def test_only_claif_cla_imports_the_anthropic_sdk():
    users = {
        name
        for name, folder in PROVIDERS.items()
        for _, _, module in imports(folder)
        if module.split(".")[0] == "anthropic"
    }
    assert users == {"claif_cla"}
