"""The smoke check through the alias after a promotion, and the automatic rollback."""

import numpy as np

from indexgate import sync
from indexgate.lifecycle import smoke
from indexgate.lifecycle.promotion import live_version
from indexgate.resources import resources
from indexgate.sync import build_shadow, run_sync


def _shadow(res, alias, root):
    """A shadow built and validated as a sync does, not yet concluded: (plan, gates)."""
    plan = build_shadow(res, alias, root)
    return plan, sync.validate(res, plan)


def _scramble_vectors(res, collection):
    """Store wrong vectors under the right ids: integrity (count, ids, size) still passes."""
    points = res.store.scroll(collection, limit=1000)
    rng = np.random.default_rng(7)
    res.store.upsert(collection, [str(p.id) for p in points], rng.standard_normal((len(points), res.embedder.dimension)),
                     [p.payload for p in points])


DOCS = {f"d{i}.md": f"Document {i} talks about topic{i} and subject{i} in words{i}.\n" for i in range(12)}


def test_passing_smoke_check_keeps_the_promotion(fake_settings, write_corpus):
    res = resources(fake_settings)
    outcome = run_sync(res, "docs", write_corpus(DOCS)).outcome
    assert outcome.action == "promoted"
    smoke_record = res.registry.load("docs", outcome.version).decision["smoke"]
    assert smoke_record["passed"] and smoke_record["kind"] == "chunks" and smoke_record["queries"] == 3


def test_failed_smoke_check_moves_the_alias_back(fake_settings, write_corpus):
    res = resources(fake_settings)
    root = write_corpus(DOCS)
    first = run_sync(res, "docs", root).outcome
    (root / "d0.md").write_text("Document zero was rewritten entirely.\n")
    plan, gates = _shadow(res, "docs", root)
    _scramble_vectors(res, plan.collection)
    assert all(g.passed for g in gates)
    outcome = smoke.after_promotion(res, plan, sync.conclude(res, plan, gates, by="t"), None, by="t")
    assert outcome.action == "rolled_back" and outcome.live == first.version
    assert "smoke check failed after promotion" in outcome.reason and f"moved back to {first.version}" in outcome.reason
    assert live_version(res.store, "docs") == first.version
    manifest = res.registry.load("docs", plan.version)
    assert manifest.state == "rejected" and manifest.decision["action"] == "rolled_back"
    assert res.registry.load("docs", first.version).state == "live"
    assert [(e.action, e.to_version) for e in res.registry.history("docs")][-2:] == [
        ("promote", plan.version), ("rollback", first.version)]


def test_failed_smoke_check_of_a_first_version_removes_the_alias(fake_settings, write_corpus):
    res = resources(fake_settings)
    plan, gates = _shadow(res, "docs", write_corpus(DOCS))
    _scramble_vectors(res, plan.collection)
    outcome = smoke.after_promotion(res, plan, sync.conclude(res, plan, gates, by="t"), None, by="t")
    assert outcome.action == "rolled_back" and outcome.live is None
    assert res.store.alias_target("docs") is None
    assert res.registry.history("docs")[-1].to_version is None


def test_golden_smoke_check_queries_through_the_alias(fake_settings, write_corpus, tmp_path):
    res = resources(fake_settings)
    root = write_corpus(DOCS)
    golden = tmp_path / "golden.jsonl"
    golden.write_text("".join(
        f'{{"query_id": "q{i}", "query": "topic{i} subject{i}", "relevant": [{{"doc_id": "d{i}.md", "start": 0, "end": 10}}]}}\n'
        for i in range(5)))
    outcome = run_sync(res, "docs", root, golden=str(golden)).outcome
    assert outcome.action == "promoted"
    result = smoke.check(res, "docs", outcome.version, str(golden))
    assert result.passed and result.kind == "golden" and result.queries == 3
    # the same check against a version the alias does not serve fails, naming the version served
    other = smoke.check(res, "docs", "0123456789ab", str(golden))
    assert not other.passed and "not 0123456789ab" in other.failures[0]


def test_smoke_samples_are_spread_evenly_over_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from indexgate.lifecycle.smoke import _sample_chunks

    rows = [{"doc_id": f"d{i}", "text_hash": f"h{i}", "text": f"t{i}", "extra": i} for i in range(1000)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "chunks.parquet", row_group_size=77)
    assert _sample_chunks(tmp_path / "chunks.parquet", 5) == [
        {"doc_id": f"d{i}", "text_hash": f"h{i}", "text": f"t{i}"} for i in (0, 250, 500, 749, 999)]
