"""Build a throw-away index of a source and score it on a golden set. Never touches an alias."""

from __future__ import annotations

from prefect import flow

from indexgate.settings import load_settings
from tasks import (
    chunk_documents, discard_scratch, embed_chunks, load_shadow, parse_documents, plan_scratch,
    score_golden, snapshot_source,
)


@flow(name="evaluate", flow_run_name="evaluate")
def evaluate(source: str, golden: str, chunk_size: int | None = None, chunk_overlap: int | None = None,
             k: int | None = None, config: str | None = None, state_dir: str | None = None) -> dict:
    settings = load_settings(config, home=state_dir, chunking={"chunk_size": chunk_size, "chunk_overlap": chunk_overlap},
                             gates={"k": k})
    snap = snapshot_source(source, settings)
    scratch, plan = plan_scratch(settings, snap)
    try:
        parse_documents(scratch, plan, source, snap)
        chunk_documents(scratch, plan)
        embed_chunks(scratch, plan)
        load_shadow(scratch, plan)
        return score_golden(scratch, plan, golden)
    finally:
        discard_scratch(scratch, plan)
