"""Start-up objects are frozen out of the cyclic garbage collector, once per process: by the first
model load in a sync's process, at start-up in the quality worker. Each case runs in a fresh
interpreter, since freezing is a property of the whole process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FIRST_MODEL = """
import gc, json
from indexgate.resources import embedder_for, models_loaded
from indexgate.settings import load_settings
before = gc.get_freeze_count()
embedder_for(load_settings(embedder={"kind": "fake", "model": "fake-a"}))
first = gc.get_freeze_count()
cycle = []
cycle.append(cycle)  # made after the freeze: still collected
del cycle
collected = gc.collect()
embedder_for(load_settings(embedder={"kind": "fake", "model": "fake-b"}))  # a second model: no new freeze
print(json.dumps({"before": before, "first": first, "second": gc.get_freeze_count(),
                  "collected": collected, "models": models_loaded(),
                  "scanned_after": len(gc.get_objects())}))
"""

WORKER = """
import gc, json
from indexgate.quality.worker_main import start_up
start_up()
print(json.dumps({"frozen": gc.get_freeze_count(), "scanned": len(gc.get_objects())}))
"""


def _run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_first_model_load_freezes_what_the_process_holds_once():
    seen = _run(FIRST_MODEL)
    assert seen["before"] == 0 and seen["models"] == 2
    assert seen["first"] > 50_000  # the imports of a sync's process (pydantic, numpy, the library)
    assert seen["second"] <= seen["first"]  # not frozen again (frozen objects can still be freed)
    assert seen["collected"] >= 1  # a cycle made later is still collected
    assert seen["scanned_after"] < seen["first"] / 10  # what a full collection still scans


def test_the_quality_worker_freezes_great_expectations_at_start_up():
    seen = _run(WORKER)
    assert seen["frozen"] > 100_000 and seen["scanned"] < seen["frozen"] / 10
