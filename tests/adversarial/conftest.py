"""Every test in this folder is marked ``adversarial``: ``pytest -m adversarial`` runs them all."""

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/tests/adversarial/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.adversarial)
