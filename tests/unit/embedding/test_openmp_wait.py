"""torch's OpenMP threads sleep while they wait (``OMP_WAIT_POLICY=PASSIVE``) in a process that
embeds: set before torch is first imported, so that libgomp reads it; a value the user set is kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# A fresh interpreter: what a sync's process imports, then the embedder (which imports torch).
PROBE = """
import json, os, sys
import indexgate.cli, indexgate.resources, indexgate.sync
before = "torch" in sys.modules
from indexgate.embedding.sentence_transformers import SentenceTransformerEmbedder
from indexgate.settings import EmbedderConfig
SentenceTransformerEmbedder(EmbedderConfig())
print(json.dumps({"torch_before": before, "policy": os.environ.get("OMP_WAIT_POLICY")}))
"""


def probe(**env: str) -> dict:
    environ = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    done = subprocess.run([sys.executable, "-c", PROBE], env={**environ, "HF_HUB_OFFLINE": "1", **env},
                          capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_torch_waits_passively_unless_the_user_says_otherwise(given, expected):
    result = probe(**({"OMP_WAIT_POLICY": given} if given else {}))
    assert result == {"torch_before": False, "policy": expected}
