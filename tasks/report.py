"""Tasks that publish what a run did."""

from __future__ import annotations

import re
from dataclasses import asdict

from prefect import get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from indexgate import sync
from indexgate.reporting import html_report, summary
from indexgate.lifecycle.registry import Registry
from indexgate.resources import resources
from indexgate.settings import Settings
from indexgate_tasks.runs import finish_writes, write_later


def _key(prefix: str, alias: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", f"{prefix}-{alias}".lower())


@task(name="publish_report", cache_policy=NO_CACHE)
def publish_report(settings: Settings, outcome: sync.Outcome) -> str:
    """The run's report.

    - Every run gets a Markdown artifact: counts, metrics, the decision and its reason.
    - A built version (promoted, rejected or rolled back) also gets its HTML data-quality report.
      It comes with a table artifact (the gates) and a link artifact (the report).

    The artifacts are written in the background (:func:`indexgate_tasks.runs.write_later`) while
    the run goes on. The Markdown one is written while the HTML report is built. The flow waits
    for them with :func:`indexgate_tasks.runs.finish_writes` before it ends. There, an error
    writing one fails the run."""
    manifest = resources(settings).registry.load(outcome.alias, outcome.version)
    markdown = summary.sync_markdown(asdict(outcome), manifest.model_dump() if manifest else None)
    write_later(create_markdown_artifact, markdown=markdown, key=_key("indexgate-sync", outcome.alias),
                description=f"{outcome.action}: {outcome.reason}"[:500])
    if outcome.action != "unchanged":
        _quality_report(settings, outcome.alias, outcome.version)
    return markdown


def _quality_report(settings: Settings, alias: str, version: str | None) -> str:
    """Write the HTML data-quality report of ``version`` (default: the live, else the newest
    version) and hand off its table and link artifacts to the background writer."""
    registry = Registry(settings.home)
    version = version or html_report.default_version(registry, alias)
    path, data = html_report.build_report(registry, alias, version, settings.report)
    decision = data["decision"].get("action", data["state"])
    write_later(create_table_artifact,
                table=[{k: g[k] for k in ("name", "result", "value", "threshold")} for g in data["gates"]],
                key=_key("indexgate-gates", alias), description=f"gates of {alias} {version}: {decision}")
    write_later(create_link_artifact, link=path.absolute().as_uri(), link_text=f"data-quality report of {alias} {version}",
                key=_key("indexgate-report", alias), description=str(path))
    get_run_logger().info("data-quality report: %s", path)
    return str(path)


@task(name="write_quality_report", cache_policy=NO_CACHE)
def write_quality_report(settings: Settings, alias: str, version: str | None = None) -> str:
    """Write the version's HTML data-quality report and attach two artifacts to the run.

    The version defaults to the live one, else the newest. The artifacts are a table (the gates)
    and a link (the report). Returns once both are written."""
    path = _quality_report(settings, alias, version)
    finish_writes()
    return path
