"""What a chunking experiment produces:

- the results table (Parquet);
- the selection of a winner by an explicit rule;
- a Markdown table;
- an HTML page: the table and a plot of span recall against tokens retrieved (an inline SVG);
- a config file for the winner, usable with ``indexgate sync --config``.
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from indexgate.evaluation.evaluate import METRICS
from indexgate.experiment.grid import Grid, winner_chunking
from indexgate.settings import ChunkingConfig, Settings

SCHEMA = pa.schema([
    ("config", pa.string()), ("strategy", pa.string()), ("chunk_size", pa.int32()), ("chunk_overlap", pa.int32()),
    ("heading_prefix", pa.bool_()), ("breakpoint_percentile", pa.float64()), ("fingerprint", pa.string()),
    ("k", pa.int32()), *((m, pa.float64()) for m in METRICS), ("tokens_retrieved", pa.float64()),
    ("chunks", pa.int64()), ("mean_chunk_tokens", pa.float64()), ("index_tokens", pa.int64()),
    ("embedded", pa.int64()), ("tokens_embedded", pa.int64()), ("sentences_embedded", pa.int64()),
    ("chunk_seconds", pa.float64()), ("embed_seconds", pa.float64()), ("seconds", pa.float64()),
    ("unscorable", pa.int32()), ("selected", pa.bool_()), ("error", pa.string()),
])
COLORS = {"token_window": "#4c72b0", "recursive": "#dd8452", "sentence": "#55a868", "markdown": "#c44e52",
          "semantic": "#8172b3"}


@dataclass(frozen=True)
class Selection:
    """The outcome of the selection rule at one k."""

    rule: str
    metric: str
    k: int
    ranked: tuple[dict, ...]          # rows at k within the rule's bounds, best first
    winner_config: ChunkingConfig | None

    @property
    def winner(self) -> dict | None:
        return self.ranked[0] if self.ranked else None

    def best_by_strategy(self) -> list[dict]:
        """The best row of each strategy within the bounds, best first."""
        seen: dict[str, dict] = {}
        for row in self.ranked:
            seen.setdefault(row["strategy"], row)
        return list(seen.values())

    def as_dict(self) -> dict:
        winner, metric = self.winner, self.metric
        out = {"rule": self.rule, "metric": metric, "k": self.k, "qualifying": len(self.ranked),
               "winner": None, "runner_up": None, "margin": None, "margin_se": None, "best_by_strategy": []}
        if winner is None:
            return out
        out["winner"] = {**_brief(winner, metric), "chunking": winner_chunking(self.winner_config)}
        if len(self.ranked) > 1:
            out["runner_up"] = _brief(self.ranked[1], metric)
            out["margin"] = winner[metric] - self.ranked[1][metric]
            out["margin_se"] = paired_se(winner, self.ranked[1], metric)
        out["best_by_strategy"] = [{**_brief(r, metric), "behind_winner": winner[metric] - r[metric],
                                    "behind_winner_se": paired_se(winner, r, metric)}
                                   for r in self.best_by_strategy()]
        return out


def _brief(row: dict, metric: str) -> dict:
    return {"config": row["config"], "strategy": row["strategy"], metric: row[metric],
            "tokens_retrieved": row["tokens_retrieved"]}


def paired_se(a: dict, b: dict, metric: str) -> float | None:
    """Standard error of the difference of two rows' mean ``metric``, paired by query (the same
    golden queries score both): how much of a margin the golden set's size can tell apart."""
    qa = {q["query_id"]: q[metric] for q in a.get("per_query") or []}
    qb = {q["query_id"]: q[metric] for q in b.get("per_query") or []}
    if len(qa) < 2 or qa.keys() != qb.keys():
        return None
    diff = np.array([qa[q] - qb[q] for q in qa])
    return float(diff.std(ddof=1) / math.sqrt(len(diff)))


def select(results: list[tuple[ChunkingConfig, list[dict]]], grid: Grid) -> Selection:
    """Apply the grid's rule: best ``metric`` at ``k`` within the bounds; ties go to fewer
    tokens retrieved, then grid order. Failed configurations are never selected."""
    rule, k = grid.select, grid.select_k
    candidates = []
    for order, (config, rows) in enumerate(results):
        for row in rows:
            if row["k"] != k or row.get("error"):
                continue
            if all(row[n] >= v for n, v in rule.min.items()) and all(row[n] <= v for n, v in rule.max.items()):
                candidates.append((-row[rule.metric], row["tokens_retrieved"], order, row, config))
    candidates.sort(key=lambda c: c[:3])
    return Selection(rule.describe(k), rule.metric, k, tuple(c[3] for c in candidates),
                     candidates[0][4] if candidates else None)


