"""How this process runs flows: flow-run heartbeats only where something watches them.

Prefect 3.8 emits a heartbeat event per flow run (``flows.heartbeat_frequency``, 180 s by
default) so that a server can mark runs whose process died as crashed. Its heartbeat thread
sleeps in steps of one second and the flow run joins it when the run ends, which costs up to a
second per flow run (0.95 s in `benchmarks/incremental_sync.py`'s profile, half of a 1%-changed
sync). Against Prefect's temporary local API (no ``PREFECT_API_URL``: the server starts and dies
with this process) nobody can ever read those heartbeats, so :func:`flow_runs` switches them off
there; against a real server (``make serve``, a deployment's worker) they stay on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings


def heartbeats_watched() -> bool:
    """Whether flow runs report to a server that outlives this process."""
    return bool(get_current_settings().api.url)


@contextmanager
def flow_runs() -> Iterator[None]:
    """Run the flows called inside with heartbeats only when :func:`heartbeats_watched`."""
    if heartbeats_watched():
        yield
        return
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
