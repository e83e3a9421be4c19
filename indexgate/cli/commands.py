"""The ``indexgate`` command's subcommands: each runs a flow or a library call and prints its result.

Each returns an exit code (:data:`EXIT_OK`, :data:`EXIT_REJECTED`); errors are raised and reported by
:func:`indexgate.cli.main`.
"""

from __future__ import annotations

import logging
import os
import sys

from indexgate.cli.output import print_json, print_status, print_sync

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REJECTED = 0, 1, 2, 3


def settings_of(args):
    """The settings the command's flags name (config, policy, state folder)."""
    from indexgate.settings import load_settings

    return load_settings(getattr(args, "config", None), policy=getattr(args, "policy", None), home=args.state_dir)


def cmd_sync(args) -> int:
    from indexgate.cli.runner import runs_as_flow, sync_in_process

    settings = settings_of(args)
    if runs_as_flow(settings):
        from indexgate_flows.runtime import flow_runs
        from indexgate_flows.sync import sync

        with flow_runs():
            outcome = sync(source=args.source, alias=args.alias, golden=args.golden, config=args.config,
                           state_dir=args.state_dir, allow_mass_delete=args.allow_mass_delete, policy=args.policy,
                           allow_empty=args.allow_empty, confirm_budget=args.confirm_budget)
    else:
        log_to_stderr()
        outcome = sync_in_process(args, settings)
    res_manifest = _manifest(args, outcome["alias"], outcome["version"])
    report = _report_path(args, outcome["alias"], outcome["version"])
    if args.json:
        print_json({**outcome, "manifest": res_manifest, "report": report})
    else:
        print_sync(outcome, res_manifest, report)
    return EXIT_REJECTED if outcome["action"] in ("rejected", "rolled_back") else EXIT_OK


class _CurrentStderr(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is at each line (a caller may have replaced it since)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def log_to_stderr() -> None:
    """Show the library's log lines on stderr, as a flow run's logger would (a run in this process
    has no Prefect logger). Idempotent: one handler, however many commands a process runs."""
    logger = logging.getLogger("indexgate")
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d | %(levelname)-7s | %(name)s - %(message)s",
                                               "%H:%M:%S"))
        logger.addHandler(handler)


def alias_moves(args) -> list:
    """The alias's history of promotions and rollbacks, oldest first."""
    from indexgate.lifecycle.registry import Registry

    try:
        return Registry(settings_of(args).home).history(args.alias)
    except Exception:  # noqa: BLE001 - an unreadable history hides no outcome the run could report
        return []


def _report_path(args, alias: str, version: str) -> str | None:
    from indexgate.reporting.html_report import report_path
    from indexgate.lifecycle.registry import Registry

    path = report_path(Registry(settings_of(args).home), alias, version)
    return str(path) if path.is_file() else None


def cmd_report(args) -> int:
    from indexgate.reporting import html_report
    from indexgate.lifecycle.registry import Registry
    from indexgate.lifecycle.versioning import validate_alias

    settings = settings_of(args)
    registry = Registry(settings.home)
    validate_alias(args.alias)
    version = args.version or html_report.default_version(registry, args.alias)
    path, data = html_report.build_report(registry, args.alias, version, settings.report)
    if args.json:
        print_json({"alias": args.alias, "version": version, "report": str(path), **{
            k: data[k] for k in ("state", "decision", "gates", "relevance", "changes", "embedding", "audit", "latency")},
            "data_docs": str(path.parent / data["quality"]["data_docs"]) if data["quality"]["data_docs"] else None})
    else:
        print(path)
    return EXIT_OK


def _manifest(args, alias: str, version: str) -> dict | None:
    from indexgate.lifecycle.registry import Registry

    manifest = Registry(settings_of(args).home).load(alias, version)
    return manifest.model_dump(mode="json") if manifest else None


