"""SIGKILL a real `indexgate sync` (real model, embedded Qdrant, the session's Prefect server)
before building, in the middle of embedding, in the middle of upserting and right after the
alias swap; then run the same sync again. It must resume the same version, embed only what is
missing, end with a collection identical to an uninterrupted build, and the alias must never
point at a partial collection."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from processes import Run

from indexgate.lifecycle.registry import Registry
from indexgate.store import connect, disconnect

ALIAS = "crash"  # not "docs": other flow tests count the artifacts of that alias
# Without the Prefect limit per alias: a killed run's leased slot would keep the alias busy for a
# minute, and this test resumes at once (it is about the state folder and the store).
CONFIG = "chunking: {chunk_size: 16, chunk_overlap: 0}\nbatch_size: 2\nlifecycle: {prefect_limit: false}\n"
NEW_DOCS = {
    "security/badges.md": "# Badges\n\nVisitors wear a red badge and are escorted at all times. Lost badges are "
                          "reported to the front desk within one hour so they can be disabled.\n",
    "finance/invoices.txt": "Invoices are paid within 30 days of receipt. Invoices above 10,000 euros need a second "
                            "approval from the finance controller before payment.\n",
}


def _sync(corpus, state, workdir, config, pause=None):
    return Run(["sync", "--source", str(corpus), "--alias", ALIAS, "--state-dir", str(state), "--config", str(config),
                "--json"], workdir, pause=pause)


def _store_view(state):
    """(alias target, {collection: {id: (payload, vector)}}) read from the embedded store, then released."""
    store = connect(path=state / "qdrant")
    try:
        points = {}
        for name in store.collections():
            found = store.scroll(name, limit=10_000, with_vectors=True)
            points[name] = {str(p.id): (p.payload, np.asarray(p.vector, dtype=np.float32)) for p in found}
        return store.alias_target(ALIAS), points
    finally:
        disconnect(store)


def _cache_rows(state):
    parts = sorted((state / "cache" / "embeddings").rglob("part-*.arrow"))
    assert parts, "the sync cached no vector"
    return [h for p in parts for h in pa.ipc.open_file(pa.memory_map(str(p))).read_all().column("text_hash").to_pylist()]


def test_sigkill_at_every_stage_then_resume(corpus, tmp_path):
    config = tmp_path / "crash.yaml"
    config.write_text(CONFIG)
    state, work = tmp_path / "state", tmp_path / "runs"

    first = _sync(corpus, state, work, config)
    assert first.finish() == 0, first.stderr()[-3000:]
    a = json.loads(first.stdout())["version"]
    texts_a = len(set(_cache_rows(state)))
    shutil.copytree(corpus, tmp_path / "corpus-a")

    for rel, text in NEW_DOCS.items():
        (corpus / rel).parent.mkdir(parents=True, exist_ok=True)
        (corpus / rel).write_text(text)
    registry = Registry(state)

    # 1. killed right after planning, before anything of the new version is built
    run = _sync(corpus, state, work, config, pause="plan")
    run.wait_paused()
    run.kill()
    [b] = [m.version for m in registry.versions(ALIAS) if m.version != a]
    assert registry.load(ALIAS, b).state == "building"
    assert _store_view(state)[0] == f"{ALIAS}__{a}"

    # 2. killed in the middle of embedding (after the first batch of new vectors is cached)
    run = _sync(corpus, state, work, config, pause="embed")
    run.wait_paused()
    run.kill()
    embedded_before_kill = len(set(_cache_rows(state))) - texts_a
    assert embedded_before_kill > 0
    target, collections = _store_view(state)
    assert target == f"{ALIAS}__{a}" and f"{ALIAS}__{b}" not in collections

    # 3. killed in the middle of upserting into the shadow
    run = _sync(corpus, state, work, config, pause="load")
    run.wait_paused()
    run.kill()
    manifest = registry.load(ALIAS, b)
    chunks = manifest.counts["chunks"]
    target, collections = _store_view(state)
    assert target == f"{ALIAS}__{a}"  # the alias never saw the partial collection
    assert 0 < len(collections[f"{ALIAS}__{b}"]) < chunks
    # resumed: only what the killed run had not embedded went to the model
    texts_b = len(set(pq.read_table(registry.version_dir(ALIAS, b) / "chunks.parquet",
                                    columns=["text_hash"]).column(0).to_pylist()))
    new_texts = len(set(_cache_rows(state))) - texts_a
    assert manifest.embedding["embedded"] == new_texts - embedded_before_kill > 0
    assert manifest.embedding["embedded"] + manifest.embedding["reused"] == chunks >= texts_b

    # 4. killed right after the alias swap, before the move was recorded
    run = _sync(corpus, state, work, config, pause="swap")
    run.wait_paused()
    run.kill()
    manifest = registry.load(ALIAS, b)
    assert manifest.counts["points_resumed"] > 0  # the partial shadow was verified and completed
    assert manifest.state == "building" and [e.to_version for e in registry.history(ALIAS)] == [a]
    assert _store_view(state)[0] == f"{ALIAS}__{b}"  # the complete, gated version

    # 5. the same sync again: reconciles the unrecorded promotion, smoke-checks it, nothing to build
    final = _sync(corpus, state, work, config)
    assert final.finish() == 0, final.stderr()[-3000:]
    result = json.loads(final.stdout())
    assert (result["action"], result["version"], result["live"]) == ("unchanged", b, b)
    assert result["recovery"]["recorded"]["to_version"] == b and result["recovery"]["smoke"]["passed"]
    assert [(e.to_version, e.by) for e in registry.history(ALIAS)][-1] == (b, "recovery")
    assert registry.load(ALIAS, b).state == "live" and registry.load(ALIAS, a).state == "retired"

    # nothing was embedded twice across the five processes
    rows = _cache_rows(state)
    assert len(rows) == len(set(rows))

    # the collection equals an uninterrupted build of the same history in another state folder
    ref_state = tmp_path / "reference"
    for source in (tmp_path / "corpus-a", corpus):
        ref = _sync(source, ref_state, tmp_path / "ref-runs", config)
        assert ref.finish() == 0, ref.stderr()[-3000:]
    target, ours = _store_view(state)
    ref_target, theirs = _store_view(ref_state)
    assert target == ref_target == f"{ALIAS}__{b}"
    ours, theirs = ours[target], theirs[target]
    assert ours.keys() == theirs.keys() and len(ours) == chunks
    for pid, (payload, vector) in ours.items():
        assert payload == theirs[pid][0]
        np.testing.assert_array_equal(vector, theirs[pid][1])
