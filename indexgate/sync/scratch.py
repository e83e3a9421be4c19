"""Scratch builds (evaluation, experiment): a throw-away index that no alias ever points at."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path

from indexgate.evaluation.evaluate import EvalResult
from indexgate.models import Plan, Snapshot
from indexgate.resources import Resources, release, resources
from indexgate.settings import Settings
from indexgate.sync.steps import build_shadow


def scratch_settings(settings: Settings) -> Settings:
    """Settings for a throw-away build:

    - manifests and embedded Qdrant in a new temporary folder;
    - the embedding cache and download spool shared with ``settings``, so nothing is embedded or
      downloaded twice;
    - no data-quality suites: nothing gates a scratch build, so none is started in the quality
      worker."""
    home = Path(tempfile.mkdtemp(prefix="indexgate-scratch-"))
    gates = settings.gates.model_copy(update={"modes": {**settings.gates.modes, "quality": "off"}})
    return settings.model_copy(update={"home": home, "qdrant_path": home / "qdrant",
                                       "cache_dir": settings.embedding_cache_dir, "gates": gates,
                                       "source": settings.source.model_copy(update={"spool_dir": settings.spool_folder})})


def scratch_alias() -> str:
    return f"scratch-{uuid.uuid4().hex[:12]}"


def build_scratch(settings: Settings, source: str, snap: Snapshot) -> tuple[Resources, Plan]:
    """A throw-away build of ``snap``: the sync's build steps (:func:`build_shadow`) in the
    scratch folder of :func:`scratch_settings`, under a fresh alias no application uses.

    Returns the scratch resources and the plan; the caller discards them with
    :func:`discard_scratch`. A build that fails discards its folder before it raises.
    A scratch build is no sync: its embedding budget is never held."""
    scratch = scratch_settings(settings)
    res = resources(scratch)
    try:
        return res, build_shadow(res, scratch_alias(), source, snap=snap, confirm_budget=True)
    except BaseException:
        discard_scratch(res)
        raise


def scratch_report(res: Resources, plan: Plan, result: EvalResult) -> dict:
    manifest = res.registry.load(plan.alias, plan.version)
    return {**result.as_dict(), "chunking": manifest.chunker, "embedder": manifest.embedder,
            "counts": manifest.counts, "embedding": manifest.embedding}


def discard_scratch(res: Resources) -> None:
    """Drop every collection of a scratch build, delete its folder and release its resources.
    Refuses other settings."""
    home = res.settings.home
    if not home.name.startswith("indexgate-scratch-"):
        raise ValueError(f"{home} is not a scratch folder; refusing to delete it")
    for alias in res.registry.aliases():
        for manifest in res.registry.versions(alias):
            res.store.drop(manifest.collection)
    release(res.settings)
    shutil.rmtree(home, ignore_errors=True)
