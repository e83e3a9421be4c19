"""A no-op sync with the packaged model loads no weights and imports no torch (a new process,
as `indexgate sync` runs from a shell, after one real sync made the model's record)."""

from __future__ import annotations

import json
import subprocess
import sys

from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import run_sync

NOOP = """
import json, sys
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import run_sync
res = resources(load_settings(home=sys.argv[1]))
plan, outcome = run_sync(res, "docs", sys.argv[2])
print(json.dumps({"action": plan.action, "loaded": res.embedder._model is not None,
                  "imported": sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules)}))
"""


def test_a_noop_sync_loads_no_model(tmp_path, write_corpus):
    root = write_corpus({"a.md": "# Leave\n\nEmployees get 28 days of paid leave per year.\n",
                         "b.txt": "Backups run nightly at 02:00 UTC and are kept for 35 days.\n"})
    home = tmp_path / "state"
    first, _ = run_sync(resources(load_settings(home=str(home))), "docs", root)  # embeds: writes the record
    assert first.action != "noop"
    done = subprocess.run([sys.executable, "-c", NOOP, str(home), str(root)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {"action": "noop", "loaded": False, "imported": []}
