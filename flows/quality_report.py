"""Rebuild the HTML data-quality report of a version from its manifest, for the Prefect UI."""

from __future__ import annotations

from prefect import flow

from indexgate.params import AliasName, ConfigFile, StateDir, VersionId
from indexgate.settings import load_settings
from indexgate_tasks import write_quality_report
from indexgate_tasks.runs import HOOKS, check_alias_known


@flow(name="quality_report", flow_run_name="quality-report-{alias}", **HOOKS)
def quality_report(alias: AliasName, version: VersionId | None = None, state_dir: StateDir | None = None,
                   config: ConfigFile | None = None) -> str:
    """Write ``report.html`` of ``version`` (default: the live, else the newest version) and
    attach the gate table and a link to the report to this run. Returns the report's path."""
    settings = load_settings(config, home=state_dir)
    check_alias_known(settings, alias, version)
    return write_quality_report(settings, alias, version)
