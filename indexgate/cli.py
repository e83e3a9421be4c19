"""The ``indexgate`` command: parses arguments, runs flows, prints results (``--json`` for scripts).

Exit codes: 0 success (promoted, unchanged, done), 3 sync finished but the version was rejected
or rolled back by the smoke check (the alias still serves the previous version) or no experiment
configuration met the selection rule, 1 error, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_REJECTED = 0, 1, 2, 3


def offline_environment() -> None:
    """Defaults for running on one offline machine; anything the user set wins."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "TRANSFORMERS_VERBOSITY": "error",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        # The temporary local API a flow starts can need more than Prefect's 20 s on a busy machine.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        # The library logs with the standard logging module; let Prefect show those lines too.
        "PREFECT_LOGGING_EXTRA_LOGGERS": "indexgate",
        # Library log lines outside a flow run (e.g. `indexgate search`) stay local, without a warning.
        "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    }.items():
        os.environ.setdefault(key, value)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _settings(args):
    from indexgate.settings import load_settings

    return load_settings(getattr(args, "config", None), policy=getattr(args, "policy", None), home=args.state_dir)


def cmd_sync(args) -> int:
    from indexgate_flows.runtime import flow_runs
    from indexgate_flows.sync import sync
    from indexgate.reporting import summary

    with flow_runs():
        outcome = sync(source=args.source, alias=args.alias, golden=args.golden, config=args.config,
                       state_dir=args.state_dir, allow_mass_delete=args.allow_mass_delete, policy=args.policy,
                       allow_empty=args.allow_empty, confirm_budget=args.confirm_budget)
    res_manifest = _manifest(args, outcome["alias"], outcome["version"])
    report = _report_path(args, outcome["alias"], outcome["version"])
    if args.json:
        _print_json({**outcome, "manifest": res_manifest, "report": report})
    else:
        print(f"alias {outcome['alias']}: {outcome['action']} version {outcome['version']}")
        print(f"  reason: {outcome['reason']}")
        print(f"  live version: {outcome['live'] or 'none'}")
        print(f"  {summary.changes_text(outcome['changes'])}")
        for note in (outcome.get("recovery") or {}).get("notes", []):
            print(f"  recovered: {note}")
        if res_manifest and outcome["action"] != "unchanged":
            counts, emb, carried = res_manifest["counts"], res_manifest["embedding"], res_manifest["changes"]
            print(f"  documents {counts.get('documents', 0)} (parsed {carried.get('documents_parsed', '-')},"
                  f" quarantined {counts.get('quarantined', 0)}), chunks {counts.get('chunks', 0)}"
                  f" (carried from the live version {carried.get('chunks_carried', 0)}),"
                  f" embedded {emb.get('embedded', 0)},"
                  f" reused from cache {emb.get('reused', 0)}, tokens embedded {emb.get('tokens_embedded', 0)}")
            totals = (res_manifest.get("guardrails") or {}).get("totals") or {}
            if totals:  # counts only: the manifest holds no detected value
                print("  guardrails: " + ", ".join(f"{d} {a} {n}" for d, per in totals.items() for a, n in per.items()))
            for q in res_manifest.get("quarantined", []):
                print(f"  quarantined {q['doc_id']}: {q['reason']}")
        if outcome["gates"]:
            print()
            print(summary.gate_table_text(outcome["gates"]))
        if report and outcome["action"] != "unchanged":
            print(f"\n  report: {report}")
    return EXIT_REJECTED if outcome["action"] in ("rejected", "rolled_back") else EXIT_OK


def _alias_moves(args) -> list:
    """The alias's history of promotions and rollbacks, oldest first."""
    from indexgate.lifecycle.registry import Registry

    try:
        return Registry(_settings(args).home).history(args.alias)
    except Exception:  # noqa: BLE001 - an unreadable history hides no outcome the run could report
        return []


def _print_moves(args, before: int) -> None:
    """After a failed sync: where the alias moved during the run, if it did (a promotion, or a
    smoke-check rollback), so a failure after the promotion never reads as "nothing happened"."""
    moves = _alias_moves(args)[before:]
    if args.json and moves:
        _print_json({"alias": args.alias, "failed": True, "live": moves[-1].to_version,
                     "moves": [event.model_dump() for event in moves]})
        moves = []
    for event in moves:
        what = "promoted" if event.action == "promote" else "rolled back to"
        print(f"alias {event.alias}: {what} version {event.to_version or 'none'}"
              f" (was {event.from_version or 'none'}) before the run failed")
        print(f"  live version: {event.to_version or 'none'}")
    sys.stdout.flush()