def cmd_status(args) -> int:
    from datetime import datetime, timedelta, timezone

    from indexgate.lifecycle.holds import holds, release_command
    from indexgate.lifecycle.promotion import live_version
    from indexgate.reporting.summary import embedding_accounting, summed_accounting
    from indexgate.lifecycle.registry import Registry
    from indexgate.store import connect
    from indexgate.lifecycle.versioning import validate_alias

    settings = settings_of(args)
    validate_alias(args.alias)
    api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
    store = connect(path=settings.qdrant_folder, url=settings.qdrant_url, api_key=api_key)
    registry = Registry(settings.home)
    live = live_version(store, args.alias)
    versions = []
    for m in registry.versions(args.alias):
        versions.append({
            "version": m.version, "state": m.state, "collection": m.collection,
            "retained": store.exists(m.collection), "created_at": m.created_at, "promoted_at": m.promoted_at,
            "counts": m.counts, "changes": m.changes, "embedding": m.embedding,
            "metrics": m.metrics.get("metrics", {}), "k": m.metrics.get("k"), "decision": m.decision,
            "accounting": embedding_accounting(m.embedding, settings.report.price_per_million_tokens),
        })
    since = (datetime.now(timezone.utc) - timedelta(days=args.days)).isoformat(timespec="seconds")
    spend = {"days": args.days, "since": since,
             **summed_accounting(v["accounting"] for v in versions if (v["created_at"] or "") >= since)}
    history = [e.model_dump() for e in registry.history(args.alias)]
    held = [{"version": v, "withdrawn_at": e.at, "by": e.by, "release": release_command(args.alias, v)}
            for v, e in holds(registry, args.alias).items()]
    if args.json:
        print_json({"alias": args.alias, "live": live, "versions": versions, "history": history, "holds": held,
                     "embedding": spend})
        return EXIT_OK
    print_status(args.alias, live, versions, held, spend, args.days)
    return EXIT_OK


def cmd_search(args) -> int:
    from indexgate.access import split_groups
    from indexgate.serving import Index

    if args.all_groups and args.as_groups:
        print("indexgate: error: --as and --all-groups exclude each other", file=sys.stderr)
        return EXIT_USAGE
    # A search checks the alias and its version before it loads the model the version pins.
    with Index.open(args.alias, settings_of(args)) as index:
        answer = index.search(args.text, args.k, groups=split_groups(args.as_groups),
                              unfiltered=args.all_groups)
    if args.json:
        print_json(answer.as_dict())
        return EXIT_OK
    for rank, h in enumerate(answer.hits, 1):
        snippet = " ".join(h.text.split())
        print(f"{rank}. {h.doc_id} [{h.start}:{h.end}] score {h.score:.3f} (version {h.version})")
        print(f"   {snippet[:200]}{'...' if len(snippet) > 200 else ''}")
    if not answer.hits:
        print(f"no hits (version {answer.version})")
    return EXIT_OK


def cmd_serve_api(args) -> int:
    from indexgate.errors import ConfigError, NotServing
    from indexgate.serving import Index
    from indexgate.serving.http import serve

    settings = settings_of(args)
    if args.api_key_env:
        key = os.environ.get(args.api_key_env, "")
        if not key:
            raise ConfigError(f"--api-key-env {args.api_key_env}: that environment variable is not set or empty")
    else:
        key = settings.api.key.get_secret_value() if settings.api.key else None
    host = args.host or settings.api.host
    port = settings.api.port if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be from 0 to 65535, not {port}")
    if not key and host not in ("127.0.0.1", "localhost", "::1"):
        print(f"indexgate: warning: serving {host} without an API key: anyone who reaches it can search"
              " (set INDEXGATE_API__KEY or --api-key-env)", file=sys.stderr)
    index = Index.open(args.alias, settings)
    try:
        served = index.warm()
        print(f"alias {args.alias}: serving version {served.version}", file=sys.stderr)
    except NotServing as exc:
        # Serve anyway: /health answers 503 until a sync promotes a version, then it is picked up.
        print(f"indexgate: warning: {exc}", file=sys.stderr)
    serve(index, host, port, key)
    return EXIT_OK


def cmd_rollback(args) -> int:
    from indexgate.lifecycle.holds import release_command
    from indexgate.lifecycle.promotion import rollback
    from indexgate.resources import resources

    res = resources(settings_of(args))
    event = rollback(res.store, res.registry, args.alias, to=args.to, by=f"cli ({os.environ.get('USER', 'unknown')})")
    if args.json:
        print_json(event.model_dump())
    else:
        print(f"alias {args.alias}: now serves version {event.to_version} (was {event.from_version})")
        if event.withdrawn:
            print(f"  version {event.withdrawn} is withdrawn: a sync that would build it again is held until"
                  f" `{release_command(args.alias, event.withdrawn)}`")
    return EXIT_OK


