"""Where ``indexgate sync`` runs its steps: as a Prefect flow, or in this process.

A Prefect flow needs a Prefect API. With none configured, Prefect starts a temporary local API
server for the process and stops it at the end. Nobody can watch that server: it dies with the
command. On the development machine it cost 4-5 s of every sync, a third of a no-op sync
(docs/benchmarks.md#peers). So by default (``prefect: auto``) a sync is a flow only where a Prefect
API is configured: a server, Prefect Cloud, a deployment's worker. Elsewhere (a shell, cron) the
same steps run in this process, through the library's :func:`indexgate.sync.run_sync`: the one
definition of a sync that the flow also wires (:data:`indexgate.sync.SYNC_STEPS`). The gates, the
decision, the report, the notifications and the exit code are the same.

``prefect: always`` keeps every sync a flow (its task runs stay in Prefect's local database, for a
``prefect server start`` later). ``prefect: never`` runs in this process even where an API is set.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import tomllib
from dataclasses import asdict
from pathlib import Path

# Files in the working folder that Prefect reads settings from (besides its profiles).
_PREFECT_FILES = ("prefect.toml", ".env", "pyproject.toml")


def prefect_api_configured(environ: dict[str, str] | None = None, cwd: Path | None = None) -> bool:
    """Whether Prefect would talk to a configured API from here (not start a temporary one).

    Read without importing Prefect (1.1 s here) where that is certain: the environment's
    ``PREFECT_API_URL`` and the active profile of Prefect's ``profiles.toml``. Prefect's own settings
    decide where a settings file of the working folder may set it (``prefect.toml``, a ``.env`` or a
    ``pyproject.toml`` that mentions Prefect), and in a process that has imported Prefect already
    (its settings context may name an API, as Prefect's test harness does)."""
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    if environ.get("PREFECT_API_URL"):
        return True
    if "prefect.settings" in sys.modules:  # imported already: asking costs nothing, and sees a test harness
        return _prefect_says()
    if any(_may_set_prefect(cwd / name) for name in _PREFECT_FILES):
        return _prefect_says()
    home = Path(environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    profiles = Path(environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml").expanduser()
    if not profiles.is_file():
        return False
    try:
        data = tomllib.loads(profiles.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return _prefect_says()  # Prefect reports a broken profiles file its own way
    active = environ.get("PREFECT_PROFILE") or data.get("active") or "ephemeral"
    profile = (data.get("profiles") or {}).get(active) or {}
    return bool(profile.get("PREFECT_API_URL"))


def _may_set_prefect(path: Path) -> bool:
    if not path.is_file():
        return False
    if path.name == "prefect.toml":
        return True
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return ("[tool.prefect" in text) if path.name == "pyproject.toml" else ("PREFECT_" in text)


def _prefect_says() -> bool:
    from prefect.settings import get_current_settings

    return bool(get_current_settings().api.url)


def runs_as_flow(settings) -> bool:
    """Whether this sync runs as a Prefect flow (see the module's docstring). With ``auto``, also
    where the ``dask`` section names a cluster: only the flow fans the embedding out to one."""
    if settings.prefect == "auto":
        return settings.dask.enabled or prefect_api_configured()
    return settings.prefect == "always"


def sync_in_process(args, settings) -> dict:
    """Run the sync the CLI's ``args`` ask for in this process: the library's steps, then the
    HTML report of a built version, and the webhook notification of a rejected, rolled-back or
    failed run. Returns what the sync flow returns, plus ``seconds``: the wall-clock time of each
    step (``imports`` and ``resources`` first: the model and the store)."""
    started = time.perf_counter()
    from indexgate.reporting import notify
    from indexgate.reporting.html_report import build_report
    from indexgate.resources import resources
    from indexgate.sync import run_sync

    seconds = {"imports": round(time.perf_counter() - started, 3)}
    by = f"indexgate sync on {socket.gethostname()} (pid {os.getpid()})"
    try:
        mark = time.perf_counter()
        res = resources(settings)
        seconds["resources"] = round(time.perf_counter() - mark, 3)
        run = run_sync(res, args.alias, args.source, args.golden, by=by, allow_mass_delete=args.allow_mass_delete,
                       allow_empty=args.allow_empty, confirm_budget=args.confirm_budget)
        seconds.update(run.seconds)
        outcome = run.outcome
        if outcome.action != "unchanged":
            mark = time.perf_counter()
            build_report(res.registry, outcome.alias, outcome.version, settings.report)
            seconds["report"] = round(time.perf_counter() - mark, 3)
    except Exception as exc:
        _notify(notify, settings, by, args.alias, None, "failed", f"{type(exc).__name__}: {exc}")
        raise
    if outcome.action in ("rejected", "rolled_back"):
        _notify(notify, settings, by, outcome.alias, outcome.version, outcome.action, outcome.reason, outcome.live)
    seconds["total"] = round(time.perf_counter() - started, 3)
    return {**asdict(outcome), "recovery": run.recovery, "seconds": seconds}


def _notify(notify, settings, run: str, alias: str, version: str | None, outcome: str, reason: str,
            live: str | None = None) -> None:
    """Send the run's notification to the configured webhook (as the flow's state hooks do)."""
    import logging

    message = notify.Notification(flow="sync", run=run, alias=alias, version=version, outcome=outcome,
                                  reason=reason, live=live, url=None)
    if notify.send(settings.notify, message):
        logging.getLogger("indexgate.runs").info("notified %s of %s", settings.notify.webhook_url.split("?")[0],
                                                 outcome)
