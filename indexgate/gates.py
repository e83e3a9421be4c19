"""Promotion gates: measured values against thresholds, and the decision they add up to.

Each function turns one kind of evidence into :class:`GateResult` rows. :func:`apply_policy`
then says which of them block, warn or are left out (the ``gates`` policy). :func:`decide` adds
them up.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import replace
from itertools import islice
from pathlib import Path

import pyarrow.parquet as pq

from indexgate.evaluation.audit import Suspect
from indexgate.evaluation.compare import PairedComparison
from indexgate.evaluation.evaluate import EvalResult
from indexgate.evaluation.latency import LatencyStats
from indexgate.guardrails import GuardrailsPolicy, detect
from indexgate.guardrails.memo import NewKeys, scan_keyer
from indexgate.models import Decision, GateResult
from indexgate.settings import GateConfig, LatencyConfig, RegressionConfig
from indexgate.store.base import VectorStore

# What every point's payload must hold, and of which type (bool is not an int here).
PAYLOAD_SCHEMA: dict[str, type] = {"doc_id": str, "chunk_id": str, "start": int, "end": int, "text": str,
                                   "n_tokens": int, "version": str}


_SCHEMA_ITEMS = tuple(PAYLOAD_SCHEMA.items())


def _payload_problem(payload: dict, version: str | None) -> str | None:
    for key, kind in PAYLOAD_SCHEMA.items():
        if key not in payload:
            return f"no '{key}'"
        value = payload[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            return f"'{key}' is {type(value).__name__}, not {kind.__name__}"
    if version is not None and payload["version"] != version:
        return f"'version' is {payload['version']!r}, not {version!r}"
    return None


def _missing_extra(expected: set, stored: set) -> tuple[int, int, str]:
    missing, extra = sorted(expected - stored), sorted(stored - expected)
    detail = "; ".join(f"{what}: {', '.join(map(str, ids[:3]))}{' ...' if len(ids) > 3 else ''}"
                       for what, ids in (("missing", missing), ("extra", extra)) if ids)
    return len(missing), len(extra), detail


class AccessReader:
    """The access-labels gate as a reader of payloads (see :func:`read_back`)."""

    fields = ("doc_id", "groups")

    def __init__(self, documents: Iterable[dict], allow_unlabelled: bool = False):
        self.expected = {d["doc_id"]: sorted(d.get("groups") or []) for d in documents}
        self.allow_unlabelled = allow_unlabelled
        self.wrong, self.first = 0, ""

    def add(self, pid: str, payload: dict) -> None:
        have = payload.get("groups")
        want = self.expected.get(payload.get("doc_id"))
        if not isinstance(have, list) or want is None or sorted(have) != want:
            self.wrong += 1
            self.first = self.first or (f"point {pid} of {payload.get('doc_id')!r} has groups {have!r},"
                                        f" expected {want!r}")

    def result(self) -> GateResult:
        wrong, first, allow_unlabelled = self.wrong, self.first, self.allow_unlabelled
        unlabelled = sorted(doc for doc, groups in self.expected.items() if not groups)
        if unlabelled and not allow_unlabelled:
            first = first or (f"{len(unlabelled)} documents have no group (first {unlabelled[0]!r}); add an access"
                              " rule, tag or sidecar, or set access.allow_unlabelled")
        passed = wrong == 0 and (allow_unlabelled or not unlabelled)
        return GateResult("integrity.access_labels", passed,
                          f"{wrong} points mislabelled, {len(unlabelled)} unlabelled",
                          "0 mislabelled, 0 unlabelled" if not allow_unlabelled else "0 mislabelled", detail=first)


def read_back(store: VectorStore, collection: str, readers: Sequence, seconds: dict | None = None,
              page: int = 512) -> list:
    """Read every payload of ``collection`` back from the store once, with the fields all
    ``readers`` need, and pass each point to each of them (``add(point_id, payload)``; a reader
    must not change the payload). Returns each reader's ``result()``, in order. With
    ``seconds``, each reader's own time is added to ``seconds[i]`` (``i``: its index) and the read
    itself to ``seconds["read"]``: one read of 33k payloads costs about as much as a gate.

    The points go to the readers ``page`` at a time: each reader takes a page in one loop (one
    clock reading per reader and page, not per point)."""
    fields = sorted({f for r in readers for f in r.fields})
    clock = time.perf_counter
    spent = [0.0] * len(readers)
    adds = [reader.add for reader in readers]
    started = clock()
    points = store.iter_payloads(collection, fields)
    while batch := list(islice(points, page)):
        for i, add in enumerate(adds):
            t = clock()
            for pid, payload in batch:
                add(pid, payload)
            spent[i] += clock() - t
    total = clock() - started
    results = []
    for i, reader in enumerate(readers):
        t = clock()
        results.append(reader.result())
        spent[i] += clock() - t
    if seconds is not None:
        for i, s in enumerate(spent):
            seconds[i] = seconds.get(i, 0.0) + s
        seconds["read"] = seconds.get("read", 0.0) + max(0.0, total - sum(spent))
    return results


def access_labels(store: VectorStore, collection: str, documents: Iterable[dict],
                  allow_unlabelled: bool = False) -> GateResult:
    """Every point's groups, read back from the store, are exactly its document's (from the
    manifest), and no document has no group unless ``allow_unlabelled``."""
    reader = AccessReader(documents, allow_unlabelled)
    if not store.exists(collection):
        return reader.result()
    return read_back(store, collection, [reader])[0]


def access_evidence(flagged: list[dict], n_queries: int) -> GateResult:
    """The golden-set access audit: no query's evidence lies in a document its groups may not read."""
    detail = ""
    if flagged:
        f = flagged[0]
        detail = (f"query {f['query_id']} is asked as {f['groups']} but its evidence {f['doc_id']} is readable by"
                  f" {f['readers'] or 'no group'}; give the query its groups or fix the document's labels")
    return GateResult("audit.access_evidence", not flagged, f"{len(flagged)} of {n_queries} queries' evidence unreadable",
                      "0", detail=detail)


