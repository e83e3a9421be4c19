"""The ``indexgate`` command's arguments.

One subcommand each, bound to its function in :mod:`indexgate.cli.commands`.
"""

from __future__ import annotations

import argparse

from indexgate.cli.commands import (
    cmd_eval, cmd_experiment, cmd_gc, cmd_migrate_store, cmd_release, cmd_report, cmd_rollback, cmd_search,
    cmd_serve_api, cmd_status, cmd_sync,
)


DESCRIPTION = "The ``indexgate`` command: parses arguments, runs flows, prints results (``--json`` for scripts)."


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", help="state directory (default: $INDEXGATE_HOME or ~/.indexgate)")
    common.add_argument("--config", help="YAML config file (chunking, embedder, gates, source, parsing)")
    common.add_argument("--json", action="store_true", help="print JSON for scripts")

    parser = argparse.ArgumentParser(prog="indexgate", description=DESCRIPTION)
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
