"""The package's public face: exports, entry points, lazy imports, and the conformance suite."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points

import pytest

import claif_myprovider
from claif.testing import CLIConformance, ProviderConformance
from claif_myprovider import MyProvider
from claif_myprovider.testing import FakeBackend, MyProviderHarness


def test_all_is_sorted_and_complete():
    """__all__ is sorted and every name in it exists."""
    assert claif_myprovider.__all__ == sorted(claif_myprovider.__all__)
    for name in claif_myprovider.__all__:
        assert hasattr(claif_myprovider, name)


def test_testing_all_is_sorted():
    """The fake backend module's __all__ is sorted too."""
    from claif_myprovider import testing

    assert testing.__all__ == sorted(testing.__all__)


def test_entry_point_loads_the_provider_class():
    """The claif.providers entry point `myprovider` names MyProvider."""
    (point,) = [ep for ep in entry_points(group="claif.providers") if ep.name == "myprovider"]
    assert point.value == "claif_myprovider:MyProvider"
    assert point.load() is MyProvider


def test_import_loads_no_http_client():
    """Importing the package and choosing the provider does not import httpx."""
    code = (
        "import sys, claif_myprovider; claif_myprovider.MyProvider(base_url='http://127.0.0.1:1');"
        "print('httpx' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_capabilities_are_declared_as_data():
    """Capabilities are a class-level frozenset from core's vocabulary."""
    assert {"text", "streaming", "tools", "vision"} <= {c.value for c in MyProvider.capabilities}


class TestMyProviderConformance(ProviderConformance):
    """Core's contract tests, run against MyProvider and its fake backend."""

    @pytest.fixture
    def harness(self, backend: FakeBackend) -> MyProviderHarness:
        return MyProviderHarness(backend)


class TestMyProviderCLIConformance(CLIConformance):
    """Core's command-line tests, run against the real claif-myp and the fake backend."""

    @pytest.fixture
    def harness(self, backend: FakeBackend) -> MyProviderHarness:
        return MyProviderHarness(backend)
