"""One configuration of a chunking experiment: a scratch build scored on the golden set at
every k.

The scratch build runs the steps of a sync in a throw-away folder and collection that no alias
points at."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from indexgate import sync
from indexgate.access import caller_groups
from indexgate.chunking import SemanticChunker
from indexgate.embedding.base import Embedder
from indexgate.evaluation import SpanIndex, load_golden
from indexgate.evaluation.evaluate import METRICS, evaluate_at
from indexgate.evaluation.golden import GoldenQuery
from indexgate.experiment.grid import label
from indexgate.hashing import sha256_file
from indexgate.models import Snapshot
from indexgate.settings import ChunkingConfig, Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GoldenSet:
    """The golden queries with their vectors, embedded once for every configuration."""

    path: str
    sha256: str
    queries: tuple[GoldenQuery, ...]
    vectors: np.ndarray


def golden_set(path: str, embedder: Embedder) -> GoldenSet:
    queries = load_golden(path)
    return GoldenSet(str(path), sha256_file(Path(path).expanduser()), tuple(queries),
                     embedder.embed_queries([q.query for q in queries]))


def config_columns(config: ChunkingConfig) -> dict:
    """The columns that identify a configuration in the results table."""
    return {"config": label(config), "strategy": config.strategy, "chunk_size": config.chunk_size,
            "chunk_overlap": config.chunk_overlap,
            "heading_prefix": config.heading_prefix if config.strategy == "markdown" else None,
            "breakpoint_percentile": config.breakpoint_percentile if config.strategy == "semantic" else None}


def run_configuration(settings: Settings, snap: Snapshot, source: str, golden: GoldenSet, chunking: ChunkingConfig,
                      ks: list[int]) -> list[dict]:
    """Build ``chunking`` on a scratch index, score it at each k, drop the scratch index.

    One row per k, with:

    - the metrics;
    - ``tokens_retrieved``: mean over queries of the tokens of the top-k chunks;
    - the chunk count and mean chunk tokens;
    - ``index_tokens``: tokens of every chunk, which is what embedding the corpus costs;
    - what this run actually sent to the model: ``embedded``, ``tokens_embedded``, and the
      semantic chunker's ``sentences_embedded`` (0 when the cache had it all);
    - the seconds each step took."""
    started = time.perf_counter()
    res, plan = sync.build_scratch(settings.model_copy(update={"chunking": chunking}), source, snap)
    try:
        manifest = res.registry.load(plan.alias, plan.version)
        chunked = {"chunks": manifest.counts["chunks"], "tokens": manifest.counts["chunk_tokens"]}
        chunk_seconds, embedded = manifest.timings["chunk_s"], manifest.embedding
        table = pq.read_table(plan.chunks_path, columns=["chunk_id", "n_tokens"])
        n_tokens = dict(zip(table.column("chunk_id").to_pylist(), table.column("n_tokens").to_pylist()))
        results = evaluate_at(res.store, plan.collection, res.embedder, list(golden.queries), ks,
                              SpanIndex.from_parquet(plan.chunks_path), golden.vectors,
                              groups=caller_groups(settings, None))
        fingerprint = res.chunker.fingerprint
        # the semantic chunker embeds every sentence (once: they are cached like chunks)
        sentences = res.chunker.embed.embedded if isinstance(res.chunker, SemanticChunker) else 0
    finally:
        sync.discard_scratch(res)
    seconds = time.perf_counter() - started
    rows = []
    for k in ks:
        result = results[k]
        retrieved = [sum(n_tokens[c] for c in q["chunk_ids"]) for q in result.per_query]
        rows.append({
            **config_columns(chunking), "fingerprint": fingerprint, "k": k,
            **{m: result.metrics[m] for m in METRICS},
            "tokens_retrieved": float(np.mean(retrieved)) if retrieved else 0.0,
            "chunks": chunked["chunks"],
            "mean_chunk_tokens": chunked["tokens"] / chunked["chunks"] if chunked["chunks"] else 0.0,
            "index_tokens": chunked["tokens"], "embedded": embedded["embedded"],
            "tokens_embedded": embedded["tokens_embedded"], "sentences_embedded": sentences,
            "chunk_seconds": chunk_seconds,
            "embed_seconds": embedded["seconds"], "seconds": round(seconds, 3),
            "unscorable": len(result.unscorable), "error": None,
            # per query (for paired comparisons and per_query.parquet; not a column of the table)
            "per_query": [{"query_id": q["query_id"], **{m: q[m] for m in METRICS}, "tokens_retrieved": t}
                          for q, t in zip(result.per_query, retrieved)],
        })
    log.info("%s: %d chunks, span recall %s", label(chunking), chunked["chunks"],
             ", ".join(f"{r['span_recall']:.3f}@{r['k']}" for r in rows))
    return rows


def failed_rows(chunking: ChunkingConfig, ks: list[int], error: BaseException | str) -> list[dict]:
    """Rows of a configuration whose run failed: kept in the table with the reason, never selected."""
    return [{**config_columns(chunking), "k": k, "error": str(error) or type(error).__name__} for k in ks]
