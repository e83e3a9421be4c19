"""Chunking experiment: chunk -> embed -> score, for every configuration of a grid, side by side.

Each configuration is a task that builds a scratch index from the same snapshot. The index has
its own folder and collection, dropped afterwards. The embedding cache is shared, so a chunk that
two configurations produce is embedded once. The experiment never reads or moves an alias."""

from __future__ import annotations

import os
from datetime import datetime, timezone

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from indexgate import experiment
from indexgate.params import ConfigFile, GoldenSet, GridFile, OutDir, Source, StateDir
from indexgate.settings import load_settings
from indexgate_tasks import embed_golden, load_grid, publish_experiment, run_configuration, snapshot_source, write_experiment
from indexgate_tasks.runs import HOOKS, check_inputs

# Two configurations at a time (one on one core). Embedding is CPU-bound, and the model already
# uses every core for a batch, so more would only queue. Two let one build chunk, load and score
# while the other embeds.
PARALLEL = max(1, min(2, os.cpu_count() or 1))


@flow(name="chunking_experiment", flow_run_name="chunking-experiment",
      task_runner=ThreadPoolTaskRunner(max_workers=PARALLEL), **HOOKS)
def chunking_experiment(source: Source, golden: GoldenSet, grid: GridFile, config: ConfigFile | None = None,
                        state_dir: StateDir | None = None, out: OutDir | None = None) -> dict:
    """Score every configuration of ``grid`` on ``golden`` and write the results, the HTML page
    and the winner's config file (to ``out``, default ``<state dir>/experiments/<id>``)."""
    started = datetime.now(timezone.utc)
    settings = load_settings(config, home=state_dir)
    check_inputs(None, source, golden)
    spec = load_grid(settings, grid)
    snap = snapshot_source(source)
    gold = embed_golden(settings, golden)
    configs = spec.configurations()
    futures = [run_configuration.submit(settings, snap, source, gold, c, spec.k) for c in configs]
    results = []
    for chunking, future in zip(configs, futures):
        rows = future.result(raise_on_failure=False)
        # A configuration that failed stays in the table with its reason; the others go on.
        results.append((chunking, rows if isinstance(rows, list) else experiment.failed_rows(chunking, spec.k, rows)))
    meta = experiment.metadata(settings, source, gold, grid, spec, snap, started)
    summary = write_experiment(settings, spec, results, meta, out)
    publish_experiment(summary)
    return summary
