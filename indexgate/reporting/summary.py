"""Human-readable summaries of a run: a gate table and a Markdown report."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value else "0"
    return "-" if value is None else str(value)


def _cell(text: str) -> str:
    """Text from outside (file names, reasons) made safe for one Markdown table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _status(gate: Mapping[str, Any]) -> str:
    if gate["passed"]:
        return "pass"
    return "FAIL" if gate.get("blocking", True) else "warn"


def gate_rows(gates: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, str]]:
    return [(g["name"], _status(g), _fmt(g["value"]), _fmt(g["threshold"])) for g in gates]


def gate_table_text(gates: Iterable[Mapping[str, Any]]) -> str:
    rows = [("gate", "result", "value", "threshold"), *gate_rows(gates)]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def gate_table_markdown(gates: Iterable[Mapping[str, Any]]) -> str:
    lines = ["| gate | result | value | threshold |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in gate_rows(gates)]
    return "\n".join(lines)


def _kinds(changes: Mapping[str, Any]) -> tuple[str, ...]:
    """The kinds of change to show; ``relabelled`` (same content, other access groups) when any was."""
    if changes.get("relabelled"):
        return ("added", "changed", "relabelled", "unchanged", "deleted")
    return ("added", "changed", "unchanged", "deleted")


def changes_text(changes: Mapping[str, Any]) -> str:
    """One line: documents added, changed, unchanged and deleted against the base version."""
    if not changes:
        return "changes: not recorded"
    counts = ", ".join(f"{k} {changes.get(k, 0)}" for k in _kinds(changes))
    return f"documents {counts} (against {changes.get('base') or 'no live version'})"


def embedding_accounting(embedding: Mapping[str, Any], price_per_million_tokens: float) -> dict[str, Any]:
    """What one version's embedding cost: texts embedded and taken from the cache, tokens embedded,
    seconds, and the cost estimated at ``price_per_million_tokens`` (``report.price_per_million_tokens``)."""
    tokens = int(embedding.get("tokens_embedded", 0))
    return {"texts_embedded": int(embedding.get("embedded", 0)), "texts_from_cache": int(embedding.get("reused", 0)),
            "tokens_embedded": tokens, "embedding_s": float(embedding.get("seconds", 0.0)),
            "estimated_cost": round(tokens * price_per_million_tokens / 1e6, 6)}


def summed_accounting(rows: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The sum of several :func:`embedding_accounting` rows (e.g. an alias's versions over a period)."""
    keys = ("texts_embedded", "texts_from_cache", "tokens_embedded", "embedding_s", "estimated_cost")
    total = dict.fromkeys(keys, 0)
    for row in rows:
        for key in keys:
            total[key] += row.get(key, 0)
    total["embedding_s"] = round(total["embedding_s"], 3)
    total["estimated_cost"] = round(total["estimated_cost"], 6)
    return total


def guardrail_rows(record: Mapping[str, Any]) -> list[list[Any]]:
    """Rows (document, outcome, detector, action, count) of a manifest's guardrails record, then
    the totals (document ``all``). Names and counts only: the record holds no detected value."""
    rows = [[d["path"], d["outcome"], c["detector"], c["action"], c["count"]]
            for d in record.get("documents", []) for c in d["counts"]]
    rows += [["all", "", detector, action, n]
             for detector, per in record.get("totals", {}).items() for action, n in per.items()]
    return rows


def sync_markdown(outcome: Mapping[str, Any], manifest: Mapping[str, Any] | None) -> str:
    """The Markdown artifact of one sync: decision and reason, counts, metrics, gates."""
    lines = [f"# IndexGate sync of `{outcome['alias']}`", "",
             f"**Decision: {outcome['action']}** (version `{outcome['version']}`)", "",
             f"Reason: {outcome['reason']}", "", f"Live version now: `{outcome['live'] or 'none'}`", ""]
    changes = outcome.get("changes") or {}
    if changes:
        lines += [f"## Changes against `{changes.get('base') or 'no live version'}`", "",
                  "| documents | count |", "|---|---|"]
        lines += [f"| {k} | {changes.get(k, 0)} |" for k in _kinds(changes)] + [""]
    if manifest:
        counts, emb = manifest.get("counts", {}), manifest.get("embedding", {})
        carried = manifest.get("changes", {})
        lines += ["## Counts", "", "| what | count |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in counts.items()]
        lines += [f"| documents parsed | {carried.get('documents_parsed', '-')} |",
                  f"| documents carried from the live version | {carried.get('documents_carried', '-')} |",
                  f"| chunks carried from the live version | {carried.get('chunks_carried', '-')} |"]
        lines += [f"| chunks embedded | {emb.get('embedded', 0)} |", f"| chunks reused from cache | {emb.get('reused', 0)} |",
                  f"| tokens embedded | {emb.get('tokens_embedded', 0)} |", ""]
        metrics = manifest.get("metrics", {}).get("metrics")
        if metrics:
            k = manifest["metrics"].get("k")
            lines += [f"## Relevance at k={k}", "", "| metric | value |", "|---|---|"]
            lines += [f"| {m} | {_fmt(v)} |" for m, v in metrics.items()] + [""]
        guard_rows = guardrail_rows(manifest.get("guardrails") or {})
        if guard_rows:
            lines += ["## Guardrails", "", "| document | outcome | detector | action | count |", "|---|---|---|---|---|"]
            lines += [f"| {_cell(str(r[0]))} | {r[1]} | {r[2]} | {r[3]} | {r[4]} |" for r in guard_rows] + [""]
        if manifest.get("quarantined"):
            lines += ["## Quarantined", "", "| document | kind | reason |", "|---|---|---|"]
            lines += [f"| {_cell(q['doc_id'])} | {q.get('kind', '')} | {_cell(q['reason'])} |"
                      for q in manifest["quarantined"]] + [""]
    if outcome.get("gates"):
        lines += ["## Gates", "", gate_table_markdown(outcome["gates"]), ""]
    return "\n".join(lines)