def cmd_release(args) -> int:
    from indexgate.lifecycle.holds import release
    from indexgate.lifecycle.registry import Registry

    event = release(Registry(settings_of(args).home), args.alias, args.version,
                    by=f"cli ({os.environ.get('USER', 'unknown')})")
    if args.json:
        print_json(event.model_dump())
    else:
        print(f"alias {args.alias}: version {args.version} released by {event.by} at {event.at};"
              " the next sync may build and promote it again")
    return EXIT_OK


def cmd_gc(args) -> int:
    from indexgate.lifecycle.locking import sync_lock
    from indexgate.resources import resources
    from indexgate.lifecycle.retention import gc

    settings = settings_of(args)
    with sync_lock(settings.home, args.alias, settings.lifecycle.wait_s, what="gc"):
        collected = gc(resources(settings), args.alias)
    if args.json:
        print_json(collected.as_dict())
        return EXIT_OK
    print(f"alias {args.alias}: live version {collected.live or 'none'},"
          f" rollback target {collected.rollback_target or 'none'}")
    for version, why in sorted(collected.kept.items()):
        print(f"  kept    {version}  ({why})")
    for version in collected.removed:
        print(f"  removed {version}  (collection, manifest and work files)")
    if not collected.removed:
        print("  nothing to remove")
    if collected.cache_parts_merged:
        print(f"  merged {collected.cache_parts_merged} embedding cache parts into one")
    return EXIT_OK


def cmd_migrate_store(args) -> int:
    from indexgate.errors import ConfigError
    from indexgate.lifecycle.registry import Registry
    from indexgate.store.migrate import migrate_local

    settings = settings_of(args)
    if settings.qdrant_url:
        raise ConfigError("migrate-store converts the embedded store folder; QDRANT_URL names a server")
    done = migrate_local(settings.qdrant_folder, Registry(settings.home).installation_id, settings.store.mode())
    if args.json:
        print_json(done)
        return EXIT_OK
    for name, n in sorted(done["collections"].items()):
        print(f"  copied {name}: {n} points")
    for alias, target in sorted(done["aliases"].items()):
        print(f"  alias  {alias} -> {target}")
    print(f"the old files are in {done['moved_aside']}; delete them once the store serves")
    return EXIT_OK


def cmd_eval(args) -> int:
    from indexgate_flows.evaluate import evaluate
    from indexgate_flows.runtime import flow_runs

    with flow_runs():
        result = evaluate(source=args.source, golden=args.golden, chunk_size=args.chunk_size,
                          chunk_overlap=args.chunk_overlap, k=args.k, config=args.config, state_dir=args.state_dir)
    if args.json:
        print_json(result)
        return EXIT_OK
    ch = result["chunking"]
    print(f"{result['n_queries']} queries, {result['counts'].get('chunks', 0)} chunks"
          f" ({ch['strategy']}, size {ch['chunk_size']}, overlap {ch['chunk_overlap']}), k={result['k']}")
    for name, value in result["metrics"].items():
        print(f"  {name:<15} {value:.4f}")
    if result["unscorable"]:
        print(f"  {len(result['unscorable'])} queries reference documents not in the source")
    return EXIT_OK


def cmd_experiment(args) -> int:
    from indexgate_flows.experiment import chunking_experiment
    from indexgate_flows.runtime import flow_runs
    from indexgate.experiment.report import summary_text

    with flow_runs():
        summary = chunking_experiment(source=args.source, golden=args.golden, grid=args.grid, config=args.config,
                                      state_dir=args.state_dir, out=args.out)
    if args.json:
        print_json(summary)
    else:
        print(f"experiment {summary['experiment']}: {summary['configurations']} configurations,"
              f" k {summary['k']}, {summary['n_queries']} queries, {summary['seconds']:.0f}s; embedded"
              f" {summary['texts_embedded']} texts ({summary['tokens_embedded']} chunk tokens)")
        print(summary_text(summary))
        for name, path in summary["outputs"].items():
            print(f"  {name}: {path or '-'}")
    return EXIT_OK if summary["selection"]["winner"] else EXIT_REJECTED
