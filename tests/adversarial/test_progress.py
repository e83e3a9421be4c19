"""Issue 19, item 8: long steps show progress (a bar on a terminal, periodic log lines
otherwise), and the golden queries are embedded and searched in batches."""

from __future__ import annotations

import logging
import os
import select
import time

from indexgate import progress
from indexgate.evaluation import SpanIndex, evaluate
from indexgate.evaluation.golden import GoldenQuery, Span
from indexgate.progress import Progress
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.store.load import load_chunks
from indexgate.sync import run_sync


def test_log_lines_when_not_on_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="indexgate.progress")
    with Progress("evaluating", 600, "queries", every_s=0, delay_s=0) as p:
        for _ in range(3):
            p.advance(200)
    lines = [r.getMessage() for r in caplog.records if r.name == "indexgate.progress"]
    assert lines[0].startswith("evaluating: 200/600 queries (33%), ") and "left" in lines[0]
    assert lines[-1].startswith("evaluating: 600/600 queries (100%)") and "done in" in lines[-1]


def test_a_short_step_logs_nothing(caplog):
    caplog.set_level(logging.INFO, logger="indexgate.progress")
    with Progress("evaluating", 10, "queries", every_s=0, delay_s=60) as p:
        p.advance(10)
    assert not [r for r in caplog.records if r.name == "indexgate.progress"]


def test_a_bar_on_a_terminal(caplog):
    caplog.set_level(logging.INFO, logger="indexgate.progress")
    master, slave = os.openpty()  # a real terminal device
    try:
        with open(slave, "w", closefd=False) as tty, Progress("embedding", 50, "texts", stream=tty, delay_s=0) as p:
            p.advance(10)
            time.sleep(0.2)  # tqdm redraws at most every 0.1 s
            p.advance(10)
        out = b""
        while select.select([master], [], [], 0.5)[0]:
            out += os.read(master, 65536)
    finally:
        os.close(master)
        os.close(slave)
    assert b"embedding" in out and b"20/50" in out
    assert not [r for r in caplog.records if r.name == "indexgate.progress"]  # a bar, not log lines


class CountingEmbedder:
    """The fake embedder, recording how many queries each embed_queries call got."""

    def __init__(self, embedder):
        self._embedder, self.calls = embedder, []

    def __getattr__(self, name):
        return getattr(self._embedder, name)

    def embed_queries(self, texts):
        self.calls.append(len(texts))
        return self._embedder.embed_queries(texts)


def test_golden_queries_are_evaluated_in_batches_with_progress(tmp_path, write_corpus, caplog, monkeypatch):
    docs = {f"d{i}.md": f"# Topic {i}\n\nFacts about topic {i}: item {i} costs {i} euros.\n" for i in range(20)}
    res = resources(load_settings(home=str(tmp_path / "s"), embedder={"kind": "fake", "model": "fake"}))
    plan, _ = run_sync(res, "docs", write_corpus(docs))
    queries = [GoldenQuery(f"q{n}", f"what does item {n % 20} cost", (Span(f"d{n % 20}.md", 0, 10),))
               for n in range(600)]
    spans = SpanIndex.from_parquet(plan.chunks_path)
    one_batch = evaluate(res.store, plan.collection, res.embedder, queries, 5, spans)
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    caplog.set_level(logging.INFO, logger="indexgate.progress")
    counting = CountingEmbedder(res.embedder)
    batched = evaluate(res.store, plan.collection, counting, queries, 5, spans)
    assert counting.calls == [256, 256, 88]
    assert batched.metrics == one_batch.metrics and batched.per_query == one_batch.per_query
    lines = [r.getMessage() for r in caplog.records if r.name == "indexgate.progress"]
    assert lines[0].startswith("evaluating: 256/600 queries") and lines[-1].startswith("evaluating: 600/600")


def test_loading_points_shows_progress(tmp_path, write_corpus, caplog, monkeypatch):
    docs = {f"d{i}.md": f"# Topic {i}\n\nFacts about topic {i}: item {i} costs {i} euros.\n" for i in range(20)}
    res = resources(load_settings(home=str(tmp_path / "s"), embedder={"kind": "fake", "model": "fake"}, batch_size=8))
    plan, _ = run_sync(res, "docs", write_corpus(docs))
    monkeypatch.setattr(progress, "LOG_EVERY_S", 0.0)
    monkeypatch.setattr(progress, "DELAY_S", 0.0)
    caplog.set_level(logging.INFO, logger="indexgate.progress")
    res.store.drop(plan.collection)
    res.store.create(plan.collection, res.embedder.dimension)
    load_chunks(res.store, plan.collection, plan.chunks_path, res.cache, plan.version, batch=8)
    lines = [r.getMessage() for r in caplog.records if r.name == "indexgate.progress"]
    assert lines[0].startswith(f"loading {plan.collection}: 8/20 points")
    assert lines[-1].startswith(f"loading {plan.collection}: 20/20 points (100%)")