def table_rows(results: list[tuple[ChunkingConfig, list[dict]]], selection: Selection) -> list[dict]:
    """Every row of every configuration (grid order, then k), marked ``selected`` for the winner."""
    winner = selection.winner
    return [{**{name: row.get(name) for name in SCHEMA.names}, "selected": row is winner}
            for _, rows in results for row in rows]


def write_parquet(rows: list[dict], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    pq.write_table(pa.Table.from_pylist(rows, SCHEMA), tmp)
    tmp.replace(path)


def winner_config_yaml(selection: Selection, settings: Settings, header: str) -> str | None:
    """A complete config file (chunking, embedder, gates with the rule's k) for ``sync --config``."""
    if selection.winner_config is None:
        return None
    data = {"chunking": winner_chunking(selection.winner_config),
            "embedder": settings.embedder.model_dump(mode="json"),
            "gates": {**settings.gates.model_dump(mode="json"), "k": selection.k}}
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    return comment + yaml.safe_dump(data, sort_keys=False)


# -- human-readable tables -----------------------------------------------------------------

_SHOWN = [("config", "configuration"), ("k", "k"), ("span_recall", "recall"), ("span_precision", "precision"),
          ("span_iou", "IoU"), ("mrr", "MRR"), ("ndcg", "nDCG"), ("tokens_retrieved", "tokens retrieved"),
          ("chunks", "chunks"), ("mean_chunk_tokens", "mean tokens"), ("index_tokens", "index tokens"),
          ("chunk_seconds", "chunk s"), ("embed_seconds", "embed s")]


def _cell(name: str, value) -> str:
    if value is None:
        return "-"
    if name in METRICS:
        return f"{value:.4f}"
    if isinstance(value, float):
        return f"{value:.1f}" if name.endswith("seconds") else f"{value:.0f}"
    return str(value)


def _ordered(rows: list[dict], metric: str) -> list[dict]:
    return sorted(rows, key=lambda r: (r["k"], r.get("error") is not None, -(r.get(metric) or 0)))


def markdown_table(rows: list[dict], metric: str = "span_recall") -> str:
    lines = ["| " + " | ".join(title for _, title in _SHOWN) + " |",
             "|" + "|".join("---" if n == "config" else "---:" for n, _ in _SHOWN) + "|"]
    for row in _ordered(rows, metric):
        cells = [_cell(n, row.get(n)) for n, _ in _SHOWN]
        if row.get("selected"):
            cells[0] = f"**{cells[0]}** (winner)"
        if row.get("error"):
            cells[2] = f"failed: {row['error']}"
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary_text(summary: dict) -> str:
    """Two or three lines saying what won, by which rule, and by how much."""
    sel = summary["selection"]
    if sel["winner"] is None:
        return f"No configuration meets the rule: {sel['rule']}."
    metric, k, w = sel["metric"], sel["k"], sel["winner"]
    text = f"Winner: {w['config']} with {metric}@{k} = {w[metric]:.4f} ({sel['rule']})."
    if sel["runner_up"]:
        r = sel["runner_up"]
        text += f"\nRunner-up: {r['config']} with {r[metric]:.4f} (margin {sel['margin']:+.4f}{_se(sel['margin_se'])})."
    others = [b for b in sel["best_by_strategy"] if b["strategy"] != w["strategy"]]
    if others:
        text += "\nBest of each other strategy: " + ", ".join(
            f"{b['config']} {b[metric]:.4f} ({-b['behind_winner']:+.4f}{_se(b['behind_winner_se'])})"
            for b in others) + "."
        if any(b["behind_winner_se"] is not None for b in others):
            text += " (± one standard error of the difference, paired by query)"
    return text


def _se(value: float | None) -> str:
    return "" if value is None else f" ± {value:.4f}"


# -- the HTML page -----------------------------------------------------------------------------

def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    span = (hi - lo) or 1.0
    step = 10 ** math.floor(math.log10(span / count))
    for m in (1, 2, 5, 10):
        if span / (step * m) <= count:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def svg_plot(rows: list[dict], k: int, token_bound: float | None = None, width: int = 620, height: int = 380) -> str:
    """Span recall (y) against mean tokens retrieved per query (x) at one k.

    There is one point per configuration, coloured by strategy and labelled size/overlap. The
    winner is ringed. A selection rule's bound on tokens retrieved is a dashed line."""
    points = [r for r in rows if r["k"] == k and not r.get("error")]
    left, right, top, bottom = 56, 150, 20, 44
    if not points:
        return ""
    xmax = max([r["tokens_retrieved"] for r in points] + [token_bound or 0]) * 1.08 or 1.0
    ys = [r["span_recall"] for r in points]
    ylo, yhi = max(0.0, math.floor((min(ys) - 0.02) * 20) / 20), min(1.0, math.ceil((max(ys) + 0.02) * 20) / 20)
    if yhi <= ylo:
        ylo, yhi = max(0.0, ylo - 0.05), min(1.0, yhi + 0.05) if yhi < 1 else 1.0
    pw, ph = width - left - right, height - top - bottom

    def x(v: float) -> float:
        return left + v / xmax * pw

    def y(v: float) -> float:
        return top + (yhi - v) / ((yhi - ylo) or 1) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="span recall at k={k} against tokens retrieved" font-family="sans-serif" font-size="11">',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#999"/>']
    for t in _ticks(0, xmax):
        out.append(f'<line x1="{x(t):.1f}" y1="{top + ph}" x2="{x(t):.1f}" y2="{top + ph + 4}" stroke="#555"/>'
                   f'<text x="{x(t):.1f}" y="{top + ph + 16}" text-anchor="middle">{t:g}</text>')
    for t in _ticks(ylo, yhi):
        out.append(f'<line x1="{left - 4}" y1="{y(t):.1f}" x2="{left + pw}" y2="{y(t):.1f}" stroke="#e3e3e3"/>'
                   f'<text x="{left - 7}" y="{y(t) + 4:.1f}" text-anchor="end">{t:.2f}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 8}" text-anchor="middle">mean tokens retrieved per query (k={k})</text>'
               f'<text transform="translate(14 {top + ph / 2}) rotate(-90)" text-anchor="middle">span recall@{k}</text>')
    if token_bound is not None:
        out.append(f'<line x1="{x(token_bound):.1f}" y1="{top}" x2="{x(token_bound):.1f}" y2="{top + ph}" '
                   f'stroke="#888" stroke-dasharray="5,4"/><text x="{x(token_bound) - 4:.1f}" y="{top + ph - 6}" '
                   f'text-anchor="end" fill="#666">rule: at most {token_bound:g} tokens</text>')
    for r in points:
        color = COLORS.get(r["strategy"], "#333")
        short = r["config"].split(" ", 1)[-1]  # "200/50", "200/0 +prefix"
        out.append(f'<text x="{x(r["tokens_retrieved"]) + 7:.1f}" y="{y(r["span_recall"]) + 12:.1f}" '
                   f'font-size="9" fill="{color}">{html.escape(short)}</text>')
        tip = html.escape(f"{r['config']}, k={k}: recall {r['span_recall']:.4f}, precision {r['span_precision']:.4f},"
                          f" {r['tokens_retrieved']:.0f} tokens retrieved")
        ring = ' stroke="#000" stroke-width="2.5"' if r.get("selected") else ' stroke="#fff"'
        out.append(f'<circle cx="{x(r["tokens_retrieved"]):.1f}" cy="{y(r["span_recall"]):.1f}" '
                   f'r="{7 if r.get("selected") else 5}" fill="{color}"{ring}><title>{tip}</title></circle>')
        if r.get("selected"):
            out.append(f'<text x="{x(r["tokens_retrieved"]) + 9:.1f}" y="{y(r["span_recall"]) - 8:.1f}" '
                       f'font-weight="bold">{html.escape(r["config"])} (winner)</text>')
    for i, (strategy, color) in enumerate(s for s in COLORS.items() if any(p["strategy"] == s[0] for p in points)):
        ly = top + 12 + i * 18
        out.append(f'<circle cx="{left + pw + 16}" cy="{ly}" r="5" fill="{color}"/>'
                   f'<text x="{left + pw + 26}" y="{ly + 4}">{strategy}</text>')
    out.append("</svg>")
    return "".join(out)