class IntegrityReader:
    """The integrity gates as a reader of payloads (see :func:`integrity` and :func:`read_back`)."""

    fields = tuple(PAYLOAD_SCHEMA)

    def __init__(self, store: VectorStore, collection: str, chunks: Path, dimension: int,
                 documents: Path | None = None, version: str | None = None):
        table = pq.read_table(chunks, columns=["point_id", "chunk_id"])
        self.expected_points = set(table.column("point_id").to_pylist())
        self.expected_chunks = set(table.column("chunk_id").to_pylist())
        self.count = store.count(collection)
        self.size = store.vector_size(collection)
        self.dimension, self.documents, self.version = dimension, documents, version
        self.stored_points, self.stored_chunks, self.stored_docs = set(), set(), set()
        self.invalid, self.first_problem = 0, ""

    def add(self, pid: str, payload: dict) -> None:
        self.stored_points.add(pid)
        # a point without a (string) chunk id or document counts as missing them, not as a crash
        if isinstance(payload.get("chunk_id"), str):
            self.stored_chunks.add(payload["chunk_id"])
        if isinstance(payload.get("doc_id"), str):
            self.stored_docs.add(payload["doc_id"])
        # Fast path: every value of exactly its type (as a payload read back holds them) is valid.
        if all(type(payload.get(key)) is kind for key, kind in _SCHEMA_ITEMS) and (
                self.version is None or payload["version"] == self.version):
            return
        problem = _payload_problem(payload, self.version)
        if problem:
            self.invalid += 1
            self.first_problem = self.first_problem or f"point {pid}: {problem}"

    def result(self) -> list[GateResult]:
        count, size, dimension = self.count, self.size, self.dimension
        p_missing, p_extra, p_detail = _missing_extra(self.expected_points, self.stored_points)
        c_missing, c_extra, c_detail = _missing_extra(self.expected_chunks, self.stored_chunks)
        gates = [
            GateResult("integrity.point_count", count == len(self.expected_points), count, len(self.expected_points),
                       detail="points in the store vs chunks in the manifest"),
            GateResult("integrity.vector_size", size == dimension, size, dimension),
            GateResult("integrity.point_ids", p_missing == 0 and p_extra == 0, f"{p_missing} missing, {p_extra} extra",
                       "0 missing, 0 extra", detail=p_detail),
            GateResult("integrity.chunk_ids", c_missing == 0 and c_extra == 0, f"{c_missing} missing, {c_extra} extra",
                       "0 missing, 0 extra", detail=c_detail),
        ]
        if self.documents is not None:
            expected_docs = set(pq.read_table(self.documents, columns=["doc_id"]).column(0).to_pylist())
            d_missing, _, d_detail = _missing_extra(expected_docs, self.stored_docs & expected_docs)
            gates.append(GateResult("integrity.documents", d_missing == 0,
                                    f"{len(expected_docs) - d_missing}/{len(expected_docs)} present",
                                    f"{len(expected_docs)}/{len(expected_docs)} present", detail=d_detail))
        gates.append(GateResult("integrity.payload_schema", self.invalid == 0, f"{self.invalid} invalid", "0 invalid",
                                detail=self.first_problem or "keys: " + ", ".join(PAYLOAD_SCHEMA)))
        return gates


