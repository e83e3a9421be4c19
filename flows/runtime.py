"""How this process runs flows: flow-run heartbeats and server bookkeeping tuned to who watches.

Prefect 3.8 emits a heartbeat event per flow run (``flows.heartbeat_frequency``, 180 s by
default). A server uses them to mark runs whose process died as crashed. The heartbeat thread
sleeps in steps of one second, and the flow run joins it when the run ends. That costs up to a
second per flow run: 0.95 s in `benchmarks/incremental_sync.py`'s profile, half of a
1%-changed sync. Prefect's temporary local API (no ``PREFECT_API_URL``) starts and dies with
this process, so nobody can ever read its heartbeats. :func:`flow_runs` switches them off there.
Against a real server (``make serve``, a deployment's worker) they stay on.

By default the temporary API's task-run recorder writes every task-run event in a transaction of
its own (batch size 1). That is about 50 SQLite transactions per sync. The server process then
spent 0.9-1.1 s of CPU per 1%-changed sync (0.3 s batched). It took that CPU from the cores the
sync itself needed, and it answered the sync's own requests late. :data:`TEMPORARY_API` makes it
(and the event persister) write in batches:

- every 5 s;
- when the server stops (Prefect flushes both on shutdown).

So every task run and event still reaches the database that ``prefect server start`` later
shows. With the default, a 30-task flow whose process exited at once kept only 10-25 of its task
runs; batched, it kept all 30. ``tests/flows/test_runtime.py`` checks this on a real sync.

:data:`TEMPORARY_API` also turns off the automation triggers. An automation lives on a server.
The temporary API serves no UI and dies with the process, so none can ever be defined there. Yet
the trigger service evaluates every event against the automations it has. That cost about 6% of
the server's CPU during a 1%-changed sync (py-spy).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.sync import concurrency
from prefect.context import SyncClientContext
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings

from indexgate.errors import AliasBusy

# Read by the temporary API server when this process starts it (it inherits the environment).
TEMPORARY_API = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "1000",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "1000",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
}


def heartbeats_watched() -> bool:
    """Whether flow runs report to a server that outlives this process."""
    return bool(get_current_settings().api.url)


@contextmanager
def temporary_api() -> Iterator[None]:
    """Prefect's temporary API server for the block, started here rather than by the first
    flow run.

    Starting it here lets it be guarded (:func:`indexgate.child.guard`). So it dies with this
    process, even a SIGKILLed one. Unguarded, it lives on for minutes, serving nobody. Prefect's
    own client finds this server (one per process) and starts no other.

    At the block's end the log and event queues are drained into it, and it is stopped. Prefect's
    test harness does the same. So its shutdown lines come before the command's result. A server
    already running for this process is used and left running. (Prefect's test harness registers
    its own server as this one.)"""
    from prefect.server.api.server import SubprocessASGIServer

    from indexgate.child import guard

    server = SubprocessASGIServer()
    if server.running:
        yield
        return
    server.start()
    if server.server_process is not None:
        guard(server.server_process.pid)
    try:
        yield
    finally:
        drain_to_api()
        server.stop()


def drain_to_api() -> None:
    """Send the log lines and events still queued in this process to the API."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for drain in (lambda: APILogWorker.instance().drain(), EventsWorker.drain_all):
        try:
            drain()
        except RuntimeError:  # that worker never started
            pass


@contextmanager
def flow_runs() -> Iterator[None]:
    """Run the flows called inside with heartbeats only when :func:`heartbeats_watched`; against
    the temporary API, with the server settings of :data:`TEMPORARY_API` (unless set already).
    The flow runs inside share one API client (each new client loads the CA bundle: 40 ms)."""
    if heartbeats_watched():
        with SyncClientContext.get_or_create():
            yield
        return
    added = {key: value for key, value in TEMPORARY_API.items() if key not in os.environ}
    os.environ.update(added)  # for the temporary API server, started next
    try:
        with temporary_api(), temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}), \
                SyncClientContext.get_or_create():
            yield
    finally:
        for key in added:  # servers this process starts later (a `make serve` in a test) keep Prefect's
            os.environ.pop(key, None)


# The shortest lease Prefect's server grants: how long a killed sync's slot outlives it.
LEASE_S = 60.0


def sync_limit_name(alias: str) -> str:
    """The Prefect global concurrency limit that admits one sync of ``alias`` at a time."""
    return f"indexgate-sync-{alias}"


def _ensure_limit(name: str) -> None:
    """Create the global concurrency limit ``name`` with one slot, unless it exists (an operator
    may have created it, or changed it: it is then left as it is)."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            try:
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            except ObjectAlreadyExists:
                pass  # another run created it meanwhile


@contextmanager
def one_sync_per_alias(alias: str, wait_s: float, enabled: bool = True) -> Iterator[None]:
    """Hold the slot of ``alias``'s Prefect global concurrency limit for the block.

    The limit is named by :func:`sync_limit_name` and created with one slot if missing. It is
    used only when flow runs report to a Prefect server that outlives this process
    (:func:`heartbeats_watched`). Then one sync per alias holds across every machine using that
    server, not only where the lock file's folder is shared. Against the temporary API of a CLI
    run it does nothing: no other process can see that server. The lock file
    (:func:`indexgate.lifecycle.locking.sync_lock`) is the guard there.

    Waits up to ``wait_s`` seconds (``lifecycle.wait_s``) for the slot, then raises
    :class:`AliasBusy`. The slot is leased for :data:`LEASE_S` seconds. Prefect renews the lease
    while the block runs. If this process dies, the server frees the slot once the lease has run
    out and its repossessor has run (every 15 s by default). ``enabled`` false
    (``lifecycle.prefect_limit``) leaves the lock file as the only guard."""
    if not (enabled and heartbeats_watched()):
        yield
        return
    name = sync_limit_name(alias)
    _ensure_limit(name)
    with ExitStack() as stack:
        try:
            # Prefect's timeout bounds the whole acquisition, request included: 0 would fail before asking.
            stack.enter_context(concurrency(name, occupy=1, timeout_seconds=max(wait_s, 5.0), strict=True,
                                            lease_duration=LEASE_S))
        except TimeoutError:
            raise AliasBusy(
                f"alias {alias!r} is busy: another sync holds the Prefect concurrency limit {name!r} on"
                f" {get_current_settings().api.url}; waited {max(wait_s, 5.0):g} s. Run again when it has"
                f" finished (a run that died frees it within about {LEASE_S + 15:g} s), or set"
                f" INDEXGATE_LIFECYCLE__WAIT_S to wait for it") from None
        yield
