"""The conformance suite in a project set up unlike ours: pytest-asyncio strict, no anyio mode."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent / "strict_project"


def test_readme_provider_passes_under_pytest_asyncio_strict_mode(tmp_path):
    """A README-only provider passes the suite on asyncio and trio with pytest-asyncio strict."""
    shutil.copy(PROJECT / "readme_provider_suite.py", tmp_path / "test_readme_provider.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    passed = [
        line for line in done.stdout.splitlines() if line.endswith("PASSED") or " PASSED " in line
    ]
    assert any("[asyncio]" in line for line in passed), done.stdout[-4000:]
    assert any("[trio]" in line for line in passed), done.stdout[-4000:]
    assert "ERROR" not in done.stdout
    assert "FAILED" not in done.stdout
