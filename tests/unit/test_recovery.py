"""Start-up reconciliation after a dead run: orphans, damaged shadows, unrecorded alias moves."""

import numpy as np
import pytest

from indexgate import sync
from indexgate.lifecycle import recovery
from indexgate.lifecycle.promotion import live_version
from indexgate.lifecycle.registry import Event
from indexgate.resources import resources
from indexgate.sync import build_shadow, run_sync

DOCS = {f"d{i}.md": f"Document {i} is about topic{i}, subject{i} and words{i}.\n" for i in range(10)}


def _partial_load(res, plan, n):
    """What a run killed after upserting n points leaves behind."""
    import pyarrow.parquet as pq

    from indexgate.store.load import point_payload

    rows = pq.read_table(plan.chunks_path).to_pylist()[:n]
    vectors = res.cache.get_many(r["text_hash"] for r in rows)
    res.store.create(plan.collection, res.embedder.dimension)
    groups = {d["doc_id"]: d["groups"] for d in res.registry.load(plan.alias, plan.version).documents}
    res.store.upsert(plan.collection, [r["point_id"] for r in rows], np.stack([vectors[r["text_hash"]] for r in rows]),
                     [point_payload(r, plan.version, groups[r["doc_id"]]) for r in rows])


def _points(res, collection):
    points = res.store.scroll(collection, limit=10_000, with_vectors=True)
    return {str(p.id): (p.payload, np.asarray(p.vector)) for p in points}


def test_orphans_are_dropped_but_never_the_live_collection(fake_settings, write_corpus):
    res = resources(fake_settings)
    live = run_sync(res, "docs", write_corpus(DOCS)).outcome.version
    mine = res.registry.installation_id
    res.store.create("docs__deadbeef0000", res.embedder.dimension, owner=mine)  # a shadow whose manifest never got written
    res.store.create("other__deadbeef0000", res.embedder.dimension, owner=mine)  # another alias's: not ours to touch
    res.store.create("docs__0ld000000000", res.embedder.dimension)  # no owner recorded: a manifest elsewhere may name it
    # even with its manifest gone, the collection the alias serves stays
    (res.registry.version_dir("docs", live) / "manifest.json").unlink()
    report = recovery.reconcile(res, "docs")
    assert report.dropped == ("docs__deadbeef0000",)
    assert "left docs__0ld000000000: no manifest here, but created by an unknown installation" in report.notes
    assert res.store.collections() == sorted([f"docs__{live}", "docs__0ld000000000", "other__deadbeef0000"])
    assert live_version(res.store, "docs") == live
    assert recovery.reconcile(res, "docs").dropped == ()  # idempotent


@pytest.mark.adversarial  # issue 19: also run by `pytest -m adversarial`
def test_a_fresh_state_folder_drops_no_version_of_another_installation(fake_settings, tmp_path, write_corpus):
    """Issue 19: workers sharing one store, one of them with a fresh state folder. Its start-up
    reconciliation must keep the other installation's rollback target and unfinished shadow."""
    first = resources(fake_settings)
    root = write_corpus(DOCS)
    old = run_sync(first, "docs", root).outcome.version
    (root / "d0.md").write_text("Document 0 changed.\n")
    live = run_sync(first, "docs", root).outcome.version
    shadow = build_shadow(first, "docs", write_corpus({**DOCS, "d9.md": "Doc nine.\n"}), load=True)
    ours = {f"docs__{old}", f"docs__{live}", shadow.collection}
    assert ours <= set(first.store.collections())
    fresh = resources(fake_settings.model_copy(update={"home": tmp_path / "fresh-state",
                                                       "qdrant_path": first.settings.qdrant_folder}))
    assert fresh.store is first.store  # the same store, a state folder with no manifests
    report = recovery.reconcile(fresh, "docs")
    assert report.dropped == () and ours <= set(first.store.collections())
    assert any("no manifest here, but created by installation" in n for n in report.notes)


def test_a_matching_partial_shadow_is_resumed_with_only_the_missing_points(fake_settings, write_corpus, tmp_path):
    res = resources(fake_settings)
    root = write_corpus(DOCS)
    plan = build_shadow(res, "docs", root, load=False)
    _partial_load(res, plan, 4)
    report = recovery.reconcile(res, "docs")
    assert report.resumable == (plan.version,) and report.dropped == ()
    calls = res.embedder.calls
    written = sync.load(res, plan)
    manifest = res.registry.load("docs", plan.version)
    assert written == manifest.counts["chunks"] == 10 and manifest.counts["points_resumed"] == 4
    assert res.embedder.calls == calls  # nothing embedded again: the cache holds every vector
    assert all(g.passed for g in sync.check_integrity(res, plan))
    # identical to an uninterrupted build of the same inputs in a fresh state directory
    from indexgate.settings import load_settings

    fresh = resources(load_settings(home=str(tmp_path / "fresh"), embedder={"kind": "fake", "model": "fake"}))
    fresh_plan = build_shadow(fresh, "docs", root)
    assert fresh_plan.version == plan.version
    ours, theirs = _points(res, plan.collection), _points(fresh, fresh_plan.collection)
    assert ours.keys() == theirs.keys()
    for pid, (payload, vector) in ours.items():
        assert payload == theirs[pid][0] and np.array_equal(vector, theirs[pid][1])


