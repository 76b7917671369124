"""Async tests run on anyio's pytest plugin (``anyio_mode = "auto"`` in pyproject).

pytest-asyncio stays installed in its strict mode, which is how a third-party
provider project typically has it, and so handles nothing here. Our own tests
run on asyncio; the conformance suite asks for asyncio and trio itself.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
