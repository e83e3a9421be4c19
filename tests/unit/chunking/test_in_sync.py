"""The strategies inside a sync (fake embedder): the chunks table's nullable ``section`` column,
the section in the Qdrant payload, the heading prefix in what is embedded, version ids."""

import numpy as np
import pyarrow.parquet as pq

from indexgate import sync
from indexgate.chunking.corpus import SCHEMA
from indexgate.embedding.batch import CachedEmbedding, embed_chunks
from indexgate.embedding.cache import EmbeddingCache
from fake_embedder import FakeEmbedder
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.store.load import load_chunks
from indexgate.sync import build_shadow

DOCS = {"guide.md": "# Guide\n\nIntro.\n\n## Install\n\nRun the installer and restart.\n",
        "notes.txt": "No headings here. Just two sentences.\n"}


def _build(settings, root):
    res = resources(settings)
    plan = build_shadow(res, "docs", root)
    return res, plan


def test_markdown_sections_reach_the_table_and_the_payload_and_the_prefix_is_embedded(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    settings = load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake"},
                             chunking={"strategy": "markdown", "chunk_size": 8, "heading_prefix": True})
    res, plan = _build(settings, root)
    rows = pq.read_table(plan.chunks_path).to_pylist()
    assert {r["section"] for r in rows} == {"Guide", "Guide > Install", None}
    for r in rows:
        assert DOCS[r["doc_id"]][r["start"]:r["end"]] == r["text"]
        assert r["embed_prefix"] == (f"{r['section']}\n\n" if r["section"] else None)
    points = res.store.scroll(plan.collection, limit=100, with_vectors=True)
    assert {p.payload["section"] for p in points} == {"Guide", "Guide > Install", None}
    install = next(p for p in points if p.payload["section"] == "Guide > Install")
    expected = FakeEmbedder().embed_documents(["Guide > Install\n\n" + install.payload["text"]])[0]
    np.testing.assert_allclose(install.vector, expected, atol=1e-6)
    assert sync.check_integrity(res, plan) and all(g.passed for g in sync.check_integrity(res, plan))


def test_token_window_table_has_an_empty_section_column(tmp_path, write_corpus, fake_settings):
    res, plan = _build(fake_settings, write_corpus(DOCS))
    table = pq.read_table(plan.chunks_path)
    assert table.schema.field("section").nullable and set(table.column("section").to_pylist()) == {None}


def test_each_strategy_is_its_own_version(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    snap = sync.snapshot(str(root))
    versions = set()
    for strategy in ("token_window", "recursive", "sentence", "markdown", "semantic"):
        settings = load_settings(home=str(tmp_path / strategy), embedder={"kind": "fake"},
                                 chunking={"strategy": strategy, "chunk_size": 16})
        versions.add(sync.plan(resources(settings), "docs", snap).version)
    assert len(versions) == 5


def test_tables_written_before_the_section_column_still_embed(tmp_path, write_corpus, fake_settings):
    """A chunks table of an older version (no section / embed_prefix columns) still embeds and loads."""

    res, plan = _build(fake_settings, write_corpus(DOCS))
    old = pq.read_table(plan.chunks_path).select([n for n in SCHEMA.names if n not in ("section", "embed_prefix")])
    path = tmp_path / "old.parquet"
    pq.write_table(old, path)
    cache = EmbeddingCache(tmp_path / "cache", "fp", res.embedder.dimension)
    assert embed_chunks(path, res.embedder, cache).embedded == old.num_rows
    res.store.create("old", res.embedder.dimension)
    assert load_chunks(res.store, "old", path, cache, "v") == old.num_rows
    assert {p.payload["section"] for p in res.store.scroll("old", limit=10)} == {None}


def test_cached_embedding_embeds_each_text_once(tmp_path):
    embedder = FakeEmbedder()
    embed = CachedEmbedding(embedder, EmbeddingCache(tmp_path, embedder.fingerprint.id, embedder.dimension), batch=2)
    first = embed(["a b", "c", "a b", "d e"])
    assert embedder.calls == 3 and first.shape == (4, embedder.dimension)
    np.testing.assert_array_equal(first[0], first[2])
    again = embed(["d e", "c"])
    assert embedder.calls == 3
    np.testing.assert_allclose(again, first[[3, 1]])
