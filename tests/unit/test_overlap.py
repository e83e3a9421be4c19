"""Stages that overlap (docs/design.md#stages-that-overlap): texts embedded while the parse step
runs (:class:`indexgate.sync.build.StreamedChunks`), embed and load at once
(:func:`indexgate.sync.steps._embed_and_load`). The same version as one step after the other, and
a failure of either stage stops the other with its own error.

The fake embedder is slowed a little (a test double: the packaged model would take minutes
here), so that parsing, embedding and loading really interleave."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from fake_embedder import FakeEmbedder
from indexgate_test_doubles import pause

from indexgate import testhook
from indexgate.embedding.batch import VectorFeed
from indexgate.parsing import corpus as parsing_corpus
from indexgate.errors import BudgetHeld, StoreError
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import build_shadow, run_sync

WORDS = ("freight invoice customs pallet routing driver depot carrier manifest tariff warehouse shipment "
         "dock tracking parcel quay berth crane lashing reefer").split()


def _text(i: int) -> str:
    body = " ".join(WORDS[(i * 7 + j * 3) % len(WORDS)] + str((i * j) % 11) for j in range(60))
    return f"# Document {i}\n\n{body}.\nReference number {i * 1013}.\n"


DOCS = {f"docs/doc-{i:02d}.md": _text(i) for i in range(40)}


def _settings(tmp_path, name: str, **overrides):
    # Small batches: many of them, so that embedding and loading interleave.
    return load_settings(home=str(tmp_path / name), embedder={"kind": "fake", "model": "fake"}, batch_size=8,
                         chunking={"chunk_size": 24, "chunk_overlap": 4},
                         gates={"modes": {"quality.chunks.duplicate_share": "off"}}, **overrides)


def _slowed(res, monkeypatch, seconds: float = 0.03):
    """Make each embedder call take a little longer (as a real model does), without the GIL held.
    (The fake embedder is one instance per process: monkeypatch undoes this after the test.)"""
    embed = res.embedder.embed_documents

    def slow(texts):
        time.sleep(seconds)
        return embed(texts)

    monkeypatch.setattr(res.embedder, "embed_documents", slow)
    return res


def _version(res, plan) -> dict:
    """Everything a build decides, without its timings and places."""
    manifest = res.registry.load(plan.alias, plan.version)
    points = sorted(((p.id, sorted(p.payload.items()), tuple(p.vector))
                     for p in res.store.scroll(plan.collection, with_vectors=True)), key=lambda p: p[0])
    embedding = {k: v for k, v in manifest.embedding.items() if k not in ("seconds", "workers")}
    return {"version": plan.version, "documents": pq.read_table(plan.documents_path),
            "chunks": pq.read_table(plan.chunks_path), "points": points, "counts": manifest.counts,
            "changes": manifest.changes, "embedding": embedding, "quarantined": manifest.quarantined,
            "guardrails": manifest.guardrails, "gates": manifest.gates}


def _same(one: dict, other: dict) -> None:
    assert one.keys() == other.keys()
    for key in one:
        if key in ("documents", "chunks"):
            assert one[key].equals(other[key]), key  # row for row, schema included
        else:
            assert one[key] == other[key], key


def _reads(monkeypatch, order: list[str]) -> None:
    """Note ``read`` in ``order`` each time the parse step reads a document's bytes."""
    read = parsing_corpus.read_verified

    def noted(*args, **kwargs):
        order.append("read")
        return read(*args, **kwargs)

    monkeypatch.setattr(parsing_corpus, "read_verified", noted)


