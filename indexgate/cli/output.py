"""What the ``indexgate`` command prints: JSON for scripts, or text for people."""

from __future__ import annotations

import json
import sys
from typing import Any


def print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def print_sync(outcome: dict, manifest: dict | None, report: str | None) -> None:
    """A sync's outcome as text: the decision, what was built, the gate table and the report's path."""
    from indexgate.reporting import summary

    print(f"alias {outcome['alias']}: {outcome['action']} version {outcome['version']}")
    print(f"  reason: {outcome['reason']}")
    print(f"  live version: {outcome['live'] or 'none'}")
    print(f"  {summary.changes_text(outcome['changes'])}")
    for note in (outcome.get("recovery") or {}).get("notes", []):
        print(f"  recovered: {note}")
    if manifest and outcome["action"] != "unchanged":
        counts, emb, carried = manifest["counts"], manifest["embedding"], manifest["changes"]
        print(f"  documents {counts.get('documents', 0)} (parsed {carried.get('documents_parsed', '-')},"
              f" quarantined {counts.get('quarantined', 0)}), chunks {counts.get('chunks', 0)}"
              f" (carried from the live version {carried.get('chunks_carried', 0)}),"
              f" embedded {emb.get('embedded', 0)},"
              f" reused from cache {emb.get('reused', 0)}, tokens embedded {emb.get('tokens_embedded', 0)}")
        totals = (manifest.get("guardrails") or {}).get("totals") or {}
        if totals:  # counts only: the manifest holds no detected value
            print("  guardrails: " + ", ".join(f"{d} {a} {n}" for d, per in totals.items() for a, n in per.items()))
        for q in manifest.get("quarantined", []):
            print(f"  quarantined {q['doc_id']}: {q['reason']}")
    if outcome["gates"]:
        print()
        print(summary.gate_table_text(outcome["gates"]))
    if report and outcome["action"] != "unchanged":
        print(f"\n  report: {report}")
    if outcome.get("seconds"):  # a sync run in this process times its steps
        print("  seconds: " + ", ".join(f"{step} {s:.2f}" for step, s in outcome["seconds"].items()))


def print_status(alias: str, live: str | None, versions: list[dict], held: list[dict], spend: dict, days: int) -> None:
    """An alias's live version, embedding spend, holds, and a table of its versions."""
    print(f"alias {alias}: live version {live or 'none'}")
    print(f"  embedding over the last {days} days: {spend['tokens_embedded']:,} tokens,"
          f" {spend['texts_embedded']:,} texts embedded, {spend['texts_from_cache']:,} from the cache,"
          f" {spend['embedding_s']:.1f} s, estimated cost {spend['estimated_cost']:.6f}")
    for h in held:
        print(f"  held: version {h['version']} (rolled back from at {h['withdrawn_at']} by {h['by']});"
              f" a sync that would build it again is held. Release with: {h['release']}")
    if not versions:
        print("  no versions yet; run `indexgate sync`")
        return
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


def print_moves(alias: str, moves: list, as_json: bool) -> None:
    """After a failed sync: where the alias moved during the run (``moves``: a promotion, or a
    smoke-check rollback), so a failure after the promotion never reads as "nothing happened"."""
    if as_json and moves:
        print_json({"alias": alias, "failed": True, "live": moves[-1].to_version,
                     "moves": [event.model_dump() for event in moves]})
        moves = []
    for event in moves:
        what = "promoted" if event.action == "promote" else "rolled back to"
        print(f"alias {event.alias}: {what} version {event.to_version or 'none'}"
              f" (was {event.from_version or 'none'}) before the run failed")
        print(f"  live version: {event.to_version or 'none'}")
    sys.stdout.flush()
