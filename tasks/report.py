"""Tasks that publish what a run did."""

from __future__ import annotations

import re
from dataclasses import asdict

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from indexgate import reports, sync
from indexgate.resources import resources
from indexgate.settings import Settings


@task(name="publish_report", cache_policy=NO_CACHE)
def publish_report(settings: Settings, outcome: sync.Outcome) -> str:
    """A Markdown artifact per run: counts, metrics, the decision and its reason."""
    manifest = resources(settings).registry.load(outcome.alias, outcome.version)
    markdown = reports.sync_markdown(asdict(outcome), manifest.model_dump() if manifest else None)
    key = re.sub(r"[^a-z0-9-]+", "-", f"indexgate-sync-{outcome.alias}".lower())
    create_markdown_artifact(markdown=markdown, key=key, description=f"{outcome.action}: {outcome.reason}"[:500])
    return markdown
