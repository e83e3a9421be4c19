"""Embed what the cache lacks, in batches that can run anywhere the model and the cache are.

Embedding a version is split in two:

- :func:`plan_batches` reads the chunks table and the cache. It cuts the distinct texts the
  cache lacks into :class:`EmbedBatch` es;
- :func:`embed_batch` embeds one batch into the cache.

A batch carries its texts. So embedding it needs only the embedder and the embedding cache: no
chunks table, no vector store, no state folder. The sync flow fans batches out as tasks, on
Prefect's default thread pool or on Dask workers in other processes or machines
(docs/scaling.md). :func:`embed_chunks` runs the same two steps in this process, one batch after
another.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from indexgate.chunking.corpus import iter_chunk_batches
from indexgate.embedding.base import Embedder
from indexgate.embedding.cache import EmbeddingCache
from indexgate.hashing import sha256_text
from indexgate.progress import Progress
from indexgate.testhook import checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedBatch:
    """Distinct texts the cache lacked when the batch was planned. ``texts[i]`` is exactly what
    the model is given for ``text_hashes[i]`` (the chunk's embed prefix, then its text);
    ``n_tokens[i]`` is the chunk's token count."""

    index: int
    text_hashes: tuple[str, ...]
    texts: tuple[str, ...]
    n_tokens: tuple[int, ...]


@dataclass(frozen=True)
class BatchResult:
    """What embedding one batch did, and where.

    ``worker`` is ``host:pid`` of the process that ran it. ``models_loaded`` is how many times
    that process had loaded a model by then. The caller that knows sets it, else it is 0."""

    index: int
    embedded: int              # texts sent to the model (fewer than planned if another build cached some)
    tokens_embedded: int
    seconds: float
    worker: str
    models_loaded: int = 0


@dataclass(frozen=True)
class EmbeddingPlan:
    """The batches of one chunks table; ``started`` is the wall-clock time of planning, so the
    embedding step's duration can be measured across processes."""

    chunks: int
    batches: tuple[EmbedBatch, ...]
    started: float

    @property
    def texts(self) -> int:
        return sum(len(b.texts) for b in self.batches)


@dataclass
class EmbedStats:
    chunks: int = 0
    embedded: int = 0          # texts sent to the model
    reused: int = 0            # chunks whose vector came from the cache
    tokens_embedded: int = 0
    seconds: float = 0.0
    batches: int = 0
    # host:pid -> {"batches", "embedded", "models_loaded"}: which processes did the work
    workers: dict | None = None

    def as_dict(self) -> dict:
        return {"chunks": self.chunks, "embedded": self.embedded, "reused": self.reused,
                "tokens_embedded": self.tokens_embedded, "seconds": round(self.seconds, 3),
                "batches": self.batches, "workers": self.workers or {}}

    @classmethod
    def combine(cls, chunks: int, results: Iterable[BatchResult], seconds: float) -> EmbedStats:
        """The stats of a table of ``chunks`` rows whose planned batches gave ``results``."""
        stats = cls(chunks=chunks, seconds=seconds, workers={})
        for r in results:
            stats.batches += 1
            stats.embedded += r.embedded
            stats.tokens_embedded += r.tokens_embedded
            w = stats.workers.setdefault(r.worker, {"batches": 0, "embedded": 0, "models_loaded": 0})
            w["batches"] += 1
            w["embedded"] += r.embedded
            w["models_loaded"] = max(w["models_loaded"], r.models_loaded)
        stats.reused = chunks - stats.embedded
        return stats


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def iter_batches(chunks: Path, cache: EmbeddingCache, size: int = 256) -> Iterator[EmbedBatch]:
    """Batches of at most ``size`` distinct texts of the chunks table that the cache lacks, in
    table order. Deterministic for a given table and cache content; a text that several chunks
    share is in one batch only. Streams: holds one batch of texts at a time.

    When the cache holds every text (a small change whose texts a stream or another build
    embedded), it reads the hash column alone and yields nothing: no text becomes a Python
    string. That scan, batch by batch, beside a load in another thread, took 0.6 s at 10,000
    documents (docs/benchmarks.md#incremental-sync)."""
    if not cache.missing(pq.read_table(chunks, columns=["text_hash"]).column(0).to_pylist()):
        return
    parquet = pq.ParquetFile(chunks)
    # embed_prefix is absent from tables written before it existed
    columns = [c for c in ("text_hash", "text", "n_tokens", "embed_prefix") if c in parquet.schema_arrow.names]
    seen: set[str] = set()
    pending: list[dict] = []
    index = 0
    for rows in iter_chunk_batches(chunks, batch=size, columns=columns):
        for row in rows:
            if row["text_hash"] in seen or row["text_hash"] in cache:
                continue
            seen.add(row["text_hash"])
            pending.append(row)
            if len(pending) == size:
                yield _batch(index, pending)
                index, pending = index + 1, []
    if pending:
        yield _batch(index, pending)


def _batch(index: int, rows: list[dict]) -> EmbedBatch:
    return EmbedBatch(index, tuple(r["text_hash"] for r in rows),
                      tuple((r.get("embed_prefix") or "") + r["text"] for r in rows),
                      tuple(int(r["n_tokens"]) for r in rows))


def plan_batches(chunks: Path, cache: EmbeddingCache, size: int = 256) -> EmbeddingPlan:
    """All batches of :func:`iter_batches` at once (the fan-out needs them up front: it holds the
    texts still to embed, never the vectors). Nothing to embed gives no batches."""
    started = time.time()
    return EmbeddingPlan(pq.ParquetFile(chunks).metadata.num_rows, tuple(iter_batches(chunks, cache, size)), started)


def embed_batch(batch: EmbedBatch, embedder: Embedder, cache: EmbeddingCache) -> BatchResult:
    """Embed the batch's texts that the cache still lacks and add them to the cache (one atomic
    part). Idempotent: run again (a retry, another process that had the same batch) it embeds
    nothing. Reads and writes nothing but the model and the cache folder."""
    started = time.perf_counter()
    with cache.lock:
        cache.refresh()  # parts other processes wrote since this process last looked
        todo = [i for i, h in enumerate(batch.text_hashes) if h not in cache]
        if todo:
            vectors = embedder.embed_documents([batch.texts[i] for i in todo])
            cache.put_many([batch.text_hashes[i] for i in todo], vectors)
            checkpoint("embed")
    seconds = time.perf_counter() - started
    if todo:
        log.info("embedding batch %d: %d new chunks in %.2f s (%.1f chunks/s)",
                 batch.index, len(todo), seconds, len(todo) / max(seconds, 1e-9))
    return BatchResult(batch.index, len(todo), sum(batch.n_tokens[i] for i in todo), seconds, this_worker())


def embed_chunks(chunks: Path, embedder: Embedder, cache: EmbeddingCache, batch: int = 256,
                 after_batch: Callable[[], None] | None = None, earlier: Sequence[BatchResult] = ()) -> EmbedStats:
    """Make sure every chunk of the table has a cached vector, in this process. Idempotent: a
    second call embeds nothing; after a crash, only what was not cached yet is embedded again.
    Never embeds the same text twice (identical chunk texts share one vector), even when another
    build embeds into the same cache at the same time. The text embedded is ``embed_prefix + text``.
    ``after_batch()`` is called once each batch is cached (:meth:`VectorFeed.fed`); what it
    raises stops the embedding there. ``earlier``: the batches of this table that an
    :class:`EmbedStream` embedded before, counted in the stats as if embedded here."""
    started = time.perf_counter()
    results = list(earlier)
    with Progress("embedding", None, "texts") as progress:  # the texts to embed are found as it goes
        for planned in iter_batches(chunks, cache, batch):
            results.append(embed_batch(planned, embedder, cache))
            progress.advance(results[-1].embedded)
            if after_batch is not None:
                after_batch()
    return EmbedStats.combine(pq.ParquetFile(chunks).metadata.num_rows, results, time.perf_counter() - started)


class EmbedStream:
    """Embeds chunk texts while another step produces them: the parse step, document by document
    (:func:`indexgate.sync.build.parse`).

    The producer hands each document's chunk rows to :meth:`add`, in the chunks table's order.
    The distinct texts the cache lacks are cut into batches of ``size`` as :func:`iter_batches`
    cuts them from the finished table: the same texts in the same batches, so the same vectors.
    Each full batch goes through a bounded queue (``depth`` batches) to a thread of its own that
    runs :func:`embed_batch`. :meth:`add` waits while the queue is full. So memory holds at most
    ``depth`` + 2 batches of texts, whatever the corpus size, and the producer never runs further
    ahead of the model than that.

    Then :meth:`close` (the producer is done) and :meth:`results` (wait for the embedder). A
    failed embedder makes the producer's next :meth:`add` or :meth:`close` raise
    :class:`StageStopped`, and :meth:`results` raise its error. A failed producer calls
    :meth:`stop`: the embedder ends after the batch at hand. The cache gains whole batches only,
    so a rerun embeds just what is missing. ``first_uncached`` is called once, in :meth:`add`'s
    thread, when the first text the cache lacks comes."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache, size: int = 256, depth: int = 2,
                 first_uncached: Callable[[], None] | None = None) -> None:
        self.embedder, self.cache, self.size = embedder, cache, size
        self._first_uncached = first_uncached
        # Called in the embedder's thread after each cached batch (a VectorFeed's fed, once the
        # load runs); what it raises stops the embedding, as embed_chunks' after_batch.
        self.after_batch: Callable[[], None] | None = None
        self.queued: set[str] = set()  # hashes of the texts sent to the embedder (the cache lacked them)
        self._pending: list[dict] = []
        self._index = 0
        self._queue: queue.Queue[EmbedBatch | None] = queue.Queue(depth)
        self._results: list[BatchResult] = []
        self._error: BaseException | None = None
        self._stopped = threading.Event()
        cache.refresh()  # vectors other processes cached meanwhile: not embedded again
        self._thread = threading.Thread(target=self._run, name="indexgate-embed-stream", daemon=True)
        self._thread.start()

    def add(self, rows: Iterable[dict]) -> None:
        """Chunk rows (``text_hash``, ``text``, ``n_tokens``, ``embed_prefix``), in table order."""
        for row in rows:
            text_hash = row["text_hash"]
            if text_hash in self.queued or text_hash in self.cache:
                continue
            if self._first_uncached is not None:
                self._first_uncached, first = None, self._first_uncached
                first()
            self.queued.add(text_hash)
            self._pending.append(row)
            if len(self._pending) == self.size:
                self._put(_batch(self._index, self._pending))
                self._index, self._pending = self._index + 1, []

    def close(self) -> None:
        """The producer is done: queue the last, partial batch. The embedder goes on with what
        is queued (:meth:`results` waits for it)."""
        if self._pending:
            self._put(_batch(self._index, self._pending))
            self._index, self._pending = self._index + 1, []
        self._put(None)

    def results(self) -> list[BatchResult]:
        """Wait for the embedder to finish what was queued; its batches' results. Raises its
        error if it failed."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return list(self._results)

    def stop(self) -> None:
        """The producer (or a later step) failed: end the embedder after the batch at hand."""
        self._stopped.set()
        try:
            self._queue.put_nowait(None)  # wakes an idle embedder; a busy one sees _stopped
        except queue.Full:
            pass
        self._thread.join()

    @property
    def error(self) -> BaseException | None:
        return self._error

    def _put(self, item: EmbedBatch | None) -> None:
        while True:  # a bounded wait, so that a failed embedder cannot leave the producer blocked
            if self._error is not None:
                raise StageStopped(f"stopped: the embedder failed ({type(self._error).__name__})")
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _run(self) -> None:
        while not self._stopped.is_set():
            planned = self._queue.get()
            if planned is None or self._stopped.is_set():
                return
            try:
                self._results.append(embed_batch(planned, self.embedder, self.cache))
                if self.after_batch is not None:
                    self.after_batch()
            except BaseException as exc:  # handed to the producer and to results()
                self._error = exc
                return


class StageStopped(Exception):
    """Raised in one stage of an overlapped build because the other stage failed; the build
    raises that stage's error, never this."""


class VectorFeed:
    """Hands vectors from the embedding step to the load step while both run, in two threads.

    The embedding cache is the channel. The embedder adds each batch to it (a part on disk,
    memory-mapped) and then calls :meth:`fed`. The loader asks :meth:`vectors` for one batch of
    points at a time; it waits until the embedder has cached them all. So memory holds a batch
    of texts on one side and a batch of points on the other, whatever the corpus size. No queue
    in memory is needed: a cached vector waits on disk until the loader reaches its point.

    Either side stops the other through :meth:`close` with its error. The other side then
    raises :class:`StageStopped` at its next batch (the embedder) or wait (the loader)."""

    # Seconds between two looks at the cache while waiting: a safety net only, since every
    # cached batch and every close wakes the waiter at once.
    POLL_S = 1.0

    def __init__(self, cache: EmbeddingCache) -> None:
        self.cache = cache
        self.waited_s = 0.0  # the loader's seconds spent waiting for the embedder
        self._changed = threading.Condition()
        self._fed = 0  # batches cached so far: a waiter looks again once this moves
        self._closed = False
        self._error: BaseException | None = None

    def fed(self) -> None:
        """The embedder cached one more batch. Raises :class:`StageStopped` when the loader failed."""
        with self._changed:
            if self._error is not None:
                raise StageStopped(f"stopped: the other stage failed ({type(self._error).__name__})")
            self._fed += 1
            self._changed.notify_all()

    def close(self, error: BaseException | None = None) -> None:
        """One side is done: the embedder has cached everything (no ``error``), or a side failed."""
        with self._changed:
            self._closed = True
            if error is not None and self._error is None:
                self._error = error
            self._changed.notify_all()

    def vectors(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        """The cached vectors of ``hashes``, once all are cached or the embedder is done.

        Returns what is cached then (the loader reports any missing). Raises
        :class:`StageStopped` when a stage failed."""
        hashes = list(dict.fromkeys(hashes))
        while True:
            with self._changed:
                if self._error is not None:
                    raise StageStopped(f"stopped: the other stage failed ({type(self._error).__name__})")
                seen, closed = self._fed, self._closed
            found = self.cache.get_many(hashes)
            if len(found) == len(hashes) or closed:
                return found
            with self._changed:  # sleep until the next batch, unless one came meanwhile
                if self._fed == seen and not self._closed and self._error is None:
                    started = time.perf_counter()
                    self._changed.wait(self.POLL_S)
                    self.waited_s += time.perf_counter() - started


class CachedEmbedding:
    """Document vectors of any texts through the embedding cache (the semantic chunker's
    sentences): each distinct text reaches the model at most once, across runs and threads."""

    def __init__(self, embedder: Embedder, cache: EmbeddingCache, batch: int = 256):
        self.embedder = embedder
        self.cache = cache
        self.batch = batch
        self.embedded = 0  # texts sent to the model by this object

    def __call__(self, texts: list[str]) -> np.ndarray:
        hashes = [sha256_text(t) for t in texts]
        fresh: dict[str, np.ndarray] = {}
        for first in range(0, len(texts), self.batch):
            with self.cache.lock:
                todo = {h: t for h, t in zip(hashes[first:first + self.batch], texts[first:first + self.batch])
                        if h not in self.cache and h not in fresh}
                if todo:
                    vectors = self.embedder.embed_documents(list(todo.values()))
                    self.cache.put_many(list(todo), vectors)
                    fresh.update(zip(todo, vectors))
                    self.embedded += len(todo)
        found = {**self.cache.get_many(h for h in hashes if h not in fresh), **fresh}
        return np.stack([found[h] for h in hashes]) if hashes else np.zeros((0, self.embedder.dimension), np.float32)
