"""Fixtures of the search API tests."""

import pytest
from serving_corpus import DOCS

from indexgate.resources import resources
from indexgate.sync import run_sync


@pytest.fixture
def two_versions(fake_settings, write_corpus):
    """The alias ``docs`` with two promoted versions (the second one live): (first, second)."""
    res = resources(fake_settings)
    root = write_corpus(DOCS)
    _, first = run_sync(res, "docs", root)
    (root / "canteen.md").write_text("The canteen serves lunch from noon until two.\n")
    _, second = run_sync(res, "docs", root)
    assert first.action == second.action == "promoted"
    return first.version, second.version