def html_page(summary: dict, rows: list[dict], winner_yaml: str | None, token_bound: float | None = None) -> str:
    sel = summary["selection"]
    esc = html.escape
    meta = [("source", summary["source"]), ("golden set", f"{summary['golden']} ({summary['n_queries']} queries)"),
            ("grid", summary["grid"]), ("embedder", summary["embedder"]), ("configurations", summary["configurations"]),
            ("finished", summary["finished_at"]), ("selection rule", sel["rule"])]
    head = ["<tr>" + "".join(f"<th>{esc(title)}</th>" for _, title in _SHOWN) + "</tr>"]
    body = []
    for row in _ordered(rows, sel["metric"]):
        cells = [esc(_cell(n, row.get(n))) for n, _ in _SHOWN]
        if row.get("error"):
            cells[2] = "failed: " + esc(row["error"])
        body.append(f'<tr{" class=winner" if row.get("selected") else ""}>' + "".join(
            f"<td>{c}</td>" for c in cells) + "</tr>")
    plots = "".join(f"<figure>{svg_plot(rows, k, token_bound if k == sel['k'] else None)}"
                    f"<figcaption>k = {k}</figcaption></figure>" for k in summary["k"])
    winner = (f"<h2>Winner config</h2><p>Use it with <code>indexgate sync --config winner.yaml</code>.</p>"
              f"<pre>{esc(winner_yaml)}</pre>") if winner_yaml else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>IndexGate chunking experiment {esc(summary['experiment'])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 7px; text-align: right; }}