def integrity(store: VectorStore, collection: str, chunks: Path, dimension: int,
              documents: Path | None = None, version: str | None = None) -> list[GateResult]:
    """Read the collection back from the store and compare it with the version's tables.

    It never trusts what the pipeline believes it wrote. It checks:

    - the point count and the vector size;
    - that the stored point ids and chunk ids are exactly the expected ones;
    - with ``documents``, that every parsed document has points;
    - that every payload has the required keys and types, and, with ``version``, names this
      version."""
    if not store.exists(collection):
        return [GateResult("integrity.collection_exists", False, "missing", "present")]
    return read_back(store, collection, [IntegrityReader(store, collection, chunks, dimension, documents, version)])[0]


def relevance(result: EvalResult, config: GateConfig) -> list[GateResult]:
    """Absolute thresholds on the golden-set metrics at k. A partial evaluation (queries whose
    evidence is in documents the version does not hold) never passes."""
    k = result.k
    gates = [
        GateResult("relevance.golden_coverage", not result.unscorable,
                   f"{result.n_queries - len(result.unscorable)}/{result.n_queries}", f"{result.n_queries}/{result.n_queries}",
                   detail=("queries whose evidence is not in this version: " + ", ".join(result.unscorable[:10]))
                   if result.unscorable else ""),
    ]
    # Span-level golden sets measure span_*, mrr and ndcg; document-level ones recall, mrr and ndcg.
    thresholds = {"span_recall": config.min_span_recall, "span_precision": config.min_span_precision,
                  "recall": config.min_recall, "mrr": config.min_mrr, "ndcg": config.min_ndcg}
    for metric, threshold in thresholds.items():
        if metric in result.metrics:
            value = round(result.metrics[metric], 4)
            gates.append(GateResult(f"relevance.{metric}@{k}", value >= threshold, value, threshold))
    return gates


def quarantine_share(objects: int, quarantined: int, max_share: float) -> GateResult:
    """The share of the source's objects that were quarantined, against ``max_share``: a source
    that mostly fails to parse (a broken export, the wrong bucket) must not replace a good index."""
    share = quarantined / objects if objects else 0.0
    return GateResult("source.quarantine_share", share <= max_share, round(share, 4), f"<= {max_share}",
                      detail=f"{quarantined} of {objects} objects quarantined")


def regression(comparisons: list[PairedComparison], config: RegressionConfig, k: int,
               baseline: str | None, problem: str | None = None) -> list[GateResult]:
    """No regression against the live version. A metric fails when its mean drop exceeds
    ``max_drop`` AND the paired test finds the drop significant at ``confidence``.

    ``baseline`` is the live version compared against (None: nothing is live, nothing to regress
    from); ``problem`` says why the live version could not be scored, which fails the gate."""
    if problem:
        return [GateResult("regression.baseline", False, "not scored", baseline, detail=problem)]
    if baseline is None:
        return [GateResult("regression.baseline", True, "none", "-", detail="no live version to compare with")]
    alpha = round(1 - config.confidence, 6)
    gates = [GateResult("regression.baseline", True, baseline, "-", detail="live version scored in this run")]
    for c in comparisons:
        regressed = c.drop > config.max_drop and c.significant
        gates.append(GateResult(
            f"regression.{c.metric}@{k}", not regressed, round(-c.drop, 4),
            f">= -{config.max_drop} or p >= {alpha}",
            detail=f"live {c.live:.4f} -> shadow {c.shadow:.4f}; {c.test} p = {c.p_value:.3f} over {c.n} queries"))
    return gates


def latency(stats: LatencyStats, config: LatencyConfig) -> list[GateResult]:
    """p50 and p95 of the shadow's query latency (embedding + search) against the budget."""
    detail = f"{stats.n} golden queries, one at a time (query embedding + search)"
    return [
        GateResult("latency.p50_ms", stats.p50_ms <= config.p50_ms, round(stats.p50_ms, 1), config.p50_ms, detail=detail),
        GateResult("latency.p95_ms", stats.p95_ms <= config.p95_ms, round(stats.p95_ms, 1), config.p95_ms, detail=detail),
    ]


def audit(suspects: list[Suspect], n_queries: int) -> list[GateResult]:
    """The golden-set audit as a gate: any suspect label fails it (warn-only by default)."""
    ids = sorted({s.query_id for s in suspects})
    return [GateResult("audit.golden_labels", not ids, f"{len(ids)}/{n_queries} suspect", f"0/{n_queries} suspect",
                       detail="; ".join(f"{s.query_id}: {s.reason}" for s in suspects[:5]))]


