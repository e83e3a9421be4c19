"""Embedding batches: planning, embedding one batch, several processes writing one cache, and the
check that the vectors batches wrote elsewhere are visible before anything is loaded."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from indexgate import sync
from indexgate.chunking.corpus import SCHEMA
from indexgate.embedding.batch import EmbedBatch, embed_batch, embed_chunks, iter_batches, plan_batches
from indexgate.embedding.cache import EmbeddingCache
from fake_embedder import FakeEmbedder
from indexgate.errors import ConfigError, EmbeddingError
from indexgate.hashing import sha256_text
from indexgate.resources import embedding_for, models_loaded, resources
from indexgate.settings import EmbedderConfig, load_settings


def _table(path: Path, texts: list[str], prefixes: dict[int, str] | None = None) -> Path:
    rows = [{"chunk_id": f"c{i}", "point_id": f"p{i}", "doc_id": "d", "start": i, "end": i + 1,
             "n_tokens": len(t.split()), "text_hash": sha256_text((prefixes or {}).get(i, "") + t), "text": t,
             "page": None, "section": None, "embed_prefix": (prefixes or {}).get(i)} for i, t in enumerate(texts)]
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return path


def test_batches_hold_each_missing_text_once_in_table_order(tmp_path):
    embedder = FakeEmbedder(dimension=8)
    cache = EmbeddingCache(tmp_path / "cache", embedder.fingerprint.id, 8)
    cache.put_many([sha256_text("b b")], embedder.embed_documents(["b b"]))
    texts = ["a", "b b", "c c c", "a", "d", "e", "f"]
    chunks = _table(tmp_path / "chunks.parquet", texts, prefixes={5: "Guide\n\n"})
    plan = plan_batches(chunks, cache, size=2)
    assert plan.chunks == 7 and plan.texts == 5
    assert [b.texts for b in plan.batches] == [("a", "c c c"), ("d", "Guide\n\ne"), ("f",)]
    assert [b.index for b in plan.batches] == [0, 1, 2]
    assert plan.batches[0].n_tokens == (1, 3)
    assert plan.batches[1].text_hashes[1] == sha256_text("Guide\n\ne")
    assert list(iter_batches(chunks, cache, size=2)) == list(plan.batches)  # deterministic

    for batch in plan.batches:
        embed_batch(batch, embedder, cache)
    assert plan_batches(chunks, cache, size=2).batches == ()  # everything cached: nothing to fan out


def test_a_batch_embeds_only_what_the_cache_still_lacks(tmp_path):
    embedder = FakeEmbedder(dimension=8)
    cache = EmbeddingCache(tmp_path, embedder.fingerprint.id, 8)
    batch = EmbedBatch(3, (sha256_text("x"), sha256_text("y z")), ("x", "y z"), (1, 2))
    cache.put_many([sha256_text("x")], embedder.embed_documents(["x"]))
    first = embed_batch(batch, embedder, cache)
    assert (first.index, first.embedded, first.tokens_embedded) == (3, 1, 2)
    calls = embedder.calls
    again = embed_batch(batch, embedder, cache)  # a retried task: nothing reaches the model
    assert (again.embedded, embedder.calls) == (0, calls)
    np.testing.assert_array_equal(cache.get_many([sha256_text("y z")])[sha256_text("y z")],
                                  embedder.embed_documents(["y z"])[0])


def test_in_process_embedding_counts_like_before(tmp_path):
    embedder = FakeEmbedder(dimension=8)
    cache = EmbeddingCache(tmp_path / "cache", embedder.fingerprint.id, 8)
    chunks = _table(tmp_path / "chunks.parquet", ["a", "b", "a", "c"])
    stats = embed_chunks(chunks, embedder, cache, batch=2)
    assert (stats.chunks, stats.embedded, stats.reused, stats.batches) == (4, 3, 1, 2)
    assert embed_chunks(chunks, embedder, cache, batch=2).as_dict()["embedded"] == 0


def _write_batches(cache_dir: str, batches: list[EmbedBatch]) -> int:
    # Runs in a fresh (spawned) process, as a Dask worker does: its own embedder and cache instance.
    embedder, cache = embedding_for(EmbedderConfig(kind="fake", model="fake"), Path(cache_dir))
    return sum(embed_batch(b, embedder, cache).embedded for b in batches)


def test_processes_writing_one_cache_at_once_leave_every_vector_readable(tmp_path):
    embedder = FakeEmbedder()
    texts = [f"text number {i}" for i in range(120)]
    batches = [EmbedBatch(i, tuple(sha256_text(t) for t in texts[i:i + 4]), tuple(texts[i:i + 4]), (3,) * 4)
               for i in range(0, 120, 4)]
    watcher = EmbeddingCache(tmp_path, embedder.fingerprint.id, embedder.dimension)  # opened before the writers
    # Three processes get every batch, each in another order: they write at the same time, and
    # some of them embed a text another one is embedding too (harmless duplicates).
    orders = [batches, batches[::-1], batches[15:] + batches[:15]]
    with ProcessPoolExecutor(3, mp_context=multiprocessing.get_context("spawn")) as pool:
        embedded = list(pool.map(_write_batches, [str(tmp_path)] * 3, orders))
    assert sum(embedded) >= 120

    assert not list(watcher.dir.glob(".*.tmp"))  # no half-written part left behind
    for part in watcher.dir.glob("part-*.parquet"):
        pq.read_table(part)  # every part is whole
    assert len(watcher) == 0 and watcher.refresh() == 120  # learnt only when it looks again
    fresh = EmbeddingCache(tmp_path, embedder.fingerprint.id, embedder.dimension)
    got = fresh.get_many(sha256_text(t) for t in texts)
    assert len(got) == 120
    np.testing.assert_array_equal(np.stack([got[sha256_text(t)] for t in texts]), embedder.embed_documents(texts))


def test_the_embedder_and_cache_of_a_process_are_made_once(tmp_path):
    first = embedding_for(EmbedderConfig(kind="fake", model="fake"), tmp_path)
    loaded = models_loaded()
    again = embedding_for(EmbedderConfig(kind="fake", model="fake"), tmp_path / ".." / tmp_path.name)
    assert again[0] is first[0] and again[1] is first[1] and models_loaded() == loaded


def _planned(tmp_path, write_corpus):
    settings = load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake"}, batch_size=2)
    res = resources(settings)
    root = write_corpus({"a.md": "Alpha beta gamma.\n", "b.md": "Delta epsilon.\n", "c.md": "Zeta eta theta.\n"})
    snap = sync.snapshot(str(root))
    plan = sync.plan(res, "docs", snap)
    sync.parse(res, plan, str(root), snap)
    sync.chunk(res, plan)
    return res, plan, sync.plan_embedding(res, plan)


def test_fanned_out_batches_are_recorded_like_an_in_process_embedding(tmp_path, write_corpus):
    res, plan, todo = _planned(tmp_path, write_corpus)
    assert (todo.chunks, todo.texts, len(todo.batches)) == (3, 3, 2)
    embedder, cache = embedding_for(res.settings.embedder, res.settings.embedding_cache_dir)
    stats = sync.record_embedding(res, plan, todo, [embed_batch(b, embedder, cache) for b in todo.batches])
    assert (stats["embedded"], stats["reused"], stats["batches"]) == (3, 0, 2) and len(stats["workers"]) == 1
    recorded = res.registry.load("docs", plan.version).embedding
    # Every stat as returned, beside the chunk step's pre-embedding estimate and the cost (issue 22).
    assert {k: v for k, v in recorded.items() if k not in ("estimate", "estimated_cost")} == stats
    assert recorded["estimate"]["texts"] == 3 and "estimated_cost" in recorded
    assert sync.load(res, plan) == 3


def test_vectors_written_to_a_folder_the_flow_cannot_see_are_refused(tmp_path, write_corpus):
    res, plan, todo = _planned(tmp_path, write_corpus)
    embedder, elsewhere = embedding_for(res.settings.embedder, tmp_path / "not-shared")
    results = [embed_batch(b, embedder, elsewhere) for b in todo.batches]
    with pytest.raises(EmbeddingError, match=r"3 embedded texts are missing from the embedding cache .*shared cache_dir"):
        sync.record_embedding(res, plan, todo, results)


def test_dask_settings(monkeypatch):
    assert not load_settings().dask.enabled  # default: the flow's own task runner
    monkeypatch.setenv("INDEXGATE_DASK__ADDRESS", "tcp://scheduler:8786")
    config = load_settings().dask
    assert config.address == "tcp://scheduler:8786" and config.enabled
    with pytest.raises(ConfigError, match="either address .* or n_workers"):
        load_settings(dask={"n_workers": 2})


def test_a_stream_cuts_the_batches_of_the_finished_table_and_holds_the_producer_back(tmp_path):
    import threading
    import time

    from indexgate.embedding.batch import EmbedStream

    embedder = FakeEmbedder(dimension=8)
    cache = EmbeddingCache(tmp_path / "cache", embedder.fingerprint.id, 8)
    cache.put_many([sha256_text("t1")], embedder.embed_documents(["t1"]))
    texts = [f"t{i % 37}" for i in range(120)]  # repeats, and one text cached already
    chunks = _table(tmp_path / "chunks.parquet", texts)
    expected = list(iter_batches(chunks, cache, size=4))  # what the embed step would cut from the table
    rows = pq.read_table(chunks).to_pylist()

    release = threading.Event()
    embed = embedder.embed_documents

    seen: list[tuple[str, ...]] = []

    def held(batch_texts):  # the model is slow: it waits until the test releases it
        release.wait(30)
        seen.append(tuple(batch_texts))
        return embed(batch_texts)

    embedder.embed_documents = held
    stream = EmbedStream(embedder, cache, size=4, depth=2)
    producer = threading.Thread(target=lambda: (stream.add(rows[:60]), stream.add(rows[60:]), stream.close()))
    producer.start()
    time.sleep(0.5)
    # Bounded: one batch at the model, two in the queue, one being filled; the producer waits.
    assert producer.is_alive() and len(stream.queued) <= 4 * 4
    release.set()
    producer.join(30)
    results = stream.results()
    assert seen == [b.texts for b in expected]  # the same texts in the same batches: the same vectors
    assert [r.index for r in results] == [b.index for b in expected]
    assert sum(r.embedded for r in results) == sum(len(b.texts) for b in expected) == 36
    assert list(iter_batches(chunks, cache, size=4)) == []  # every text cached: nothing left to embed


def test_a_failed_stream_stops_its_producer_with_its_error(tmp_path):
    from indexgate.embedding.batch import EmbedStream, StageStopped

    embedder = FakeEmbedder(dimension=8)
    cache = EmbeddingCache(tmp_path / "cache", embedder.fingerprint.id, 8)
    rows = pq.read_table(_table(tmp_path / "chunks.parquet", [f"t{i}" for i in range(100)])).to_pylist()

    def broken(batch_texts):
        raise RuntimeError("the model is gone")

    embedder.embed_documents = broken
    stream = EmbedStream(embedder, cache, size=4, depth=1)
    with pytest.raises(StageStopped):
        stream.add(rows)  # stops at a batch soon after the failure, not after all of them
    assert len(stream.queued) < 100
    with pytest.raises(RuntimeError, match="the model is gone"):
        stream.results()
    assert len(cache) == 0