td:first-child, th:first-child, table.meta td {{ text-align: left; }}
tr.winner {{ background: #fff3c4; font-weight: bold; }}
figure {{ display: inline-block; margin: 0 1em 1em 0; }}
pre {{ background: #f4f4f4; padding: 1em; }}
</style></head><body>
<h1>Chunking experiment <code>{esc(summary['experiment'])}</code></h1>
<table class=meta>{''.join(f'<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>' for k, v in meta)}</table>
<h2>Result</h2><p>{esc(summary_text(summary)).replace(chr(10), '<br>')}</p>
<h2>Span recall against tokens retrieved</h2>{plots}
<h2>All configurations</h2><p>Metrics are means over the golden queries; tokens retrieved is the mean, per query,
of the tokens of the top-k chunks; index tokens is what embedding the whole corpus costs.</p>
<table>{''.join(head)}{''.join(body)}</table>
{winner}
</body></html>
"""


def write_outputs(out: Path, results: list[tuple[ChunkingConfig, list[dict]]], grid: Grid, settings: Settings,
                  meta: dict) -> dict:
    """Write results.parquet, per_query.parquet (every query's scores), report.md, report.html,
    summary.json and (when a configuration meets the rule) winner.yaml into ``out``; return the
    summary."""
    out.mkdir(parents=True, exist_ok=True)
    selection = select(results, grid)
    rows = table_rows(results, selection)
    summary = {**meta, "k": grid.k, "configurations": len(results), "selection": selection.as_dict(),
               "failed": sorted({r["config"] for r in rows if r.get("error")}),
               # what this run sent to the model: chunks (and their tokens) and semantic sentences
               "texts_embedded": sum((r.get("embedded") or 0) + (r.get("sentences_embedded") or 0)
                                     for r in rows if r["k"] == grid.k[0]),
               "tokens_embedded": sum(r.get("tokens_embedded") or 0 for r in rows if r["k"] == grid.k[0]),
               "outputs": {"table": str(out / "results.parquet"), "per_query": str(out / "per_query.parquet"),
                           "markdown": str(out / "report.md"),
                           "html": str(out / "report.html"), "summary": str(out / "summary.json"),
                           "winner_config": None}}
    header = (f"Winner of chunking experiment {meta['experiment']} ({meta['finished_at']}).\n"
              f"Rule: {selection.rule}.\nSource {meta['source']}, golden set {meta['golden']}.")
    winner_yaml = winner_config_yaml(selection, settings, header)
    if winner_yaml:
        (out / "winner.yaml").write_text(winner_yaml, encoding="utf-8")
        summary["outputs"]["winner_config"] = str(out / "winner.yaml")
    else:
        (out / "winner.yaml").unlink(missing_ok=True)  # a stale winner of an earlier run must not linger
    write_parquet(rows, out / "results.parquet")
    per_query = [{"config": r["config"], "k": r["k"], **q} for _, rs in results for r in rs for q in r.get("per_query") or []]
    if per_query:
        pq.write_table(pa.Table.from_pylist(per_query), out / "per_query.parquet")
    (out / "report.md").write_text(summary_text(summary) + "\n\n" + markdown_table(rows, selection.metric) + "\n",
                                   encoding="utf-8")
    (out / "report.html").write_text(html_page(summary, rows, winner_yaml, grid.select.max.get("tokens_retrieved")),
                                     encoding="utf-8")
    (out / "summary.json").write_text(json.dumps({**summary, "rows": rows}, indent=2, default=str), encoding="utf-8")
    return {**summary, "rows": rows}
