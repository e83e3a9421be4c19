"""The HTML data-quality report of one version, built from its manifest (and work folder).

One self-contained page: inline CSS and SVG, no scripts, nothing fetched. It shows:

- the decision and the gate table;
- live-versus-shadow metrics, with a chart;
- the chunk-length histogram;
- document changes against the version that was live when the run started;
- the quarantine list;
- tokens embedded, embedding time and an estimated cost;
- the golden-set audit and latency;
- a link to the Great Expectations Data Docs of the run.

It is written to ``report.html`` in the version's work folder. It can be rebuilt at any time
from the manifest (``indexgate report``).
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from indexgate.reporting import charts
from indexgate.errors import RegistryError
from indexgate.quality import wait_data_docs
from indexgate.lifecycle.registry import Manifest, Registry
from indexgate.reporting.summary import gate_rows, guardrail_rows
from indexgate.settings import ReportConfig

REPORT_NAME = "report.html"
METRIC_ORDER = ("span_recall", "span_precision", "span_iou", "mrr", "ndcg")


def document_changes(before: list[dict] | None, after: list[dict]) -> dict[str, list[str]]:
    """Documents added, changed (other content hash) and deleted between two manifests."""
    old = {d["doc_id"]: d.get("content_hash") for d in before or []}
    new = {d["doc_id"]: d.get("content_hash") for d in after}
    return {"added": sorted(new.keys() - old.keys()), "deleted": sorted(old.keys() - new.keys()),
            "changed": sorted(d for d in new.keys() & old.keys() if new[d] != old[d])}


def token_histogram(chunks: Path, bins: int = 24) -> dict[str, list]:
    """Chunk lengths in tokens, bucketed: {"edges": [...], "counts": [...]} (empty if no table)."""
    if not chunks.is_file():
        return {"edges": [], "counts": []}
    tokens = pq.read_table(chunks, columns=["n_tokens"]).column(0).to_numpy()
    if not len(tokens):
        return {"edges": [], "counts": []}
    lo, hi = int(tokens.min()), int(tokens.max()) + 1
    counts, edges = np.histogram(tokens, bins=min(bins, hi - lo), range=(lo, hi))
    return {"edges": [round(float(e), 1) for e in edges], "counts": [int(c) for c in counts]}


def report_data(manifest: Manifest, baseline: Manifest | None, folder: Path, config: ReportConfig) -> dict[str, Any]:
    """Everything the report shows, as plain data (also the ``--json`` output)."""
    quality = manifest.quality
    tokens = int(manifest.embedding.get("tokens_embedded", 0))
    live = quality.get("live") or {}
    suites = quality.get("suites") or {}
    data_docs = suites.get("data_docs")
    if data_docs and not Path(data_docs).is_file():
        data_docs = None  # not written (or deleted since): no dead link
    rows = gate_rows(manifest.gates)
    return {
        "alias": manifest.alias, "version": manifest.version, "state": manifest.state,
        "created_at": manifest.created_at, "decision": manifest.decision,
        "baseline": quality.get("baseline"),
        "gates": [{"name": n, "result": r, "value": v, "threshold": t, "detail": g.get("detail", "")}
                  for (n, r, v, t), g in zip(rows, manifest.gates)],
        "counts": manifest.counts,
        "embedding": {"tokens_embedded": tokens, "chunks_embedded": manifest.embedding.get("embedded", 0),
                      "chunks_reused": manifest.embedding.get("reused", 0),
                      "seconds": manifest.timings.get("embed_s", manifest.embedding.get("seconds")),
                      "price_per_million_tokens": config.price_per_million_tokens,
                      "estimated_cost": round(tokens * config.price_per_million_tokens / 1e6, 6),
                      "model": manifest.embedder.get("model")},
        "relevance": {"k": manifest.metrics.get("k"), "n_queries": manifest.metrics.get("n_queries"),
                      "shadow": manifest.metrics.get("metrics") or {}, "live": live.get("metrics") or {},
                      "live_version": live.get("version"), "live_problem": live.get("problem"),
                      "comparisons": quality.get("comparisons") or []},
        "latency": quality.get("latency"),
        "audit": quality.get("audit") or [],
        "changes": {**document_changes(baseline.documents if baseline else None, manifest.documents),
                    "against": baseline.version if baseline else None},
        "quarantined": manifest.quarantined,
        "guardrails": guardrail_rows(manifest.guardrails),
        "embedding_estimate": manifest.embedding.get("estimate"),
        "access_groups": quality.get("access_groups") or {},
        "chunk_tokens": token_histogram(folder / "chunks.parquet"),
        "quality": {"checks": suites.get("checks") or [], "seconds": suites.get("seconds"),
                    "data_docs": os.path.relpath(data_docs, folder) if data_docs else None},
        "timings": manifest.timings,
    }


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#1d2330;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e3e6eb}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3;
vertical-align:top}th{background:#f5f7fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
td.pass{color:#176b2c;font-weight:600}td.FAIL{color:#b3261e;font-weight:700}td.warn{color:#9a6700;font-weight:700}
tr.row-FAIL{background:#fdecea}tr.row-warn{background:#fff8e1}p.warn{color:#9a6700}.decision{font-size:16px;padding:8px 12px;border-radius:6px;
display:inline-block}.promoted{background:#e6f4ea}.rejected{background:#fdecea}.other{background:#eef0f3}
.muted{color:#667085}.detail{color:#475467;font-size:12px}ul{margin:4px 0}code{font-size:12px}
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 and value else f"{value:.4f}".rstrip("0").rstrip(".") or "0"
    return escape("-" if value is None else str(value))


def _table(header: list[str], rows: list[list[Any]], table_id: str = "", row_class=None, cell_class=None) -> str:
    """A table; ``row_class(i)`` and ``cell_class(i, j)`` give CSS classes (or "")."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{escape(row_class(i))}"' if row_class else ""
        cells = []
        for j, c in enumerate(row):
            cc = cell_class(i, j) if cell_class else ""
            cells.append(f'<td class="{escape(cc)}">{_cell(c)}</td>' if cc else f"<td>{_cell(c)}</td>")
        body.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _list(items: list[str], empty: str) -> str:
    if not items:
        return f'<p class="muted">{escape(empty)}</p>'
    return "<ul>" + "".join(f"<li><code>{escape(i)}</code></li>" for i in items) + "</ul>"