def _report_path(args, alias: str, version: str) -> str | None:
    from indexgate.reporting.html_report import report_path
    from indexgate.lifecycle.registry import Registry

    path = report_path(Registry(_settings(args).home), alias, version)
    return str(path) if path.is_file() else None


def cmd_report(args) -> int:
    from indexgate.reporting import html_report
    from indexgate.lifecycle.registry import Registry
    from indexgate.lifecycle.versioning import validate_alias

    settings = _settings(args)
    registry = Registry(settings.home)
    validate_alias(args.alias)
    version = args.version or html_report.default_version(registry, args.alias)
    path, data = html_report.build_report(registry, args.alias, version, settings.report)
    if args.json:
        _print_json({"alias": args.alias, "version": version, "report": str(path), **{
            k: data[k] for k in ("state", "decision", "gates", "relevance", "changes", "embedding", "audit", "latency")},
            "data_docs": str(path.parent / data["quality"]["data_docs"]) if data["quality"]["data_docs"] else None})
    else:
        print(path)
    return EXIT_OK


def _manifest(args, alias: str, version: str) -> dict | None:
    from indexgate.lifecycle.registry import Registry

    manifest = Registry(_settings(args).home).load(alias, version)
    return manifest.model_dump(mode="json") if manifest else None


def cmd_status(args) -> int:
    from datetime import datetime, timedelta, timezone

    from indexgate.lifecycle.holds import holds, release_command
    from indexgate.lifecycle.promotion import live_version
    from indexgate.reporting.summary import embedding_accounting, summed_accounting
    from indexgate.lifecycle.registry import Registry
    from indexgate.store import connect
    from indexgate.lifecycle.versioning import validate_alias

    settings = _settings(args)
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
        _print_json({"alias": args.alias, "live": live, "versions": versions, "history": history, "holds": held,
                     "embedding": spend})
        return EXIT_OK
    print(f"alias {args.alias}: live version {live or 'none'}")
    print(f"  embedding over the last {args.days} days: {spend['tokens_embedded']:,} tokens,"
          f" {spend['texts_embedded']:,} texts embedded, {spend['texts_from_cache']:,} from the cache,"
          f" {spend['embedding_s']:.1f} s, estimated cost {spend['estimated_cost']:.6f}")
    for h in held:
        print(f"  held: version {h['version']} (rolled back from at {h['withdrawn_at']} by {h['by']});"
              f" a sync that would build it again is held. Release with: {h['release']}")
    if not versions:
        print("  no versions yet; run `indexgate sync`")
        return EXIT_OK
    header = ("version", "state", "docs", "chunks", "recall", "precision", "mrr", "ndcg", "created", "promoted")
    rows = [header]
    for v in versions:
        mt = v["metrics"]
        rows.append((v["version"] + ("*" if v["version"] == live else ""), v["state"] + ("" if v["retained"] else " (gone)"),
                     str(v["counts"].get("documents", "-")), str(v["counts"].get("chunks", "-")),
                     *(f"{mt[m]:.3f}" if m in mt else "-" for m in ("span_recall", "span_precision", "mrr", "ndcg")),
                     v["created_at"] or "-", v["promoted_at"] or "-"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    print("  (* = live; metrics at k=%s)" % next((v["k"] for v in versions if v["k"]), "-"))
    return EXIT_OK


def cmd_search(args) -> int:
    from indexgate.access import split_groups
    from indexgate.serving import Index

    if args.all_groups and args.as_groups:
        print("indexgate: error: --as and --all-groups exclude each other", file=sys.stderr)
        return EXIT_USAGE
    # A search checks the alias and its version before it loads the model the version pins.
    with Index.open(args.alias, _settings(args)) as index:
        answer = index.search(args.text, args.k, groups=split_groups(args.as_groups),
                              unfiltered=args.all_groups)
    if args.json:
        _print_json(answer.as_dict())
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

    settings = _settings(args)
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

    res = resources(_settings(args))
    event = rollback(res.store, res.registry, args.alias, to=args.to, by=f"cli ({os.environ.get('USER', 'unknown')})")
    if args.json:
        _print_json(event.model_dump())
    else:
        print(f"alias {args.alias}: now serves version {event.to_version} (was {event.from_version})")
        if event.withdrawn:
            print(f"  version {event.withdrawn} is withdrawn: a sync that would build it again is held until"
                  f" `{release_command(args.alias, event.withdrawn)}`")
    return EXIT_OK


def cmd_release(args) -> int:
    from indexgate.lifecycle.holds import release
    from indexgate.lifecycle.registry import Registry

    event = release(Registry(_settings(args).home), args.alias, args.version,
                    by=f"cli ({os.environ.get('USER', 'unknown')})")
    if args.json:
        _print_json(event.model_dump())
    else:
        print(f"alias {args.alias}: version {args.version} released by {event.by} at {event.at};"
              " the next sync may build and promote it again")
    return EXIT_OK


def cmd_gc(args) -> int:
    from indexgate.lifecycle.locking import sync_lock
    from indexgate.resources import resources
    from indexgate.lifecycle.retention import gc

    settings = _settings(args)
    with sync_lock(settings.home, args.alias, settings.lifecycle.wait_s, what="gc"):
        collected = gc(resources(settings), args.alias)
    if args.json:
        _print_json(collected.as_dict())
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

    settings = _settings(args)
    if settings.qdrant_url:
        raise ConfigError("migrate-store converts the embedded store folder; QDRANT_URL names a server")
    done = migrate_local(settings.qdrant_folder, Registry(settings.home).installation_id, settings.store.mode())
    if args.json:
        _print_json(done)
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
        _print_json(result)
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
        _print_json(summary)
    else:
        print(f"experiment {summary['experiment']}: {summary['configurations']} configurations,"
              f" k {summary['k']}, {summary['n_queries']} queries, {summary['seconds']:.0f}s; embedded"
              f" {summary['texts_embedded']} texts ({summary['tokens_embedded']} chunk tokens)")
        print(summary_text(summary))
        for name, path in summary["outputs"].items():
            print(f"  {name}: {path or '-'}")
    return EXIT_OK if summary["selection"]["winner"] else EXIT_REJECTED


def _full_state_folder(args, exc: OSError) -> str:
    """For a full disk met by a write that named no file: the state folder, when it is the full one."""
    import errno
    import shutil

    if exc.filename is not None or exc.errno not in (errno.ENOSPC, errno.EDQUOT):
        return ""
    try:
        home = _settings(args).home
        free = shutil.disk_usage(home).free
    except Exception:  # noqa: BLE001 - only a detail of a message
        return ""
    return f" (the state folder {home}, {free:,} bytes free)" if free < 16 << 20 else ""


def _preflight(args) -> None:
    """What can be checked without a flow, before Prefect starts: a bad config, policy, golden
    set, grid, source, state folder or model fails in about a second, with one line."""
    from indexgate import preflight

    settings = _settings(args)  # the config and policy files, parsed and validated
    preflight.check_state_dir(settings.home)
    if args.command in ("sync", "eval", "experiment"):
        preflight.check_run(settings, getattr(args, "alias", None), args.source, args.golden)
    if args.command == "experiment":
        from indexgate.experiment.grid import load_grid

        load_grid(args.grid)
    if args.command in ("gc", "rollback"):  # before the lock or resources() create any folder
        preflight.check_known_alias(settings.home, args.alias, getattr(args, "to", None))


def _run(args) -> int:
    """Run the command. After a failed sync, first say where the alias moved during it (a
    failure after the promotion must not read as "nothing happened"), then let the error out."""
    moves_before = len(_alias_moves(args)) if args.command == "sync" else None
    try:
        return args.func(args)
    except BaseException:
        if moves_before is not None:
            _print_moves(args, moves_before)
        raise


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", help="state directory (default: $INDEXGATE_HOME or ~/.indexgate)")
    common.add_argument("--config", help="YAML config file (chunking, embedder, gates, source, parsing)")
    common.add_argument("--json", action="store_true", help="print JSON for scripts")

    parser = argparse.ArgumentParser(prog="indexgate", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sync", parents=[common], help="build, validate and promote a new version of an alias")
    p.add_argument("--source", required=True,
                   help="folder of documents, s3://bucket/prefix, or beir:DIR (DIR/corpus.jsonl)")
    p.add_argument("--alias", required=True, help="the alias applications query")
    p.add_argument("--golden", help="golden set (JSON Lines, or beir:DIR) for the relevance gates")
    p.add_argument("--allow-mass-delete", action="store_true",
                   help="confirm a sync that deletes more than gates.max_delete_share of the live documents")
    p.add_argument("--allow-empty", action="store_true",
                   help="allow a first sync whose source holds no document to go live with an empty index")
    p.add_argument("--confirm-budget", action="store_true",
                   help="confirm a sync that embeds more than the guardrails budget allows")
    p.add_argument("--policy", help="promotion and guardrails policy: YAML with a 'gates' and/or a 'guardrails'"
                                    " section (see policy.yaml, docs/guardrails.md)")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("status", parents=[common], help="live version and every version of an alias")
    p.add_argument("--alias", required=True)
    p.add_argument("--days", type=int, default=30,
                   help="period of the embedding accounting summed over the alias's versions (default 30)")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("search", parents=[common], help="top-k chunks from the alias")
    p.add_argument("--alias", required=True)
    p.add_argument("text", help="the query text")
    p.add_argument("-k", type=int, default=5, help="number of hits (default 5)")
    p.add_argument("--as", dest="as_groups", metavar="GROUP[,GROUP]",
                   help="search as a member of these groups: only their documents are hit (docs/access.md)")
    p.add_argument("--all-groups", action="store_true",
                   help="administrators: search every document, whatever its groups")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("serve-api", parents=[common],
                       help="serve the alias over HTTP: POST /search, GET /health, OpenAPI at /docs")
    p.add_argument("--alias", required=True)
    p.add_argument("--host", help="address to bind (default: api.host, 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, help="port (default: api.port, 8000; 0 picks a free one)")
    p.add_argument("--api-key-env", metavar="VAR",
                   help="require the API key held in this environment variable (default: INDEXGATE_API__KEY, if set)")
    p.set_defaults(func=cmd_serve_api)

    p = sub.add_parser("rollback", parents=[common], help="point the alias back at an earlier version")
    p.add_argument("--alias", required=True)
    p.add_argument("--to", help="version to serve (default: the one promoted before the live one)")
    p.set_defaults(func=cmd_rollback)

    p = sub.add_parser("release", parents=[common],
                       help="lift the hold a rollback put on a version, so a sync may build it again")
    p.add_argument("--alias", required=True)
    p.add_argument("version", help="the held version (see `indexgate status`)")
    p.set_defaults(func=cmd_release)

    p = sub.add_parser("report", parents=[common], help="rebuild a version's HTML data-quality report; print its path")
    p.add_argument("--alias", required=True)
    p.add_argument("--version", help="version (default: the live one, else the newest)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("gc", parents=[common], help="remove versions outside retention (never the live one or the rollback target)")
    p.add_argument("--alias", required=True)
    p.set_defaults(func=cmd_gc)

    p = sub.add_parser("migrate-store", parents=[common],
                       help="copy an embedded store of qdrant-client's local mode into Qdrant Edge shards")
    p.set_defaults(func=cmd_migrate_store)

    p = sub.add_parser("eval", parents=[common], help="score a throw-away index of a source on a golden set")
    p.add_argument("--source", required=True, help="folder of documents, or beir:DIR")
    p.add_argument("--golden", required=True, help="golden set (JSON Lines), or beir:DIR (queries + qrels/test.tsv)")
    p.add_argument("--chunk-size", type=int, help="tokens per chunk (default from config: 200)")
    p.add_argument("--chunk-overlap", type=int, help="tokens shared by neighbouring chunks (default 0)")
    p.add_argument("-k", type=int, help="hits scored per query (default from config: 5)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("experiment", parents=[common],
                       help="compare chunking configurations on a golden set and pick a winner; never touches an alias")
    p.add_argument("--source", required=True)
    p.add_argument("--golden", required=True)
    p.add_argument("--grid", required=True, help="YAML: strategies and their values, k values, selection rule")
    p.add_argument("--out", help="output folder (default: <state dir>/experiments/<id>)")
    p.set_defaults(func=cmd_experiment)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for name in ("k", "chunk_size"):
        if getattr(args, name, None) is not None and getattr(args, name) < 1:
            print(f"indexgate: error: --{name.replace('_', '-')} must be at least 1", file=sys.stderr)
            return EXIT_USAGE
    if getattr(args, "alias", None) is not None:
        # Before any flow starts: the flows' typed parameters would refuse it with a regex.
        from indexgate.errors import ConfigError
        from indexgate.lifecycle.versioning import validate_alias

        try:
            validate_alias(args.alias)
        except ConfigError as exc:
            print(f"indexgate: error: {exc}", file=sys.stderr)
            return EXIT_USAGE
    offline_environment()
    import logging

    logging.getLogger("indexgate").setLevel(logging.INFO)
    from indexgate import resources
    from indexgate.errors import IndexGateError, first_line, os_error_text

    try:
        _preflight(args)
        return _run(args)
    except IndexGateError as exc:
        print(f"indexgate: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:  # the machine refused (disk full, permissions): say what and where
        print(f"indexgate: error: {os_error_text(exc)}{_full_state_folder(args, exc)}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - a bug, still reported as one line (the flow's log has the traceback)
        print(f"indexgate: error: unexpected {type(exc).__name__}: {first_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("indexgate: interrupted", file=sys.stderr)
        return 130
    finally:
        resources.reset()  # release embedded Qdrant's lock cleanly, not in interpreter shutdown


if __name__ == "__main__":
    sys.exit(main())