def test_a_shadow_that_does_not_match_its_manifest_is_discarded(fake_settings, write_corpus):
    res = resources(fake_settings)
    plan = build_shadow(res, "docs", write_corpus(DOCS), load=False)
    _partial_load(res, plan, 3)
    res.store.upsert(plan.collection, ["00000000-0000-0000-0000-00000000beef"], np.ones((1, res.embedder.dimension)),
                     [{"version": "stray"}])
    report = recovery.reconcile(res, "docs")
    assert report.dropped == (plan.collection,) and "1 points not in the chunks table" in report.notes[0]
    assert not res.store.exists(plan.collection)
    assert res.registry.load("docs", plan.version).state == "building"  # still resumable
    sync.load(res, plan)
    assert all(g.passed for g in sync.check_integrity(res, plan))
    assert res.registry.load("docs", plan.version).counts["points_resumed"] == 0


def test_load_itself_discards_a_mismatching_shadow_before_resuming(fake_settings, write_corpus):
    res = resources(fake_settings)
    plan = build_shadow(res, "docs", write_corpus(DOCS), load=False)
    res.store.create(plan.collection, res.embedder.dimension)
    res.store.upsert(plan.collection, ["00000000-0000-0000-0000-00000000beef"], np.ones((1, res.embedder.dimension)),
                     [{"version": "stray"}])
    sync.load(res, plan)
    gates = {g.name: g for g in sync.check_integrity(res, plan)}
    assert gates["integrity.point_ids"].value == "0 missing, 0 extra"


def test_an_unrecorded_promotion_is_recorded_and_smoke_checked(fake_settings, write_corpus):
    res = resources(fake_settings)
    root = write_corpus(DOCS)
    first = run_sync(res, "docs", root).outcome.version
    (root / "d1.md").write_text("Document one changed.\n")
    plan = build_shadow(res, "docs", root)
    res.store.point_alias("docs", plan.collection)  # the dead run's swap; it died before recording it
    report = recovery.reconcile(res, "docs")
    assert report.recorded["action"] == "promote" and report.recorded["from_version"] == first
    assert report.smoke["passed"] and report.live == plan.version
    assert res.registry.load("docs", plan.version).state == "live"
    assert res.registry.load("docs", first).state == "retired"
    assert [e.to_version for e in res.registry.history("docs")] == [first, plan.version]
    again = recovery.reconcile(res, "docs")
    assert again.recorded is None and len(res.registry.history("docs")) == 2  # idempotent


def test_a_recorded_move_whose_manifests_lag_is_completed(fake_settings, write_corpus):
    res = resources(fake_settings)
    root = write_corpus(DOCS)
    first = run_sync(res, "docs", root).outcome.version
    (root / "d1.md").write_text("Document one changed.\n")
    plan = build_shadow(res, "docs", root)
    res.store.point_alias("docs", plan.collection)
    res.registry.record(Event(action="promote", alias="docs", from_version=first, to_version=plan.version, by="dead"))
    report = recovery.reconcile(res, "docs")
    assert report.recorded["by"] == "dead" and len(res.registry.history("docs")) == 2
    assert res.registry.load("docs", plan.version).state == "live"
    assert res.registry.load("docs", first).state == "retired"


def test_an_unrecorded_promotion_of_a_broken_version_is_rolled_back(fake_settings, write_corpus):
    res = resources(fake_settings)
    root = write_corpus(DOCS)
    first = run_sync(res, "docs", root).outcome.version
    (root / "d1.md").write_text("Document one changed.\n")
    plan = build_shadow(res, "docs", root)
    points = res.store.scroll(plan.collection, limit=100)
    res.store.upsert(plan.collection, [str(p.id) for p in points],
                     np.random.default_rng(1).standard_normal((len(points), res.embedder.dimension)),
                     [p.payload for p in points])
    res.store.point_alias("docs", plan.collection)
    report = recovery.reconcile(res, "docs")
    assert not report.smoke["passed"] and report.live == first
    assert live_version(res.store, "docs") == first
    assert res.registry.load("docs", plan.version).state == "rejected"
