"""The embedding step of a sync, fanned out.

It runs one ``embed_batch`` task per batch of texts the embedding cache lacks (none when
everything is cached). Then one task checks and records. A small change is not fanned out: at
most ``batch_size`` chunk texts the cache lacks, and no Dask. It is one ``embed_chunks`` task
instead, which plans, embeds and records in the flow's process. It gives the same vectors and
manifest with two task runs fewer. Each task run costs Prefect 11-14 ms, a few percent of a
1%-changed sync.

The batches run on one of these:

- the flow's own task runner: Prefect's thread pool by default, or whatever runner the flow
  was given;
- Prefect's ``DaskTaskRunner``, when ``settings.dask`` names a cluster. That is an existing
  scheduler (``dask.address``) or a local cluster of ``dask.n_workers`` processes started for
  this step.

Every other task of the sync runs in the flow's process. Only that process opens the vector
store and holds the alias lock.
flow's process, which alone opens the vector store and holds the alias lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect import unmapped
from prefect.futures import as_completed
from prefect.utilities.annotations import opaque
from prefect.task_runners import TaskRunner

from indexgate.progress import Progress
from indexgate.settings import DaskConfig, Settings
from indexgate.models import Plan
from indexgate_tasks import embed_batch, embed_chunks, plan_embedding, record_embedding


@contextmanager
def dask_runner(config: DaskConfig) -> Iterator[TaskRunner | None]:
    """A started ``DaskTaskRunner`` for the config, or None when the config names no cluster.
    A local cluster is stopped when the block ends; an existing one is only disconnected from."""
    if not config.enabled:
        yield None
        return
    from prefect_dask import DaskTaskRunner

    if config.address:
        runner = DaskTaskRunner(address=config.address)
    else:
        runner = DaskTaskRunner(cluster_kwargs={"n_workers": config.n_workers, "processes": True,
                                                "threads_per_worker": config.threads_per_worker,
                                                "dashboard_address": None})
    with runner:
        yield runner


def embed_version(settings: Settings, plan: Plan, chunked: dict) -> dict:
    """Embed every chunk of the plan's version whose text the cache lacks; returns the stats
    written to the manifest. ``chunked``: what ``chunk_documents`` returned (its ``uncached``
    count, the chunk texts the cache lacked then, says how big the step is)."""
    given, planned = opaque(settings), opaque(plan)  # handed to the tasks as they are (see flows/sync.py)
    if not settings.dask.enabled and chunked["uncached"] <= settings.batch_size:
        # At most one batch (fewer if another build cached some of them since): nothing to fan out.
        return embed_chunks(given, planned)
    todo = plan_embedding(given, planned)
    if not todo.batches:  # nothing to embed: no batch tasks, no cluster
        return record_embedding(given, planned, opaque(todo), [])
    parameters = {"embedder": unmapped(settings.embedder), "cache_dir": unmapped(str(settings.embedding_cache_dir)),
                  "batch": list(todo.batches)}
    with dask_runner(settings.dask) as runner:
        results = runner.map(embed_batch, parameters) if runner else embed_batch.map(**parameters)
        with Progress("embedding", todo.texts, "texts") as progress:
            texts = {id(future): len(batch.texts) for future, batch in zip(results, todo.batches)}
            for future in as_completed(list(results)):
                progress.advance(texts[id(future)])
        return record_embedding(given, planned, opaque(todo), results)