def render_html(data: dict[str, Any]) -> str:
    decision = data["decision"] or {}
    action = decision.get("action", data["state"])
    css_class = action if action in ("promoted", "rejected") else "other"
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8>"
             f"<title>IndexGate report: {escape(data['alias'])} {escape(data['version'])}</title>"
             f"<style>{_CSS}</style></head><body>",
             f"<h1>Data-quality report: <code>{escape(data['alias'])}</code> version <code>{escape(data['version'])}"
             f"</code></h1>",
             f'<p class="muted">built {escape(data["created_at"])}; compared with the live version '
             f'<code>{_cell(data["baseline"])}</code>; state {escape(data["state"])}</p>',
             f'<p id="decision" class="decision {css_class}"><b>{escape(str(action))}</b>: '
             f'{escape(decision.get("reason", "no decision recorded"))}</p>']

    gates = data["gates"]
    tally = {r: sum(g["result"] == r for g in gates) for r in ("pass", "warn", "FAIL")}
    parts.append(f'<h2>Gates</h2><p>{tally["pass"]} pass, {tally["warn"]} warn, {tally["FAIL"]} fail</p>')
    parts.append(_table(["gate", "result", "value", "threshold", "detail"],
                        [[g["name"], g["result"], g["value"], g["threshold"], g["detail"]] for g in gates],
                        "gate-table", row_class=lambda i: "row-" + gates[i]["result"],
                        cell_class=lambda i, j: gates[i]["result"] if j == 1 else ""))

    rel = data["relevance"]
    parts.append(f"<h2>Relevance: live versus shadow (k = {_cell(rel['k'])}, {_cell(rel['n_queries'])} queries)</h2>")
    if rel["shadow"]:
        metrics = [m for m in METRIC_ORDER if m in rel["shadow"]]
        live = rel["live"]
        comparisons = {c["metric"]: c for c in rel["comparisons"]}
        rows = []
        for m in metrics:
            shadow = rel["shadow"][m]
            base = live.get(m)
            delta = f"{shadow - base:+.4f}" if base is not None else "-"
            p = comparisons.get(m, {}).get("p_value")
            rows.append([m, f"{base:.4f}" if base is not None else "-", f"{shadow:.4f}", delta,
                         f"{p:.3f}" if p is not None else "-"])
        parts.append(_table(["metric", f"live ({rel['live_version'] or 'none'})", "shadow", "delta", "paired p"],
                            rows, "metric-table"))
        series = {"shadow": [rel["shadow"][m] for m in metrics]}
        if live:
            series = {"live": [live.get(m, 0.0) for m in metrics], **series}
        parts.append(charts.grouped_bars(metrics, series, element_id="metric-chart",
                                         title="golden-set metrics, live versus shadow"))
        if rel["live_problem"]:
            parts.append(f'<p class="warn">live version not scored: {escape(rel["live_problem"])}</p>')
    else:
        parts.append('<p class="muted">no golden set was given: relevance was not measured.</p>')

    hist = data["chunk_tokens"]
    parts.append("<h2>Chunk lengths</h2>")
    if hist["counts"]:
        parts.append(charts.histogram(hist["edges"], hist["counts"], element_id="chunk-histogram",
                                      title="chunks by length in tokens", xlabel="tokens per chunk"))
    else:
        parts.append('<p class="muted">no chunks table.</p>')

    ch = data["changes"]
    against = f"version {ch['against']}" if ch["against"] else "nothing (first version of this alias)"
    parts.append(f"<h2>Document changes</h2><p>against {escape(against)}: {len(ch['added'])} added,"
                 f" {len(ch['changed'])} changed, {len(ch['deleted'])} deleted</p>")
    for kind in ("added", "changed", "deleted"):
        parts.append(f"<h3>{kind}</h3>" + _list(ch[kind][:200], f"none {kind}"))

    parts.append("<h2>Quarantine</h2>")
    parts.append(_table(["document", "reason"], [[q["doc_id"], q["reason"]] for q in data["quarantined"]],
                        "quarantine-table") if data["quarantined"] else '<p class="muted">nothing quarantined</p>')

    parts.append("<h2>Guardrails</h2>")
    parts.append(_table(["document", "outcome", "detector", "action", "count"], data["guardrails"],
                        "guardrails-table") if data["guardrails"] else '<p class="muted">no personal data or secrets found</p>')
    parts.append("<h2>Access groups</h2>")
    groups = data.get("access_groups") or {}
    parts.append(_table(["group", "documents", "chunks"],
                        [[g or "(no group)", c["documents"], c["chunks"]] for g, c in groups.items()],
                        "access-table", cell_class=lambda i, j: "num" if j else "")
                 if groups else '<p class="muted">no access labels recorded</p>')

    emb = data["embedding"]
    parts.append("<h2>Embedding</h2>")
    parts.append(_table(["what", "value"], [
        ["model", emb["model"]], ["chunks embedded", emb["chunks_embedded"]], ["chunks reused from the cache",
                                                                                emb["chunks_reused"]],
        ["tokens embedded", emb["tokens_embedded"]], ["embedding time (s)", emb["seconds"]],
        ["estimated cost", f"${emb['estimated_cost']:.6f} at ${emb['price_per_million_tokens']:g} per million tokens"],
        *([["estimate before embedding (texts, tokens, cost)",
            f"{est['texts']}, {est['tokens']}, ${est['cost']:.6f}" + (" (over budget, confirmed)" if est.get("confirmed") else "")]]
          if (est := data.get("embedding_estimate")) else []),
    ], "embedding-table"))
    counts = data["counts"]
    if counts:
        parts.append(_table(["count", "value"], [[k, v] for k, v in counts.items()], "counts-table"))

    parts.append("<h2>Golden-set audit</h2>")
    parts.append(_table(["query", "why its label looks wrong"], [[s["query_id"], s["reason"]] for s in data["audit"]],
                        "audit-table") if data["audit"] else '<p class="muted">no suspect labels</p>')

    lat = data["latency"]
    parts.append("<h2>Latency</h2>")
    parts.append(f"<p>p50 {lat['p50_ms']} ms, p95 {lat['p95_ms']} ms, max {lat['max_ms']} ms over {lat['n']} queries"
                 " (query embedding + search, one at a time)</p>" if lat else '<p class="muted">not measured</p>')

    q = data["quality"]
    parts.append("<h2>Data quality (Great Expectations)</h2>")
    if q["checks"]:
        docs = (f'<p><a id="data-docs-link" href="{escape(q["data_docs"])}">Great Expectations Data Docs of this run'
                f'</a> (validation took {q["seconds"]} s)</p>') if q["data_docs"] else ""
        parts.append(docs + _table(
            ["suite", "expectation", "result", "observed", "threshold"],
            [[c["suite"], f"{c['name']} ({c['expectation']})", "pass" if c["success"] else "fail",
              f"{c['unexpected']}/{c['rows']} rows fail" if c["unexpected"] is not None else c["observed"],
              c["threshold"]] for c in q["checks"]], "quality-table"))
    else:
        parts.append('<p class="muted">data-quality suites did not run (policy off)</p>')
    parts.append("</body></html>")
    return "\n".join(parts)


