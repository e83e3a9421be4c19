"""Point an alias back at the previous promoted (or a given retained) version."""

from __future__ import annotations

from prefect import flow

from indexgate.params import AliasName, ConfigFile, StateDir, VersionId
from indexgate.settings import load_settings
from indexgate_tasks import rollback_alias
from indexgate_tasks.runs import HOOKS, check_alias_known, name_run


@flow(name="rollback", flow_run_name="rollback-{alias}", **HOOKS)
def rollback(alias: AliasName, to: VersionId | None = None, state_dir: StateDir | None = None,
             config: ConfigFile | None = None) -> dict:
    """Point ``alias`` at ``to`` (default: the version promoted before the live one). An alias or
    version this state folder does not know fails at once; the run is renamed
    ``rollback-<alias>-v<version>`` after the version it now serves."""
    settings = load_settings(config, home=state_dir)
    check_alias_known(settings, alias, to)
    event = rollback_alias(settings, alias, to)
    name_run(alias, event.to_version)
    return event.model_dump()