def test_the_overlapped_build_is_the_staged_build(tmp_path, write_corpus, monkeypatch):
    root = write_corpus(DOCS)
    order: list[str] = []

    def noted(point: str) -> None:
        order.append(point)
        pause(point)  # the test doubles' pause points keep working

    testhook.install_handler(noted)
    _reads(monkeypatch, order)
    # A budget limit that this corpus stays under: nothing is embedded before the estimate, so
    # nothing while parsing, but embed and load still run at once.
    budgeted = {"guardrails": {"budget": {"max_texts": 100_000}}}
    try:
        staged = _slowed(resources(_settings(tmp_path, "staged")), monkeypatch)
        overlapped = resources(_settings(tmp_path, "overlapped"))  # the same embedder instance: slowed
        limited = resources(_settings(tmp_path, "limited", **budgeted))
        built = {}
        for round_ in ("full", "changed"):
            if round_ == "changed":  # two edited, one deleted, one added: the load copies the rest
                (root / "docs/doc-03.md").write_text(_text(3) + "\nA new paragraph on berth windows.\n")
                (root / "docs/doc-17.md").write_text(_text(17).replace("Reference", "Revised reference"))
                (root / "docs/doc-30.md").unlink()
                (root / "docs/doc-90.md").write_text(_text(90))
            runs = {}
            for name, res, overlap in (("staged", staged, False), ("overlapped", overlapped, True),
                                       ("limited", limited, True)):
                order.clear()
                runs[name] = (run_sync(res, "docs", root, overlap=overlap), list(order))
            one, other, third = runs["staged"][0], runs["overlapped"][0], runs["limited"][0]
            assert one.outcome.action == other.outcome.action == third.outcome.action == "promoted"
            _same(_version(staged, one.plan), _version(overlapped, other.plan))
            _same(_version(staged, one.plan), _version(limited, third.plan))
            built[round_] = runs
    finally:
        testhook.install_handler(pause)  # as the test doubles installed it, for the tests after this one
    runs = built["full"]
    # Streamed: batches were embedded while documents were still being read.
    _, order = runs["overlapped"]
    assert order.index("embed") < max(i for i, point in enumerate(order) if point == "read")
    assert "chunks.streamed.parquet" not in {p.name for p in Path(runs["overlapped"][0].plan.workdir).iterdir()}
    for name in ("staged", "limited"):  # staged, or a budget limit: nothing embedded before the parse ended
        _, order = runs[name]
        assert order.index("embed") > max(i for i, point in enumerate(order) if point == "read")
    # With the budget limit, the load upserted points while batches were still being embedded.
    run, order = runs["limited"]
    assert order.index("load") < max(i for i, point in enumerate(order) if point == "embed")
    manifest = limited.registry.load("docs", run.plan.version)
    assert {"embed_s", "load_s", "load_waited_s", "embed_load_wall_s"} <= manifest.timings.keys()
    manifest = overlapped.registry.load("docs", runs["overlapped"][0].plan.version)
    assert manifest.timings["embed_streamed_s"] > 0 and runs["overlapped"][0].seconds["embed_streamed"] > 0
    for name in ("overlapped", "limited"):
        run, _ = built["changed"][name]
        assert (overlapped if name == "overlapped" else limited).registry.load(
            "docs", run.plan.version).counts["points_copied"] > 0


