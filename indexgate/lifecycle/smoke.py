"""The smoke check right after a promotion, and the automatic rollback when it fails.

Gates judge the shadow collection by its own name. The smoke check asks the question an
application asks, through the alias. It runs a few golden queries. Without a golden set, it
searches a few chunk texts of the version by their own vectors. It requires that:

- every query returns hits;
- every hit comes from the version just promoted;
- a chunk searched by its own vector is its own top hit.

If not, the alias goes back to the version it served before (or is removed, if it served none).
The version is marked rejected.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
import numpy as np
import pyarrow.parquet as pq

from indexgate.access import caller_groups
from indexgate.errors import AliasConflict
from indexgate.evaluation import load_golden
from indexgate.evaluation.evaluate import search_as
from indexgate.lifecycle.promotion import live_version, revert
from indexgate.models import Outcome, Plan
from indexgate.resources import Resources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmokeResult:
    passed: bool
    queries: int
    kind: str  # "golden", "chunks", "probe" or "empty"
    failures: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        if self.passed:
            return f"{self.queries} {self.kind} queries through the alias answered by the new version"
        return f"{len(self.failures)} of {self.queries} {self.kind} queries failed: " + "; ".join(self.failures[:3])


def _evenly(n_items: int, n: int) -> list[int]:
    return sorted({round(i * (n_items - 1) / max(n - 1, 1)) for i in range(min(n, n_items))}) if n_items else []


def _sample_chunks(chunks: Path, n: int) -> list[dict]:
    """``n`` chunks spread evenly over the table. Only the row groups that hold them are read
    (the table may be large: a 1%-changed sync at 10,000 documents would read 33k texts)."""
    table = pq.ParquetFile(chunks)
    wanted = _evenly(table.metadata.num_rows, n)
    picked, start = [], 0
    for group in range(table.num_row_groups):
        size = table.metadata.row_group(group).num_rows
        local = [i - start for i in wanted if start <= i < start + size]
        if local:
            picked += table.read_row_group(group, columns=["doc_id", "text_hash", "text"]).take(local).to_pylist()
        start += size
    return picked


def check(res: Resources, alias: str, version: str, golden: str | None = None) -> SmokeResult:
    """Query ``alias`` as an application would and check that ``version`` answers.

    Every query is filtered by groups, as an application's are:

    - a golden query by its own groups, else the default caller's;
    - a sampled chunk by its document's groups. It is unfiltered only for a document no group
      reads."""
    n, k = res.settings.lifecycle.smoke_queries, res.settings.gates.k
    expected_texts: list[str | None]
    chunks = res.registry.version_dir(alias, version) / "chunks.parquet"
    if golden:
        queries = load_golden(golden)
        queries = [queries[i] for i in _evenly(len(queries), n)]
        vectors, kind = res.embedder.embed_queries([q.query for q in queries]), "golden"
        labels, expected_texts = [q.query_id for q in queries], [None] * len(queries)
        default = caller_groups(res.settings, None)
        groups = [q.groups if q.groups is not None else default for q in queries]
    elif chunks.is_file() and (rows := _sample_chunks(chunks, n)):
        cached = res.cache.get_many(r["text_hash"] for r in rows)
        missing = [r["text"] for r in rows if r["text_hash"] not in cached]
        fresh = iter(res.embedder.embed_documents(missing)) if missing else iter(())
        vectors = np.stack([cached[r["text_hash"]] if r["text_hash"] in cached else next(fresh) for r in rows])
        kind, labels, expected_texts = "chunks", [r["text_hash"][:12] for r in rows], [r["text"] for r in rows]
        manifest = res.registry.load(alias, version)
        readers = {d["doc_id"]: tuple(d.get("groups") or ()) for d in (manifest.documents if manifest else ())}
        groups = [readers.get(r["doc_id"]) or None for r in rows]
    else:  # no work files (promoted elsewhere, or collected), or no chunks: the alias must answer
        vectors, labels, expected_texts = np.ones((1, res.embedder.dimension), np.float32), ["probe"], [None]
        # An empty version (a confirmed mass delete of everything) answers with no hits at all.
        kind = "empty" if chunks.is_file() else "probe"
        groups = None  # whether the alias answers at all, whatever the labels
    failures = []
    try:
        answers = search_as(res.store, alias, np.asarray(vectors), k, groups)
    except Exception as exc:  # the store failing to answer through the alias is what we check for
        return SmokeResult(False, len(labels), kind, (f"search through the alias failed: {exc}",))
    for label, text, hits in zip(labels, expected_texts, answers):
        if kind == "empty":
            if hits:
                failures.append(f"{label}: an empty version answered with {len(hits)} hits")
        elif not hits:
            failures.append(f"{label}: no hits")
        elif {h.version for h in hits} != {version}:
            failures.append(f"{label}: hits from versions {sorted({h.version for h in hits})}, not {version}")
        elif text is not None and hits[0].text != text:
            failures.append(f"{label}: the chunk searched by its own vector is not the top hit")
    return SmokeResult(not failures, len(labels), kind, tuple(failures))


@dataclass(frozen=True)
class Verdict:
    """How a promotion ended after its smoke check."""

    passed: bool
    reason: str
    live: str | None
    smoke: SmokeResult


def verify_promotion(res: Resources, alias: str, version: str, previous: str | None, golden: str | None,
                     by: str) -> Verdict:
    """Smoke-check ``alias`` right after ``version`` was promoted over ``previous``. If the check
    fails, point the alias back at ``previous`` (or remove it if there was none) and mark the
    version rejected. Idempotent (a repeated call after a rollback finds the alias moved and
    leaves it)."""
    result = check(res, alias, version, golden)
    manifest = res.registry.load(alias, version)
    if manifest is not None:
        manifest.decision = {**manifest.decision, "smoke": asdict(result)}
        res.registry.save(manifest)
    if result.passed:
        log.info("smoke check of %s passed: %s", alias, result.summary)
        return Verdict(True, result.summary, version, result)
    back = f"moved back to {previous}" if previous else "removed (it served no version before)"
    reason = f"smoke check failed after promotion ({result.summary}); alias {back}"
    try:
        revert(res.store, res.registry, alias, version, previous, by=by, reason=reason)
    except AliasConflict as exc:
        reason = f"smoke check failed after promotion ({result.summary}); {exc}"
    manifest = res.registry.load(alias, version)
    if manifest is not None:
        manifest.state = "rejected"
        manifest.decision = {**manifest.decision, "action": "rolled_back", "reason": reason, "by": by}
        res.registry.save(manifest)
    log.warning("rolled back: version %s of %s (%s)", version, alias, reason)
    return Verdict(False, reason, live_version(res.store, alias), result)


def after_promotion(res: Resources, plan: Plan, outcome: Outcome, golden: str | None, by: str) -> Outcome:
    """The sync step after :func:`indexgate.sync.conclude`: a promoted outcome is smoke-checked
    and becomes ``rolled_back`` if the check fails; other outcomes pass through."""
    if outcome.action != "promoted":
        return outcome
    verdict = verify_promotion(res, plan.alias, plan.version, plan.live, golden, by)
    if verdict.passed:
        return outcome
    return replace(outcome, action="rolled_back", reason=verdict.reason, live=verdict.live)
