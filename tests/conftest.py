"""What the cross-package tests share: the release tool, loaded from tools/release.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def release() -> ModuleType:
    """tools/release.py as a module (it is a script, not an installed package)."""
    spec = importlib.util.spec_from_file_location("claif_release", ROOT / "tools" / "release.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
