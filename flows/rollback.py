"""Point an alias back at the previous promoted (or a given retained) version."""

from __future__ import annotations

from prefect import flow

from indexgate.settings import load_settings
from tasks import rollback_alias


@flow(name="rollback", flow_run_name="rollback-{alias}")
def rollback(alias: str, to: str | None = None, state_dir: str | None = None, config: str | None = None) -> dict:
    settings = load_settings(config, home=state_dir)
    return rollback_alias(settings, alias, to).model_dump()
