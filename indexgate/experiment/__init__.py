"""Chunking experiments: build many chunking configurations of one source side by side.

Each configuration is built on a scratch index that no alias points at. They are scored on a
golden set, and a winner is picked by an explicit rule. Nothing here reads or moves an alias.

- :mod:`.grid` reads the grid file;
- :mod:`.run` runs one configuration;
- :mod:`.report` writes the results table, the HTML page and the winner's config file.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from indexgate.chunking import make_chunker
from indexgate.errors import ConfigError
from indexgate.experiment.grid import Grid, label, load_grid
from indexgate.experiment.report import write_outputs
from indexgate.experiment.run import GoldenSet, failed_rows, golden_set, run_configuration
from indexgate.hashing import stable_hash
from indexgate.models import Snapshot
from indexgate.resources import embedder_for
from indexgate.settings import Settings

__all__ = ["GoldenSet", "Grid", "check_configurations", "experiment_id", "failed_rows", "golden_set",
           "load_grid", "metadata", "output_dir", "run_configuration", "write_outputs"]


def check_configurations(settings: Settings, grid: Grid) -> None:
    """Build every configuration's chunker against the real tokenizer before any work, so a size
    the embedder cannot take stops the experiment at once, naming the configuration."""
    embedder = embedder_for(settings)
    for config in grid.configurations():
        try:
            make_chunker(config, embedder.tokenizer, embed=embedder.embed_documents,
                         vector_space=embedder.fingerprint.id)
        except ConfigError as exc:
            raise ConfigError(f"grid configuration {label(config)}: {str(exc).removeprefix('chunking: ')}") from None


def experiment_id(snapshot_hash: str, golden: GoldenSet, grid: Grid, embedder_id: str) -> str:
    """Derived from the inputs: the same source, golden set, grid and model give the same id (and
    output folder), so running an experiment again replaces its outputs instead of piling up."""
    return stable_hash({"snapshot": snapshot_hash, "golden": golden.sha256, "grid": grid.model_dump(mode="json"),
                        "embedder": embedder_id}, length=12)


def output_dir(settings: Settings, experiment: str, out: str | None = None) -> Path:
    return Path(out).expanduser() if out else settings.home / "experiments" / experiment


def metadata(settings: Settings, source: str, golden: GoldenSet, grid_path: str, grid: Grid, snap: Snapshot,
             started: datetime) -> dict:
    """What an experiment ran on (recorded in its summary and page), with its id and duration."""
    fingerprint = embedder_for(settings).fingerprint
    finished = datetime.now(timezone.utc)
    return {"experiment": experiment_id(snap.hash, golden, grid, fingerprint.id), "source": source,
            "golden": golden.path, "grid": grid_path, "n_queries": len(golden.queries), "snapshot_hash": snap.hash,
            "embedder": f"{fingerprint.model} ({fingerprint.id})", "started_at": started.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "seconds": round((finished - started).total_seconds(), 1)}