def report_path(registry: Registry, alias: str, version: str) -> Path:
    return registry.version_dir(alias, version) / REPORT_NAME


def build_report(registry: Registry, alias: str, version: str, config: ReportConfig) -> tuple[Path, dict[str, Any]]:
    """Render the report of ``version`` from its manifest, write it, return (path, data)."""
    manifest = registry.load(alias, version)
    if manifest is None:
        raise RegistryError(f"alias {alias!r} has no version {version!r} (no manifest under"
                            f" {registry.version_dir(alias, version)})")
    baseline_version = manifest.quality.get("baseline")
    baseline = registry.load(alias, baseline_version) if baseline_version else None
    folder = registry.version_dir(alias, version)
    wait_data_docs(folder)  # the report links to them: a sync's may still be being written
    data = report_data(manifest, baseline, folder, config)
    path = folder / REPORT_NAME
    tmp = folder / f".{REPORT_NAME}.{os.getpid()}.tmp"
    tmp.write_text(render_html(data), encoding="utf-8")
    tmp.replace(path)
    return path, data


def default_version(registry: Registry, alias: str) -> str:
    """The version a report is about when none is named: the live one (by the registry), else
    the newest. Reads no store, so it works while a sync holds embedded Qdrant."""
    versions = registry.versions(alias)
    if not versions:
        raise RegistryError(f"alias {alias!r} has no versions yet; run `indexgate sync --alias {alias}` first")
    live = [m for m in versions if m.state == "live"]
    return (live or versions)[-1].version
