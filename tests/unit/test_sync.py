"""The sync steps as a library, with the fake embedder (no model, no Prefect)."""

import pyarrow.parquet as pq
import pytest

from indexgate import sync
from indexgate.errors import ConfigError
from indexgate.evaluation import doc_metrics
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import build_shadow, run_sync

DOCS = {
    "hr/leave.md": "# Leave\n\nEmployees get 28 days of paid leave per year.\n",
    "ops/backup.txt": "Backups run nightly at 02:00 UTC and are kept for 35 days.\n",
    "bad.txt": "",  # replaced by binary bytes below
}


def _corpus(write_corpus):
    root = write_corpus({k: v for k, v in DOCS.items() if k != "bad.txt"})
    (root / "bad.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    return root


def _parsed(res, root):
    """A plan for alias docs over ``root``, its documents parsed (the build's first steps)."""
    snap = sync.snapshot(str(root))
    plan = sync.plan(res, "docs", snap)
    sync.parse(res, plan, str(root), snap)
    return plan


@pytest.fixture
def lenient(tmp_path):
    """The fake embedder, and a policy that lets one file in three be quarantined (bad.txt, on purpose)."""
    return load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"},
                         gates={"max_quarantine_share": 0.5})


def test_build_promote_then_noop(lenient, write_corpus):
    res = resources(lenient)
    root = _corpus(write_corpus)
    plan, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted" and outcome.live == plan.version
    manifest = res.registry.load("docs", plan.version)
    assert manifest.state == "live"
    assert manifest.counts["documents"] == 2 and manifest.counts["quarantined"] == 1
    assert manifest.quarantined == [{"doc_id": "bad.txt", "kind": "binary",
                                     "reason": "binary content in a text file: it is a PNG image"}]
    assert manifest.embedding["embedded"] == manifest.counts["chunks"] > 0
    # validate timed each gate family it ran (no golden set: no relevance, no latency)
    timed = {k.removeprefix("gates_").removesuffix("_s"): v for k, v in manifest.timings.items()
             if k.startswith("gates_")}
    assert set(timed) == {"integrity", "access", "guardrails", "quarantine", "quality"} <= set(sync.GATE_FAMILIES)
    assert all(isinstance(v, float) and v >= 0 for v in timed.values())
    rows = pq.read_table(plan.chunks_path).to_pylist()
    texts = {d: t for d, t in DOCS.items()}
    for row in rows:
        assert texts[row["doc_id"]][row["start"]:row["end"]] == row["text"]
    collections = res.store.collections()
    embedded_before = res.embedder.calls

    plan2, outcome2 = run_sync(res, "docs", root)
    assert (plan2.version, outcome2.action) == (plan.version, "unchanged")
    assert res.store.collections() == collections and res.embedder.calls == embedded_before


def test_changed_file_embeds_only_its_chunks(lenient, write_corpus):
    res = resources(lenient)
    root = _corpus(write_corpus)
    first, _ = run_sync(res, "docs", root)
    (root / "ops/backup.txt").write_text("Backups run hourly and are kept for 90 days.\n")
    calls = res.embedder.calls
    second, outcome = run_sync(res, "docs", root)
    assert second.version != first.version and outcome.action == "promoted"
    manifest = res.registry.load("docs", second.version)
    assert manifest.embedding["embedded"] == 1 and manifest.embedding["reused"] == manifest.counts["chunks"] - 1
    assert res.embedder.calls == calls + 1
    assert res.registry.load("docs", first.version).state == "retired"


def test_integrity_gate_fails_when_the_store_lost_a_point(fake_settings, write_corpus):
    res = resources(fake_settings)
    root = _corpus(write_corpus)
    plan = build_shadow(res, "docs", root)
    victim = next(res.store.iter_ids(plan.collection))
    res.store.delete_points(plan.collection, [victim])
    gates = {g.name: g for g in sync.check_integrity(res, plan)}
    assert not gates["integrity.point_count"].passed
    assert gates["integrity.point_ids"].value == "1 missing, 0 extra"
    outcome = sync.conclude(res, plan, list(gates.values()), by="test")
    assert outcome.action == "rejected" and "integrity.point_count" in outcome.reason
    assert res.store.alias_target("docs") is None
    assert res.registry.load("docs", plan.version).state == "rejected"


def test_interrupted_build_resumes_to_the_same_version(lenient, write_corpus):
    res = resources(lenient)
    root = _corpus(write_corpus)
    plan = _parsed(res, root)
    sync.chunk(res, plan)  # ... and the process dies here
    plan2, outcome = run_sync(res, "docs", root)
    assert plan2.version == plan.version and outcome.action == "promoted"


def test_bad_alias_is_refused(fake_settings, write_corpus):
    res = resources(fake_settings)
    snap = sync.snapshot(str(_corpus(write_corpus)))
    for alias in ("a__b", "", "has space", "-x"):
        with pytest.raises(ConfigError, match="invalid alias"):
            sync.plan(res, alias, snap)


