"""Shared test set-up: an offline, quiet environment and settings in a temporary state dir."""

from __future__ import annotations

import os

for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "indexgate",
}.items():
    os.environ.setdefault(_key, _value)
# Tests must never read the user's state or a developer's Qdrant server by accident.
for _key in ("INDEXGATE_HOME", "QDRANT_URL", "QDRANT_API_KEY", "INDEXGATE_QDRANT_URL"):
    os.environ.pop(_key, None)

import pytest  # noqa: E402

from indexgate import resources  # noqa: E402
from indexgate.settings import load_settings  # noqa: E402


@pytest.fixture(autouse=True)
def _release_resources():
    """Close store clients after each test so embedded Qdrant folders are unlocked."""
    yield
    resources.reset()


@pytest.fixture
def fake_settings(tmp_path):
    """Settings with the deterministic fake embedder: no model, fast."""
    return load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"})


@pytest.fixture
def write_corpus(tmp_path):
    """Write {relative path: text} under a folder and return the folder."""

    def write(files: dict[str, str], root=None):
        root = root or tmp_path / "corpus"
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
        return root

    return write


def _build_version(settings, alias, root, golden=None):
    """Every step of the sync flow, in its order, as library calls: (plan, outcome)."""
    from indexgate import sync
    from indexgate.html_report import build_report

    res = resources.resources(settings)
    snap = sync.snapshot(str(root))
    plan = sync.plan(res, alias, snap)
    sync.parse(res, plan, str(root), snap)
    sync.chunk(res, plan)
    sync.embed(res, plan)
    sync.load(res, plan)
    found = sync.check_integrity(res, plan) + sync.check_quality(res, plan)
    if golden:
        found += sync.check_relevance(res, plan, str(golden)) + sync.check_latency(res, plan, str(golden))
    outcome = sync.conclude(res, plan, found, by="test")
    build_report(res.registry, alias, plan.version, settings.report)
    return plan, outcome


@pytest.fixture
def build_version():
    """A sync without Prefect (the flow's steps in order), for library-level tests."""
    return _build_version
