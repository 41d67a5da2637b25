"""The knowledge tests use the app's fixtures, with fresh per-process KB caches in every test."""
import pytest

from knowledge.tests.fixtures import FakeAnalysis, analysed, kb_fresh, small_kb  # noqa: F401 - fixtures

__all__ = ["FakeAnalysis"]


@pytest.fixture(autouse=True)
def _fresh_kb_caches(kb_fresh):
    """The local index, matcher and threshold caches outlive a test's transaction: reset them."""
    yield