def test_build_shadow_overlaps_too_with_the_same_result(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    staged, overlapped = resources(_settings(tmp_path, "staged")), resources(_settings(tmp_path, "overlapped"))
    one = build_shadow(staged, "docs", root, overlap=False)
    other = build_shadow(overlapped, "docs", root)
    assert "embed_load_wall_s" in overlapped.registry.load("docs", other.version).timings
    assert "embed_load_wall_s" not in staged.registry.load("docs", one.version).timings
    a, b = _version(staged, one), _version(overlapped, other)
    a.pop("gates"), b.pop("gates")  # no gate ran
    _same(a, b)


def _in_time(call, seconds: float = 120.0):
    """Run ``call`` in a thread; its error, or a failure when it hangs."""
    result: dict = {}

    def run():
        try:
            call()
        except BaseException as exc:  # the error under test
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the build hangs"
    return result.get("error")


def test_a_failed_embedding_stops_the_load_with_its_error_and_a_rerun_finishes(tmp_path, write_corpus,
                                                                              monkeypatch):
    root = write_corpus(DOCS)
    res = _slowed(resources(_settings(tmp_path, "state")), monkeypatch)
    embed = res.embedder.embed_documents
    calls = {"n": 0}

    def failing(texts):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("the model ran out of memory")
        return embed(texts)

    monkeypatch.setattr(res.embedder, "embed_documents", failing)
    error = _in_time(lambda: run_sync(res, "docs", root))
    assert isinstance(error, RuntimeError) and "out of memory" in str(error)
    (plan,) = res.registry.versions("docs")
    assert res.store.alias_target("docs") is None  # nothing promoted
    # The load stopped before it sealed the shadow or recorded its counts; no file is half-written.
    assert "points_written" not in plan.counts
    assert not [p for p in res.registry.version_dir("docs", plan.version).iterdir() if "tmp" in p.name]
    # Crash-resume: the same sync again finishes the version, equal to a build in one go.
    monkeypatch.setattr(res.embedder, "embed_documents", embed)
    rerun = run_sync(res, "docs", root)
    assert rerun.outcome.action == "promoted" and rerun.plan.version == plan.version
    fresh = resources(_settings(tmp_path, "fresh"))
    resumed = {"counts": None, "embedding": None}  # the rerun embedded only what the first run had not
    staged = run_sync(fresh, "docs", root, overlap=False)
    _same(_version(res, rerun.plan) | resumed, _version(fresh, staged.plan) | resumed)


def test_a_failed_load_stops_the_embedding_with_its_error(tmp_path, write_corpus, monkeypatch):
    root = write_corpus(DOCS)
    # A budget limit (not reached): nothing is embedded while parsing, all of it beside the load.
    res = resources(_settings(tmp_path, "state", guardrails={"budget": {"max_texts": 100_000}}))
    failed = threading.Event()  # the load's failure reached the feed
    second = threading.Event()  # the embedder began its second batch
    embed, close = res.embedder.embed_documents, VectorFeed.close
    before = res.embedder.calls  # one fake embedder per process: count from here

    def second_batch_waits(texts):  # the second batch ends only once the load has failed (or after 10 s)
        if res.embedder.calls > before:
            second.set()
            failed.wait(10)
        return embed(texts)

    def closing(feed, error=None):
        close(feed, error)
        if error is not None:
            failed.set()

    def full_disk(*args, **kwargs):
        # Fails while the second batch is in hand. Failing at once raced the embedder: the load
        # can find the first batch's vectors in the cache before the embedder announces them.
        second.wait(10)
        raise StoreError("the shard's disk is full")

    monkeypatch.setattr(VectorFeed, "close", closing)

    monkeypatch.setattr(res.embedder, "embed_documents", second_batch_waits)
    monkeypatch.setattr(res.store, "upsert", full_disk)
    error = _in_time(lambda: run_sync(res, "docs", root))
    assert isinstance(error, StoreError) and "disk is full" in str(error)
    (plan,) = res.registry.versions("docs")
    texts = len(set(pq.read_table(res.registry.version_dir("docs", plan.version) / "chunks.parquet",
                                  columns=["text_hash"]).column(0).to_pylist()))
    # The embedder stopped after the batch it had in hand when the load failed: two batches of 8.
    assert res.embedder.calls - before == 2 * 8 < texts
    assert "points_written" not in plan.counts and res.store.alias_target("docs") is None


class LazyModel(FakeEmbedder):
    """The fake embedder with a model that loads on first use, as the packaged one does; it says
    when it was loaded and refuses to embed before that."""

    def __init__(self):
        super().__init__()
        self.loaded_by: str | None = None  # the thread that loaded the model
        self._load_lock = threading.Lock()  # one load, as the packaged embedder's lock makes it

    @property
    def model(self):
        with self._load_lock:
            if self.loaded_by is None:
                time.sleep(0.2)  # the weights
                self.loaded_by = threading.current_thread().name
        return self

    def load(self):
        self.model  # noqa: B018 -- as the packaged embedder's load()

    def embed_documents(self, texts):
        self.model  # noqa: B018 -- the first embed loads the model, as the packaged embedder does
        return super().embed_documents(texts)


def _lazy(settings):
    res = resources(settings)
    return dataclasses.replace(res, embedder=LazyModel())


def test_the_model_loads_while_parsing_unless_a_budget_may_hold_the_sync(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    res = _lazy(_settings(tmp_path, "free"))
    run = run_sync(res, "docs", root)
    assert run.outcome.action == "promoted"
    assert res.embedder.loaded_by == "indexgate-model-load" and run.seconds["model_load_overlapped"] >= 0.2
    # Nothing new to embed (a deletion only): no model is loaded ahead.
    res = _lazy(_settings(tmp_path, "free"))
    (root / "docs/doc-05.md").unlink()
    run = run_sync(res, "docs", root)
    assert run.outcome.action == "promoted" and res.embedder.loaded_by is None
    assert "model_load_overlapped" not in run.seconds

    # A new document whose chunk texts are all cached (a copy of one already in): never loaded.
    res = _lazy(_settings(tmp_path, "free"))
    (root / "docs/copy-of-doc-07.md").write_text((root / "docs/doc-07.md").read_text())
    run = run_sync(res, "docs", root)
    assert run.outcome.action == "promoted" and run.plan.changes["added"] == 1
    assert res.embedder.loaded_by is None and "model_load_overlapped" not in run.seconds

    limited = _settings(tmp_path, "limited", guardrails={"budget": {"max_texts": 1}})
    res = _lazy(limited)
    with pytest.raises(BudgetHeld):
        run_sync(res, "docs", root)
    assert res.embedder.loaded_by is None  # held before embedding: no model was loaded for it
    res = _lazy(limited)
    assert run_sync(res, "docs", root, confirm_budget=True).outcome.action == "promoted"
    assert res.embedder.loaded_by == "indexgate-model-load"  # confirmed: nothing can hold it


def _leftovers(res) -> list[str]:
    """Files a stopped build must not leave: a streamed chunks table, a half-written table."""
    (manifest,) = res.registry.versions("docs")
    folder = res.registry.version_dir("docs", manifest.version)
    return [p.name for p in folder.iterdir() if "tmp" in p.name or "streamed" in p.name]


def _stream_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "indexgate-embed-stream"]


def test_a_failed_embedding_while_parsing_stops_the_parse_with_its_error(tmp_path, write_corpus, monkeypatch):
    root = write_corpus(DOCS)
    res = _slowed(resources(_settings(tmp_path, "state")), monkeypatch)
    order: list[str] = []
    _reads(monkeypatch, order)
    embed = res.embedder.embed_documents

    def failing(texts):
        order.append("embed")
        if order.count("embed") == 2:
            raise RuntimeError("the model ran out of memory")
        return embed(texts)

    monkeypatch.setattr(res.embedder, "embed_documents", failing)
    error = _in_time(lambda: run_sync(res, "docs", root))
    assert isinstance(error, RuntimeError) and "out of memory" in str(error)
    # The parse stopped soon after: a few documents later (the queue's depth), not at the end.
    assert order.count("read") < len(DOCS) - 10
    (plan,) = res.registry.versions("docs")
    folder = res.registry.version_dir("docs", plan.version)
    assert not (folder / "documents.parquet").exists() and not _leftovers(res)
    assert not _stream_threads() and res.store.alias_target("docs") is None
    monkeypatch.setattr(res.embedder, "embed_documents", embed)
    rerun = run_sync(res, "docs", root)  # resumes: the first batch is cached already
    assert rerun.outcome.action == "promoted" and rerun.plan.version == plan.version
    fresh = resources(_settings(tmp_path, "fresh"))
    resumed = {"embedding": None}  # the rerun embedded only what the first run had not
    staged = run_sync(fresh, "docs", root, overlap=False)
    _same(_version(res, rerun.plan) | resumed, _version(fresh, staged.plan) | resumed)


def test_a_failed_parse_stops_the_embedder_with_its_error(tmp_path, write_corpus, monkeypatch):
    root = write_corpus(DOCS)
    res = _slowed(resources(_settings(tmp_path, "state")), monkeypatch)
    order: list[str] = []
    read = parsing_corpus.read_verified

    def source_gone(*args, **kwargs):
        order.append("read")
        if order.count("read") == 25:
            raise RuntimeError("the source went away")
        return read(*args, **kwargs)

    embed = res.embedder.embed_documents

    def noted(texts):
        order.append("embed")
        return embed(texts)

    monkeypatch.setattr(parsing_corpus, "read_verified", source_gone)
    monkeypatch.setattr(res.embedder, "embed_documents", noted)
    error = _in_time(lambda: run_sync(res, "docs", root))
    assert isinstance(error, RuntimeError) and "source went away" in str(error)
    failed_at = [i for i, point in enumerate(order) if point == "read"][24]
    assert "embed" in order[:failed_at]  # the embedder was running beside the parse
    assert order[failed_at + 1:].count("embed") <= 1  # and ended after the batch at hand
    assert not _stream_threads() and not _leftovers(res) and res.store.alias_target("docs") is None
    monkeypatch.setattr(parsing_corpus, "read_verified", read)
    assert run_sync(res, "docs", root).outcome.action == "promoted"


def test_with_a_budget_limit_nothing_is_embedded_before_the_estimate(tmp_path, write_corpus, monkeypatch):
    root = write_corpus(DOCS)
    res = resources(_settings(tmp_path, "state", guardrails={"budget": {"max_texts": 100_000}}))
    embed = res.embedder.embed_documents
    estimated: list[bool] = []  # per embedder call: was the chunk step's estimate recorded then?

    def checked(texts):
        (manifest,) = res.registry.versions("docs")
        estimated.append("estimate" in manifest.embedding)
        return embed(texts)

    monkeypatch.setattr(res.embedder, "embed_documents", checked)
    assert run_sync(res, "docs", root).outcome.action == "promoted"
    assert estimated and all(estimated)
    # Over the limit: held after chunking, and not one text was embedded or cached.
    held = resources(_settings(tmp_path, "held", guardrails={"budget": {"max_texts": 1}}))
    estimated.clear()
    monkeypatch.setattr(held.embedder, "embed_documents", checked)
    with pytest.raises(BudgetHeld):
        run_sync(held, "docs", root)
    assert not estimated and len(held.cache) == 0


def test_a_blocked_document_is_never_embedded_and_a_redacted_one_only_as_stored(tmp_path, write_corpus,
                                                                               monkeypatch):
    key, email = "AKIAIOSFODNN7EXAMPLE", "jo.doe@example.com"
    secret = f"The backup job reads the bucket with aws_access_key_id = {key}\nBlocked words stay out.\n"
    files = {**{f"docs/doc-{i:02d}.md": _text(i) for i in range(12)}, "docs/secret.md": secret,
             "docs/contact.md": f"Escalations go to {email} during office hours.\n" + _text(50)}
    root = write_corpus(files)
    policy = tmp_path / "policy.yaml"
    policy.write_text("guardrails: {actions: {cloud_key: block}}\n")
    res = resources(_settings(tmp_path, "state", policy=policy))
    embedded: list[str] = []
    embed = res.embedder.embed_documents

    def recorded(texts):
        embedded.extend(texts)
        return embed(texts)

    monkeypatch.setattr(res.embedder, "embed_documents", recorded)
    run = run_sync(res, "docs", root)
    assert run.seconds["embed_streamed"] > 0  # embedded while parsing
    manifest = res.registry.load("docs", run.plan.version)
    assert [q["doc_id"] for q in manifest.quarantined] == ["docs/secret.md"]
    assert embedded and not [t for t in embedded if key in t or "Blocked words" in t or email in t]
    assert [t for t in embedded if "[EMAIL]" in t]  # the contact document's text, as stored
    stored = pq.read_table(run.plan.chunks_path, columns=["embed_prefix", "text"]).to_pylist()
    assert set(embedded) == {(r["embed_prefix"] or "") + r["text"] for r in stored}  # exactly what the table holds