class GuardrailsReader:
    """The guardrails gate as a reader of payloads (see :func:`guardrails` and :func:`read_back`)."""

    fields = ("doc_id", "text", "section")

    def __init__(self, policy: GuardrailsPolicy, clean: Container[bytes] = frozenset(),
                 found_clean: NewKeys | set[bytes] | None = None):
        self.policy, self.clean, self.found_clean = policy, clean, found_clean
        self.found: Counter[str] = Counter()
        self.first = ""
        self.points = self.skipped = 0
        self.keyed = bool(len(clean)) or found_clean is not None
        # Per document: the detectors its path rules leave on, and the key of a text under them.
        # A document has 3 points on average; the rules and the key's prefix are worked out once.
        self._per_doc: dict[str, tuple[tuple[str, ...], Callable[[str], bytes] | None]] = {}

    def _detectors(self, doc_id: str) -> tuple[tuple[str, ...], Callable[[str], bytes] | None]:
        found = self._per_doc.get(doc_id)
        if found is None:
            actions = self.policy.actions_for(doc_id)
            names = tuple(name for name, action in actions.items() if action != "allow")
            found = self._per_doc[doc_id] = (names, scan_keyer(names, self.policy.phone_region)
                                             if names and self.keyed else None)
        return found

    def add(self, pid: str, payload: dict) -> None:
        policy = self.policy
        self.points += 1
        names, keyer = self._detectors(str(payload.get("doc_id") or ""))
        if not names:
            return
        text = f"{payload.get('section') or ''}\n{payload.get('text') or ''}"
        key = keyer(text) if keyer is not None else b""
        if key in self.clean:
            self.skipped += 1
        else:
            matches = detect(text, names, region=policy.phone_region)
            self.found.update(m.detector for m in matches)
            if matches:
                self.first = self.first or f"; first: point {pid} of {payload.get('doc_id')}"
                return
        if self.found_clean is not None:
            self.found_clean.add(key)

    def result(self) -> GateResult:
        found = self.found
        detail = ", ".join(f"{name} {n}" for name, n in sorted(found.items())) + self.first if found else ""
        if self.skipped:
            unchanged = f"{self.skipped} of {self.points} payloads unchanged since a clean scan"
            detail = "; ".join(filter(None, (detail, unchanged)))
        return GateResult("guardrails.stored_payloads", not found, sum(found.values()), 0, detail=detail)


def guardrails(store: VectorStore, collection: str, policy: GuardrailsPolicy,
               clean: Container[bytes] = frozenset(), found_clean: NewKeys | set[bytes] | None = None) -> GateResult:
    """Read every stored payload back and scan its text (and embedded prefix) with the policy's
    ``redact`` and ``block`` detectors for its document: any finding fails the gate. The detail
    names detectors, counts and the first point; never a value.

    ``clean`` holds keys (:func:`~indexgate.guardrails.memo.scan_key`) of scans that found
    nothing, made by an earlier version's gate. A payload read back whose key is among them is not
    scanned again: the same detectors on the same text find the same nothing. Any other payload
    is scanned. ``found_clean``, if given, receives the key of every payload without a finding."""
    return read_back(store, collection, [GuardrailsReader(policy, clean, found_clean)])[0]


def apply_policy(gates: Iterable[GateResult], config: GateConfig) -> list[GateResult]:
    """Mark each gate blocking or warn-only by the policy; drop the gates that are ``off``."""
    out = []
    for g in gates:
        mode = config.mode(g.name)
        if mode != "off":
            out.append(replace(g, blocking=mode == "block"))
    return out


def _needs(g: GateResult) -> str:
    return f"{g.name} = {g.value} (needs {g.threshold})"


def decide(gates: Iterable[GateResult]) -> Decision:
    """Promote when no blocking gate failed; failed warn-only gates are named in the reason."""
    gates = list(gates)
    failed = tuple(g.name for g in gates if g.blocking and not g.passed)
    if failed:
        reasons = "; ".join(_needs(g) for g in gates if g.name in failed)
        return Decision(False, f"gates failed: {reasons}", failed)
    warned = [g for g in gates if not g.passed]
    if warned:
        return Decision(True, f"no blocking gate failed; {len(warned)} warning(s): "
                              + "; ".join(_needs(g) for g in warned))
    return Decision(True, f"all {len(gates)} gates passed")

