"""Full rebuild of an alias with a chosen embedder and chunking.

It runs the sync pipeline with those settings: snapshot -> shadow -> gates -> promote or keep
live. The gates include no regression against the live version. Then it summarises what was
rebuilt."""

from __future__ import annotations

from prefect import flow

from indexgate_flows.sync import sync
from indexgate.params import (
    AliasName, ChunkOverlap, ChunkSize, ConfigFile, EmbedderModel, GoldenSet, Overrides, PolicyFile, Source, StateDir,
    Strategy,
)
from indexgate.settings import load_settings
from indexgate_tasks.reindex import publish_reindex
from indexgate_tasks.runs import HOOKS


@flow(name="reindex", flow_run_name="reindex-{alias}", **HOOKS)
def reindex(source: Source, alias: AliasName, golden: GoldenSet | None = None, config: ConfigFile | None = None,
            embedder_model: EmbedderModel | None = None, strategy: Strategy | None = None,
            chunk_size: ChunkSize | None = None, chunk_overlap: ChunkOverlap | None = None,
            policy: PolicyFile | None = None, state_dir: StateDir | None = None,
            confirm_budget: bool = False) -> dict:
    """Rebuild ``alias`` from ``source`` with ``embedder_model`` and the chunking given, for a
    model or chunking change.

    These go over the config file's settings (e.g. an experiment's ``winner.yaml``). The new
    fingerprints make a new version id. So every chunk is embedded for the new embedder, or comes
    from the embedding cache of that same embedder. With a new chunker, every document is chunked
    again. The version goes through every gate of a sync. That includes no regression against the
    live version on ``golden``. It is promoted only if they pass. The run is renamed
    ``reindex-<alias>-v<version>`` and publishes ``indexgate-reindex-<alias>``. Above the
    guardrails budget it is held before embedding, as a sync is, until ``confirm_budget``."""
    overrides = Overrides(embedder_model=embedder_model, strategy=strategy, chunk_size=chunk_size,
                          chunk_overlap=chunk_overlap)
    settings = load_settings(config, policy=policy, home=state_dir, **overrides.settings())
    # sync's body, in this run: its tasks and artifacts belong to this run, not to a subflow.
    outcome = sync.fn(source=source, alias=alias, golden=golden, config=config, state_dir=state_dir, policy=policy,
                      overrides=overrides, confirm_budget=confirm_budget)
    return {**outcome, "reindex": publish_reindex(settings, outcome)}
