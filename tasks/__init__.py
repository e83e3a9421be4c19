"""Thin Prefect tasks over the library: names, retries, logging, artifacts. No business rules.

Caching: tasks use ``NO_CACHE``. The library makes their work resumable instead. The version id
and file names are derived from content, and embeddings are cached by text hash. Unlike
Prefect's default run-scoped cache, this also survives a new flow run after a crash.
"""

from indexgate_tasks.build import (
    build_scratch, chunk_documents, discard_scratch, embed_chunks, load_shadow, parse_documents, plan_version,
    score_golden, snapshot_source, validate_shadow,
)
from indexgate_tasks.embedding import embed_batch, plan_embedding, record_embedding
from indexgate_tasks.lifecycle import collect_garbage, reconcile_alias, smoke_check
from indexgate_tasks.experiment import embed_golden, load_grid, publish_experiment, run_configuration, write_experiment
from indexgate_tasks.promote import keep_unchanged, promote_version, rollback_alias
from indexgate_tasks.report import publish_report, write_quality_report

__all__ = [
    "build_scratch", "chunk_documents", "discard_scratch", "embed_chunks",
    "keep_unchanged", "load_shadow", "parse_documents", "plan_version",
    "promote_version", "publish_report", "rollback_alias", "score_golden", "snapshot_source",
    "validate_shadow", "write_quality_report",
    "collect_garbage", "reconcile_alias", "smoke_check",
    # the sync's embedding fan-out
    "embed_batch", "plan_embedding", "record_embedding",
    # chunking experiment
    "embed_golden", "load_grid", "publish_experiment", "run_configuration", "write_experiment",
]