def test_chunk_size_above_model_maximum_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="chunking: chunk size 600 exceeds"):
        resources(load_settings(home=str(tmp_path), embedder={"kind": "fake"}, chunking={"chunk_size": 600}))


def test_beir_corpus_syncs_and_scores_at_document_level(fake_settings, beir_dir):
    res = resources(fake_settings)
    plan, outcome = run_sync(res, "beir", f"beir:{beir_dir}")
    assert outcome.action == "promoted" and outcome.changes["added"] == 6
    result = sync.score(res, plan, f"beir:{beir_dir}")
    assert set(result.metrics) == {"ndcg", "recall", "mrr"} and result.n_queries == 3 and not result.unscorable
    by_id = {row["query_id"]: row for row in result.per_query}
    # the metrics of each query are those of its ranked documents (distinct, best chunk first)
    for qid, grades in (("q1", {"d1": 2, "d2": 1}), ("q2", {"d3": 1}), ("q3", {"d5": 1, "d6": 0})):
        ranked = by_id[qid]["documents"]
        assert len(ranked) == len(set(ranked)) == 5
        assert by_id[qid]["ndcg"] == doc_metrics.ndcg(ranked, grades, 5)
        assert by_id[qid]["recall"] == doc_metrics.recall(ranked, grades, 5)
    assert result.metrics["recall"] == 1.0  # 6 documents, k=5: only a bad ranking could miss one
    gates = {g.name: g for g in sync.check_relevance(res, plan, f"beir:{beir_dir}")}
    assert {"relevance.recall@5", "relevance.ndcg@5", "relevance.mrr@5"} <= set(gates)
    assert "relevance.span_recall@5" not in gates


def test_a_build_starts_its_quality_suites_as_each_table_is_final(fake_settings, write_corpus):
    from indexgate.quality import worker

    res = resources(fake_settings)
    plan = _parsed(res, _corpus(write_corpus))
    assert worker._STARTED[worker._key(plan.workdir)][1].sent == {"documents"}
    sync.chunk(res, plan)
    assert worker._STARTED[worker._key(plan.workdir)][1].sent == {"documents", "chunks"}
    sync.embed(res, plan)
    assert worker._STARTED[worker._key(plan.workdir)][1].sent == {"documents", "chunks", "embeddings"}
    sync.load(res, plan)
    [quality] = [g for g in sync.validate(res, plan) if g.name == "quality.chunks.unique_ids"]
    assert quality.passed and worker._key(plan.workdir) not in worker._STARTED  # collected


def test_scratch_builds_start_no_quality_suites(fake_settings, write_corpus):
    from indexgate.quality import worker

    scratch = sync.scratch_settings(fake_settings)
    assert scratch.gates.mode("quality") == "off" and fake_settings.gates.mode("quality") == "block"
    res = resources(scratch)
    plan = build_shadow(res, sync.scratch_alias(), _corpus(write_corpus))
    try:
        assert worker._key(plan.workdir) not in worker._STARTED
    finally:
        sync.discard_scratch(res)


def test_a_scratch_build_leaves_no_folder_whether_it_fails_or_is_discarded(fake_settings, write_corpus,
                                                                          tmp_path, monkeypatch):
    import tempfile

    from indexgate.errors import EmptySource

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptySource):  # a first build of an empty source is refused at the plan
        sync.build_scratch(fake_settings, str(tmp_path / "empty"), sync.snapshot(str(tmp_path / "empty")))
    assert list((tmp_path / "tmp").iterdir()) == []
    root = _corpus(write_corpus)
    res, plan = sync.build_scratch(fake_settings, str(root), sync.snapshot(str(root)))
    assert res.settings.home.parent == tmp_path / "tmp" and res.store.count(plan.collection) > 0
    sync.discard_scratch(res)
    assert list((tmp_path / "tmp").iterdir()) == []


def test_the_chunk_step_counts_the_texts_the_embedding_cache_lacks(fake_settings, write_corpus):
    # The flow embeds a change of at most batch_size such texts in one task (flows/embedding.py).
    res = resources(fake_settings)
    root = write_corpus({"a.md": "Alpha text about ships.\n", "b.md": "Beta text about trains.\n",
                         "c.md": "Beta text about trains.\n"})  # the same text as b.md: one vector
    plan = _parsed(res, root)
    first = sync.chunk(res, plan)
    assert (first["chunks"], first["uncached"]) == (3, 2)
    sync.embed(res, plan)
    sync.load(res, plan)
    sync.conclude(res, plan, sync.check_integrity(res, plan), by="test")
    (root / "a.md").write_text("Alpha text about ships and ports.\n")
    again = sync.chunk(res, _parsed(res, root))
    assert (again["chunks"], again["carried"], again["uncached"]) == (3, 2, 1)
