"""source -> snapshot -> parse -> chunk -> embed -> shadow -> gates -> promote | keep live -> report."""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow
from prefect.transactions import transaction
from prefect.utilities.annotations import opaque

from indexgate_flows.embedding import embed_version
from indexgate_flows.runtime import one_sync_per_alias
from indexgate.lifecycle.locking import sync_lock
from indexgate.params import AliasName, ConfigFile, GoldenSet, Overrides, PolicyFile, Source, StateDir
from indexgate.settings import load_settings
from indexgate_tasks import (
    chunk_documents, collect_garbage, keep_unchanged, load_shadow, parse_documents, plan_version,
    promote_version, publish_report, reconcile_alias, smoke_check, snapshot_source, validate_shadow,
)
from indexgate_tasks.runs import HOOKS, check_inputs, finish_writes, name_run


@flow(name="sync", **HOOKS)
def sync(source: Source, alias: AliasName, golden: GoldenSet | None = None, config: ConfigFile | None = None,
         state_dir: StateDir | None = None, allow_mass_delete: bool = False, policy: PolicyFile | None = None,
         overrides: Overrides | None = None, allow_empty: bool = False, confirm_budget: bool = False) -> dict:
    """Sync a source into a new validated version of ``alias`` and promote it if its gates pass.

    An unchanged source is a no-op. These stop the run before anything is built:

    - an unreadable source;
    - a source that would delete more than ``gates.max_delete_share`` of the live documents,
      unless ``allow_mass_delete``;
    - a source that would build again a version an operator rolled back from, until
      ``indexgate release``;
    - an empty source on a first sync, unless ``allow_empty``.

    A sync that would embed more than the guardrails budget (``guardrails.budget``) is held after
    chunking, before embedding, unless ``confirm_budget``.

    The live collection is never written to. The alias moves only in the promotion step, in one
    atomic call. It moves back if the smoke check through the alias fails.

    ``policy`` is a YAML file with a ``gates`` and/or a ``guardrails`` section. It says which
    gates block and which only warn. It also says what the guardrails do with personal data and
    secrets.

    One sync per alias runs at a time. Another waits ``lifecycle.wait_s``, then is refused.
    Against a Prefect server, a global concurrency limit per alias enforces this across machines.
    A sync starts by reconciling what a dead run left. It ends by collecting old versions.

    ``overrides`` (chunking, embedder model) go over the config file's: see the ``reindex`` flow.
    The run is named ``sync-<alias>``, then ``sync-<alias>-v<version>`` once the version is
    planned. It ends once every artifact of its report is written."""
    name_run(alias)  # written in the background, like the artifacts (a flow_run_name template waits for it)
    settings = load_settings(config, policy=policy, home=state_dir, **(overrides.settings() if overrides else {}))
    check_inputs(alias, source, golden)
    wait_s = settings.lifecycle.wait_s
    # The lock file first: a second sync on this machine is told which process holds the alias.
    with sync_lock(settings.home, alias, wait_s), one_sync_per_alias(alias, wait_s, settings.lifecycle.prefect_limit):
        # One task per step of indexgate.sync.SYNC_STEPS, in its order (tests/unit/test_flow_steps.py).
        # The tasks get the settings, the snapshot, the plan and the gates as opaque values. Prefect
        # then hands them over as they are, instead of walking them for futures. That walk ran per
        # task and parameter and cost 45 ms of a 1%-changed sync. Prefect still links each value
        # to the task that made it.
        given = opaque(settings)
        recovery = reconcile_alias(given, alias, golden)
        snap = opaque(snapshot_source(source, given))
        plan = plan_version(given, alias, snap, allow_mass_delete, allow_empty)
        planned = opaque(plan)
        name_run(alias, plan.version)
        if plan.action == "noop":
            outcome = keep_unchanged(given, planned)
        else:
            parse_documents(given, planned, source, snap)
            chunked = chunk_documents(given, planned, confirm_budget)
            embed_version(settings, plan, chunked)  # a task per batch of new texts, on the flow's or a Dask runner
            # A rejected version rolls the transaction back: load_shadow's hook drops its shadow.
            with transaction() as txn:
                load_shadow(given, planned)
                gates = opaque(validate_shadow(given, planned, golden))
                outcome = smoke_check(given, planned, opaque(promote_version(given, planned, gates)), golden)
                if outcome.action in ("rejected", "rolled_back"):
                    txn.rollback()
        publish_report(given, opaque(outcome))  # the HTML report; its artifacts are written while gc runs
        collect_garbage(given, alias, (plan.version,))
    finish_writes()  # every artifact of the run is written (an error writing one fails the run here)
    return {**asdict(outcome), "recovery": recovery}
