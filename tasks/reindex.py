"""Task of the reindex flow: what was rebuilt, as an artifact."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from indexgate.lifecycle import reindex
from indexgate.lifecycle.registry import Registry
from indexgate.settings import Settings
from indexgate_tasks.report import _key


@task(name="publish_reindex", cache_policy=NO_CACHE)
def publish_reindex(settings: Settings, outcome: dict) -> dict:
    """A Markdown artifact ``indexgate-reindex-<alias>``: fingerprints before and after, chunks
    chunked and embedded in this run, and the regression gate against the live version."""
    summary = reindex.summarize(Registry(settings.home), outcome)
    create_markdown_artifact(markdown=summary.markdown(), key=_key("indexgate-reindex", summary.alias),
                             description=f"reindex {summary.action}: {summary.reason}"[:500])
    get_run_logger().info("reindex of %s: %s version %s; %d chunks, %d embedded, %d carried", summary.alias,
                          summary.action, summary.version, summary.chunks, summary.embedded, summary.chunks_carried)
    return summary.as_dict()
