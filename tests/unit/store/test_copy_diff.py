"""A new version that starts as a copy of the live version's shard (copy-and-diff) holds exactly
the points a fresh build of the same source holds, and the live shard is never written."""

import hashlib

import numpy as np

from indexgate.resources import resources
from indexgate.settings import load_settings
from shadow import build_shadow, sync_version

WORDS = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike".split()


def _doc(i: int, shift: int = 0) -> str:
    return " ".join(WORDS[(i + j + shift) % len(WORDS)] for j in range(60)) + "\n"


def _settings(home):
    return load_settings(home=str(home), embedder={"kind": "fake", "model": "fake"}, chunking={"chunk_size": 8})


def _points(store, collection):
    return {p.id: (p.payload, np.round(p.vector, 6).tolist())
            for p in store.scroll(collection, limit=100_000, with_vectors=True)}


def _hashes(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_copy_and_diff_equals_a_fresh_build_and_leaves_the_live_shard_alone(tmp_path, write_corpus):
    old = {f"d{i}.txt": _doc(i) for i in range(10)}
    res = resources(_settings(tmp_path / "state"))
    plan1, outcome = sync_version(res, write_corpus(old, tmp_path / "old"))
    assert outcome.action == "promoted", outcome.reason
    live = tmp_path / "state" / "qdrant" / "shards" / plan1.collection
    before = _hashes(live)

    # d1 keeps its length (same chunk ids and spans) but not its words; d2 is removed; d10 is new.
    new = {**{k: v for k, v in old.items() if k != "d2.txt"}, "d1.txt": _doc(1, shift=5), "d10.txt": _doc(10)}
    plan2 = build_shadow(res, "docs", write_corpus(new, tmp_path / "new"))
    counts = res.registry.load("docs", plan2.version).counts
    assert counts["points_copied"] > 0 and counts["points_copied"] < counts["points_written"]
    assert _hashes(live) == before  # the live version's files were copied, never written

    fresh_res = resources(_settings(tmp_path / "fresh"))
    fresh = build_shadow(fresh_res, "docs", write_corpus(new, tmp_path / "new"))
    assert fresh_res.registry.load("docs", fresh.version).counts["points_copied"] == 0
    assert fresh.version == plan2.version
    got, want = _points(res.store, plan2.collection), _points(fresh_res.store, fresh.collection)
    assert got.keys() == want.keys()
    assert got == want  # same payloads (version included) and vectors
    assert res.store.count(plan2.collection) == len(want)
