"""Incremental sync with the fake embedder: the diff against the live version, rows carried from
its tables, deletions, and the guards that stop a sync before anything is built."""

import os

import pyarrow.parquet as pq
import pytest

from indexgate.errors import MassDeleteHeld, SourceError
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import run_sync

WORDS = ("freight invoice customs pallet routing driver depot carrier manifest tariff warehouse shipment "
         "dock tracking parcel").split()


def _text(i: int) -> str:
    body = " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(40))
    return f"# Document {i}\n\n{body}.\nReference number {i * 1013}.\n"


DOCS = {f"docs/doc-{i:02d}.md": _text(i) for i in range(10)}
# The generated documents repeat 15 words, so many chunks share their text, which the duplicate-text
# suite rejects. These tests are about carrying rows, not about that suite.
REPEATS_ALLOWED = {"modes": {"quality.chunks.duplicate_share": "off"}}


def _settings(tmp_path, name="state", gates=None, **overrides):
    return load_settings(home=str(tmp_path / name), embedder={"kind": "fake", "model": "fake"},
                         chunking={"chunk_size": 12, "chunk_overlap": 2}, gates={**REPEATS_ALLOWED, **(gates or {})},
                         **overrides)


def _rows(path):
    return pq.read_table(path).to_pylist()


def test_one_changed_document_is_the_only_one_parsed_chunked_and_embedded(tmp_path, write_corpus):
    root = write_corpus({f"docs/doc-{i:03d}.md": _text(i) for i in range(100)})
    res = resources(_settings(tmp_path))
    first, _ = run_sync(res, "docs", root)
    (root / "docs/doc-003.md").write_text(_text(3).replace("Reference", "Updated reference"))
    calls = res.embedder.calls
    second, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted"
    assert outcome.changes == {"base": first.version, "added": 0, "changed": 1, "unchanged": 99, "deleted": 0,
                               "relabelled": 0}
    manifest = res.registry.load("docs", second.version)
    changed_chunks = sum(r["doc_id"] == "docs/doc-003.md" for r in _rows(second.chunks_path))
    assert manifest.changes["documents_parsed"] == 1 and manifest.changes["documents_carried"] == 99
    assert manifest.changes["chunks_carried"] == manifest.counts["chunks"] - changed_chunks
    # only the changed document's chunks whose text is new reach the model
    assert 0 < res.embedder.calls - calls == manifest.embedding["embedded"] <= changed_chunks
    assert manifest.embedding["reused"] == manifest.counts["chunks"] - manifest.embedding["embedded"]
    assert [r["doc_id"] for r in _rows(second.parsed_path)] == ["docs/doc-003.md"]

    # the carried tables equal the tables of a build from nothing, row for row
    fresh = resources(_settings(tmp_path, "fresh"))
    third, _ = run_sync(fresh, "docs", root)
    assert third.version == second.version
    assert _rows(third.chunks_path) == _rows(second.chunks_path)
    assert _rows(third.documents_path) == _rows(second.documents_path)


