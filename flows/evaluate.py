"""Build a throw-away index of a source and score it on a golden set. Never touches an alias."""

from __future__ import annotations

from prefect import flow

from indexgate.params import ChunkOverlap, ChunkSize, ConfigFile, GoldenSet, Source, StateDir, TopK
from indexgate.settings import load_settings
from indexgate_tasks import build_scratch, discard_scratch, score_golden, snapshot_source
from indexgate_tasks.runs import HOOKS, check_inputs


@flow(name="evaluate", flow_run_name="evaluate", **HOOKS)
def evaluate(source: Source, golden: GoldenSet, chunk_size: ChunkSize | None = None,
             chunk_overlap: ChunkOverlap | None = None, k: TopK | None = None, config: ConfigFile | None = None,
             state_dir: StateDir | None = None) -> dict:
    """Score a scratch build of ``source`` on ``golden``: the sync's build steps, no gate, no alias."""
    settings = load_settings(config, home=state_dir, chunking={"chunk_size": chunk_size, "chunk_overlap": chunk_overlap},
                             gates={"k": k})
    check_inputs(None, source, golden)
    snap = snapshot_source(source, settings)
    scratch, plan = build_scratch(settings, source, snap)
    try:
        return score_golden(scratch, plan, golden)
    finally:
        discard_scratch(scratch, plan)
