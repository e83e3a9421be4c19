"""What a flow run tells Prefect and the people watching it:

- checked inputs;
- a name that says which alias and version it built;
- a notification (webhook + Prefect event) when it failed, was rejected or was rolled back."""

from __future__ import annotations

import contextvars
import logging
import re
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.runtime import flow_run as current_run
from prefect.utilities.urls import url_for

from indexgate import preflight
from indexgate.reporting import notify
from indexgate.errors import retryable
from indexgate.settings import Settings, load_settings

log = logging.getLogger("indexgate.runs")
_VERSION = re.compile(r"-v([0-9a-f]{12})(?:$|-)")


def worth_retrying(task, task_run, state) -> bool:
    """The ``retry_condition_fn`` of every task with retries.

    An error that cannot pass is not retried (:func:`indexgate.errors.retryable`). Examples are
    missing or refused credentials, permission denied and a bad file. A retry would only delay the
    same error by the retry delays."""
    exc = state.data if isinstance(state.data, BaseException) else None
    return exc is None or retryable(exc)


@task(name="check_inputs", cache_policy=NO_CACHE)
def check_inputs(alias: str | None, source: str | None = None, golden: str | None = None) -> None:
    """Fail fast, before anything is locked or built: alias name, source, golden set."""
    preflight.check_inputs(alias, source, golden)


@task(name="check_alias_known", cache_policy=NO_CACHE)
def check_alias_known(settings: Settings, alias: str, version: str | None = None) -> None:
    preflight.check_known_alias(settings.home, alias, version)


def name_run(alias: str, version: str | None = None) -> str:
    """Rename the current flow run ``<flow>-<alias>``, or ``<flow>-<alias>-v<version>`` (the
    version is known only after planning, so a run is named twice). The rename is written in the
    background, like the artifacts (:func:`write_later`), in order, and is done when the run
    ends. Outside a run: no-op."""
    name = f"{current_run.flow_name}-{alias}" + (f"-v{version}" if version else "")
    if current_run.id and name != current_run.name:  # (a reindex run has its name from its template)
        write_later(_rename_run, run=current_run.id, name=name)
    return name


def _rename_run(run, name: str) -> None:
    with get_client(sync_client=True) as client:
        client.update_flow_run(run, name=name)


# API writes handed off by write_later, per flow run. One thread: the server answers one write at a
# time anyway, and the writes of a run keep their order.
_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="indexgate-api-writes")
_pending: dict[str, list[Future]] = {}
_pending_lock = threading.Lock()


def write_later(write: Callable[..., object], /, **kwargs) -> None:
    """Call ``write(**kwargs)`` in a background thread, in the caller's run context.

    ``write`` is a Prefect API write, such as an artifact or the run's new name. The context is a
    task's or the flow's. The run goes on while the API server stores the write. A write took
    15-40 ms against the temporary API, and the server works on the other core meanwhile.

    The write belongs to the current flow run. :func:`finish_writes` in that run, or the run's end
    hooks (:data:`HOOKS`), wait for it. They must: the run's API client is closed when the run
    ends, and a write still pending then fails with a warning. Outside a run the write is made at
    once."""
    run = str(current_run.id or "")
    if not run:
        write(**kwargs)
        return
    future = _writer.submit(contextvars.copy_context().run, write, **kwargs)
    future.add_done_callback(_warn_failed)
    with _pending_lock:
        _pending.setdefault(run, []).append(future)


def _warn_failed(future: Future) -> None:
    if (error := future.exception()) is not None:
        log.warning("a Prefect API write (artifact, run name) failed: %s: %s", type(error).__name__, error)


def finish_writes(run: str | None = None) -> None:
    """Wait for the :func:`write_later` writes of ``run`` (default: the current flow run); raise
    the first one's error, if any, once all are done."""
    with _pending_lock:
        futures = _pending.pop(str(run or current_run.id or ""), [])
    errors = [e for e in (f.exception() for f in futures) if e is not None]
    if errors:
        raise errors[0]


def _announce(flow, run, outcome: str, reason: str, result: dict | None = None) -> None:
    params = run.parameters or {}
    try:
        with get_client(sync_client=True) as client:
            name = client.read_flow_run(run.id).name  # renamed after planning: holds the version
    except Exception:  # noqa: BLE001 - the notification still goes out, with the name it started with
        name = run.name
    found = _VERSION.search(name or "")
    result = result or {}
    try:
        url = url_for(run)
    except Exception:  # noqa: BLE001 - no UI URL configured (temporary local API)
        url = None
    message = notify.Notification(
        flow=flow.name, run=name, alias=result.get("alias") or params.get("alias"),
        version=result.get("version") or (found.group(1) if found else None), outcome=outcome,
        reason=reason, live=result.get("live"), url=url)
    emit_event(event=f"indexgate.run.{outcome}",
               resource={"prefect.resource.id": f"indexgate.alias.{message.alias}",
                         "prefect.resource.name": str(message.alias)},
               related=[{"prefect.resource.id": f"prefect.flow-run.{run.id}", "prefect.resource.role": "flow-run"}],
               payload=message.as_dict())
    try:
        config = load_settings(params.get("config"), home=params.get("state_dir")).notify
    except Exception:  # noqa: BLE001 - a bad config file may be why the run failed: use the environment
        config = load_settings().notify
    if notify.send(config, message):
        log.info("notified %s of %s", config.webhook_url.split("?")[0], outcome)


def _settle_writes(run) -> None:
    """Wait for what the run handed to :func:`write_later` and is still pending (a run that ended
    before its ``publish_report``); a failed write was logged by ``_warn_failed`` already."""
    try:
        finish_writes(run)
    except Exception:  # noqa: BLE001 - logged when it failed; the run's own outcome is what the hook reports
        pass


def notify_failure(flow, flow_run, state) -> None:
    """State hook (on_failure, on_crashed): announce the failure and its message (after the
    run's handed-off artifact writes are done)."""
    _settle_writes(flow_run.id)
    _announce(flow, flow_run, "failed", state.message or state.name)


def notify_outcome(flow, flow_run, state) -> None:
    """State hook (on_completion): announce a rejected or rolled-back version."""
    _settle_writes(flow_run.id)
    result = state.result(raise_on_failure=False)
    if isinstance(result, dict) and result.get("action") in ("rejected", "rolled_back"):
        _announce(flow, flow_run, result["action"], result.get("reason", ""), result)


HOOKS = {"on_completion": [notify_outcome], "on_failure": [notify_failure], "on_crashed": [notify_failure]}