def test_deleted_and_added_documents(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    res = resources(_settings(tmp_path))
    first, _ = run_sync(res, "docs", root)
    gone = {r["point_id"] for r in _rows(first.chunks_path) if r["doc_id"] == "docs/doc-05.md"}
    os.remove(root / "docs/doc-05.md")
    (root / "docs/new.md").write_text("# New\n\nCold chain pallets are checked at the dock every hour.\n")
    second, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted"
    assert outcome.changes == {"base": first.version, "added": 1, "changed": 0, "unchanged": 9, "deleted": 1,
                               "relabelled": 0}
    stored = set(res.store.iter_ids(second.collection))
    assert gone and not gone & stored
    assert gone <= set(res.store.iter_ids(first.collection))  # the old version is untouched
    hits = res.store.search("docs", res.embedder.embed_queries([_text(5)])[0], 50)
    assert hits and "docs/doc-05.md" not in {h.doc_id for h in hits}
    assert "docs/new.md" in {h.doc_id for h in hits}


def test_a_touched_but_unchanged_file_is_carried_with_its_new_metadata(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    res = resources(_settings(tmp_path))
    run_sync(res, "docs", root)
    os.utime(root / "docs/doc-01.md", (1_000_000_000, 1_000_000_000))
    (root / "docs/doc-02.md").write_text("changed\n")
    second, _ = run_sync(res, "docs", root)
    row = next(r for r in _rows(second.documents_path) if r["doc_id"] == "docs/doc-01.md")
    assert row["modified"].startswith("2001-09-09") and row["text"] == DOCS["docs/doc-01.md"]


def test_a_new_chunker_carries_documents_but_chunks_them_again(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    run_sync(resources(_settings(tmp_path)), "docs", root)
    res = resources(load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"},
                                  chunking={"chunk_size": 9, "chunk_overlap": 0}, gates=REPEATS_ALLOWED))
    (root / "docs/doc-02.md").write_text("changed\n")
    plan, outcome = run_sync(res, "docs", root)
    manifest = res.registry.load("docs", plan.version)
    assert outcome.action == "promoted" and outcome.changes["unchanged"] == 9
    assert manifest.changes["documents_carried"] == 9 and manifest.changes["chunks_carried"] == 0
    assert all(r["n_tokens"] <= 9 for r in _rows(plan.chunks_path))


def test_nothing_is_carried_from_a_version_parsed_by_another_parser(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    res = resources(_settings(tmp_path))
    first, _ = run_sync(res, "docs", root)
    old = res.registry.load("docs", first.version)
    old.parser_version = 0
    res.registry.save(old)
    (root / "docs/doc-02.md").write_text("changed\n")
    plan, _ = run_sync(res, "docs", root)
    assert res.registry.load("docs", plan.version).changes["documents_carried"] == 0


def test_unchanged_quarantined_files_are_parsed_again(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    (root / "bad.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00 an image named .txt")
    res = resources(_settings(tmp_path, gates={"max_quarantine_share": 0.5}))
    run_sync(res, "docs", root)
    (root / "docs/doc-02.md").write_text("changed\n")
    plan, _ = run_sync(res, "docs", root)
    manifest = res.registry.load("docs", plan.version)
    assert manifest.changes["documents_parsed"] == 2  # the changed file and the quarantined one
    assert [(q["doc_id"], q["kind"]) for q in manifest.quarantined] == [("bad.txt", "binary")]


def test_mass_delete_is_held_before_anything_is_built_then_allowed(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    res = resources(_settings(tmp_path))
    first, _ = run_sync(res, "docs", root)
    for name in list(DOCS)[:6]:
        os.remove(root / name)
    versions, collections = res.registry.versions("docs"), res.store.collections()
    with pytest.raises(MassDeleteHeld, match=f"delete 6 of the 10 documents that the live version {first.version}"
                                             r" serves .* --alias docs --allow-mass-delete"):
        run_sync(res, "docs", root)
    assert res.registry.versions("docs") == versions and res.store.collections() == collections
    assert res.store.alias_target("docs") == first.collection
    plan, outcome = run_sync(res, "docs", root, allow_mass_delete=True)
    assert outcome.action == "promoted" and outcome.changes["deleted"] == 6
    assert res.store.count(plan.collection) == len(_rows(plan.chunks_path))


def test_an_emptied_source_is_held(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    res = resources(_settings(tmp_path))
    first, _ = run_sync(res, "docs", root)
    for name in DOCS:
        os.remove(root / name)
    with pytest.raises(MassDeleteHeld, match="delete 10 of the 10 documents"):
        run_sync(res, "docs", root)
    assert res.store.alias_target("docs") == first.collection


def test_a_source_that_is_mostly_quarantined_is_not_promoted(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    res = resources(_settings(tmp_path))
    first, _ = run_sync(res, "docs", root)
    for i in range(2):  # 2 of 12 objects: above the default share of 0.1
        (root / f"broken-{i}.txt").write_bytes(b"\x00\x01binary")
    plan, outcome = run_sync(res, "docs", root)
    assert outcome.action == "rejected" and outcome.live == first.version
    gate = next(g for g in outcome.gates if g["name"] == "source.quarantine_share")
    assert (gate["passed"], gate["value"], gate["threshold"]) == (False, 0.1667, "<= 0.1")
    assert "source.quarantine_share = 0.1667 (needs <= 0.1)" in outcome.reason
    assert res.store.alias_target("docs") == first.collection

    lenient = resources(_settings(tmp_path, gates={"max_quarantine_share": 0.2}))
    plan2, outcome2 = run_sync(lenient, "docs", root)
    assert plan2.version == plan.version and outcome2.action == "promoted"


def test_an_unlistable_source_aborts_and_the_live_version_stays(tmp_path, write_corpus, locked_folder):
    root = write_corpus(DOCS)
    res = resources(_settings(tmp_path))
    first, _ = run_sync(res, "docs", root)
    (root / "docs/doc-04.md").write_text("changed\n")
    versions = res.registry.versions("docs")
    with locked_folder(root / "docs"), pytest.raises(SourceError, match="cannot list"):
        run_sync(res, "docs", root)
    with pytest.raises(SourceError, match="source folder not found"):
        run_sync(res, "docs", tmp_path / "unmounted")
    assert res.registry.versions("docs") == versions
    assert res.store.alias_target("docs") == first.collection


def test_a_confirmed_empty_source_builds_an_empty_version(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    res = resources(_settings(tmp_path))
    first, _ = run_sync(res, "docs", root)
    for name in DOCS:
        os.remove(root / name)
    plan, outcome = run_sync(res, "docs", root, allow_mass_delete=True)
    assert outcome.action == "promoted" and outcome.changes["deleted"] == 10
    assert res.store.count("docs") == 0 and res.store.count(first.collection) > 0


def test_a_sync_times_each_step_it_runs_and_tells_after_each(tmp_path, write_corpus):
    from indexgate.sync import SYNC_STEPS

    root = write_corpus(DOCS)
    res = resources(_settings(tmp_path))
    told: list[str] = []
    built = run_sync(res, "docs", root, after_step=lambda name, seconds: told.append(name))
    assert built.outcome.action == "promoted"
    assert told == [name for name, _ in SYNC_STEPS]  # every step, in order
    # Embed and load ran at once: their wall time follows them; then the seconds of the batches
    # embedded while parsing.
    steps = [name for name, _ in SYNC_STEPS]
    assert list(built.seconds) == [*steps[:steps.index("load") + 1], "embed_load_wall", "embed_streamed",
                                   *steps[steps.index("load") + 1:]]
    assert all(seconds >= 0 for seconds in built.seconds.values()) and built.seconds["embed"] > 0
    assert built.seconds["embed_load_wall"] >= max(built.seconds["embed"], built.seconds["load"])
    told.clear()
    again = run_sync(res, "docs", root, after_step=lambda name, seconds: told.append(name))
    assert told == list(again.seconds) == ["reconcile", "snapshot", "plan", "unchanged", "gc"]
