"""Tasks of the sync's embedding fan-out: plan the batches, embed one batch, record the result.

``embed_batch`` is the task that may run in another process or machine (a Dask worker). It
gets the embedder config and the cache folder, never the settings. So it cannot open the vector
store, the state folder or the alias lock. And no Qdrant API key travels to the workers.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from indexgate import sync
from indexgate.embedding import batch as batching
from indexgate.resources import embedding_for, models_loaded, resources
from indexgate.settings import EmbedderConfig, Settings


@task(name="plan_embedding", cache_policy=NO_CACHE)
def plan_embedding(settings: Settings, plan: sync.Plan) -> batching.EmbeddingPlan:
    todo = sync.plan_embedding(resources(settings), plan)
    get_run_logger().info("%d of %d chunks to embed, in %d batches", todo.texts, todo.chunks, len(todo.batches))
    return todo


@task(name="embed_batch", cache_policy=NO_CACHE, task_run_name="embed_batch-{batch.index}")
def embed_batch(embedder: EmbedderConfig, cache_dir: str, batch: batching.EmbedBatch) -> batching.BatchResult:
    model, cache = embedding_for(embedder, Path(cache_dir))
    result = batching.embed_batch(batch, model, cache)
    get_run_logger().info("batch %d: embedded %d chunks in %.2f s on %s", batch.index, result.embedded,
                          result.seconds, result.worker)
    return replace(result, models_loaded=models_loaded())


@task(name="record_embedding", cache_policy=NO_CACHE)
def record_embedding(settings: Settings, plan: sync.Plan, todo: batching.EmbeddingPlan,
                     results: list[batching.BatchResult]) -> dict:
    stats = sync.record_embedding(resources(settings), plan, todo, results)
    get_run_logger().info("embedded %d chunks, reused %d from the cache, %d batches on %d workers",
                          stats["embedded"], stats["reused"], stats["batches"], len(stats["workers"]))
    return stats
