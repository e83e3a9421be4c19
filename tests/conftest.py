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
# Tests must never read the user's state or a developer's Qdrant server by accident: only tests
# marked `server` use QDRANT_URL, through the `qdrant_url` fixture.
QDRANT_SERVER_URL = os.environ.get("QDRANT_URL")
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


@pytest.fixture
def qdrant_url():
    """The Qdrant server of `server` tests (QDRANT_URL); skips the test when none is set."""
    if not QDRANT_SERVER_URL:
        pytest.skip("needs a Qdrant server: set QDRANT_URL (e.g. http://127.0.0.1:6333) to run it")
    return QDRANT_SERVER_URL


@pytest.fixture
def library_sync():
    """A whole sync through the library, without Prefect, in the order of flows/sync.py:
    reconcile, plan, build, gates, promote, smoke check, gc. Returns the outcome."""
    from indexgate import recovery, retention, smoke, sync
    from indexgate.locking import sync_lock

    def run(res, alias, root, golden=None, by="test"):
        with sync_lock(res.settings.home, alias, res.settings.lifecycle.wait_s):
            recovery.reconcile(res, alias, golden)
            snap = sync.snapshot(str(root))
            plan = sync.plan(res, alias, snap)
            if plan.action == "noop":
                outcome = sync.unchanged(res, plan)
            else:
                sync.parse(res, plan, str(root), snap)
                sync.chunk(res, plan)
                sync.embed(res, plan)
                sync.load(res, plan)
                gates = sync.check_integrity(res, plan)
                if golden:
                    gates += sync.check_relevance(res, plan, golden)
                outcome = smoke.after_promotion(res, plan, sync.conclude(res, plan, gates, by=by), golden, by)
            retention.gc(res, alias, (plan.version,))
        return outcome

    return run
