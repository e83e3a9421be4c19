"""Tasks of the chunking experiment."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from indexgate import experiment
from indexgate.experiment.report import SCHEMA, summary_text
from indexgate.models import Snapshot
from indexgate.resources import embedder_for
from indexgate.settings import ChunkingConfig, Settings


@task(name="load_grid", cache_policy=NO_CACHE)
def load_grid(settings: Settings, path: str) -> experiment.Grid:
    grid = experiment.load_grid(path)
    experiment.check_configurations(settings, grid)
    get_run_logger().info("grid %s: %d configurations, k %s", path, len(grid.configurations()), grid.k)
    return grid


@task(name="embed_golden", cache_policy=NO_CACHE)
def embed_golden(settings: Settings, path: str) -> experiment.GoldenSet:
    return experiment.golden_set(path, embedder_for(settings))


@task(name="run_configuration", cache_policy=NO_CACHE,
      task_run_name="configuration-{chunking.strategy}-{chunking.chunk_size}-{chunking.chunk_overlap}")
def run_configuration(settings: Settings, snap: Snapshot, source: str, golden: experiment.GoldenSet,
                      chunking: ChunkingConfig, ks: list[int]) -> list[dict]:
    return experiment.run_configuration(settings, snap, source, golden, chunking, ks)


@task(name="write_experiment", cache_policy=NO_CACHE)
def write_experiment(settings: Settings, grid: experiment.Grid, results: list, meta: dict, out: str | None) -> dict:
    summary = experiment.write_outputs(experiment.output_dir(settings, meta["experiment"], out), results, grid,
                                       settings, meta)
    get_run_logger().info(summary_text(summary))
    return summary


@task(name="publish_experiment", cache_policy=NO_CACHE)
def publish_experiment(summary: dict) -> None:
    """A table artifact with every configuration's row; the description names the winner."""
    columns = [c for c in SCHEMA.names if c != "fingerprint"]
    table = [{c: round(v, 4) if isinstance(v, float) else v for c, v in row.items() if c in columns}
             for row in summary["rows"]]
    create_table_artifact(table=table, key="indexgate-chunking-experiment",
                          description=summary_text(summary)[:1000])
