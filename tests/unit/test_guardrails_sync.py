"""The sync applies the guardrails (issue 22): redaction before anything is written, blocking as a
quarantine entry, a gate over the stored payloads, and the embedding budget's hold."""

import json

import numpy as np
import pytest

from indexgate import sync
from indexgate.errors import BudgetHeld
from indexgate.gates import guardrails
from indexgate.resources import resources
from indexgate.settings import load_settings

EMAIL, PHONE, KEY = "jo.doe@example.com", "(415) 555-2671", "AKIAIOSFODNN7EXAMPLE"
MIXED = (f"Escalations go to {EMAIL} or {PHONE} during office hours.\n"
         f"The backup job reads the bucket with aws_access_key_id = {KEY}\n"
         "Refunds are processed within fourteen days of the request reaching the billing team.\n")
FILES = {"support.md": MIXED, "plain.md": "Vacation requests need two weeks of notice and a manager's approval.\n"}


def _settings(tmp_path, policy: str | None = None, **over):
    path = None
    if policy:
        path = tmp_path / "policy.yaml"
        path.write_text(policy)
    return load_settings(home=str(tmp_path / "state"), policy=path,
                         embedder={"kind": "fake", "model": "fake"}, **over)


def _build(settings, root, confirm_budget=False):
    """A shadow of ``root`` built by the sync's build steps, no gate run: (resources, plan)."""
    res = resources(settings)
    return res, sync.build_shadow(res, "docs", root, confirm_budget=confirm_budget)


def _golden(tmp_path):
    start = MIXED.index("Refunds")
    path = tmp_path / "golden.jsonl"
    path.write_text(json.dumps({"query_id": "q1", "query": "refund processing time", "relevant": [
        {"doc_id": "support.md", "start": start, "end": start + len("Refunds are processed within fourteen days")}]}))
    return path


def test_default_policy_redacts_stored_text_and_keeps_golden_spans(tmp_path, write_corpus):
    root = write_corpus(FILES)
    settings = _settings(tmp_path, chunking={"chunk_size": 40, "chunk_overlap": 0})
    res, plan = _build(settings, root)
    payloads = [p for _, p in res.store.iter_payloads(plan.collection, ["doc_id", "text"])]
    stored = " ".join(p["text"] for p in payloads)
    assert "[EMAIL]" in stored and "[PHONE]" in stored and "[CLOUD_KEY]" in stored
    gates = sync.check_guardrails(res, plan) + sync.check_integrity(res, plan)
    assert all(g.passed for g in gates), gates
    # Golden spans are original offsets; they are mapped into the redacted text before scoring.
    result = sync.score(res, plan, str(_golden(tmp_path)))
    assert result.metrics["span_recall"] > 0.9
    manifest = res.registry.load("docs", plan.version)
    assert manifest.guardrails["totals"] == {"email": {"redact": 1}, "phone": {"redact": 1},
                                             "cloud_key": {"redact": 1}}
    # The raw values are nowhere in the state folder (tables, manifests, store).
    for path in (tmp_path / "state").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in (EMAIL, PHONE, KEY):
                assert value.encode() not in data, (value, path)


def test_gate_fails_on_a_stored_value(tmp_path, write_corpus):
    """The gate reads the store, never trusting the pipeline: a value upserted behind its back fails it."""
    root = write_corpus(FILES)
    res, plan = _build(_settings(tmp_path), root)
    pid, payload = next(iter(res.store.iter_payloads(plan.collection, ["doc_id"])))
    assert sync.check_guardrails(res, plan)[0].passed
    res.store.upsert(plan.collection, ids=[pid], vectors=np.ones((1, res.embedder.dimension)),
                     payloads=[{**payload, "text": f"mail {EMAIL}", "chunk_id": "x", "start": 0, "end": 1,
                                "n_tokens": 1, "version": plan.version}])
    gate = guardrails(res.store, plan.collection, res.settings.guardrails)
    assert not gate.passed and gate.value == 1 and "email 1" in gate.detail and EMAIL not in gate.detail


def test_block_policy_quarantines_the_document_with_its_reason(tmp_path, write_corpus):
    root = write_corpus(FILES)
    res, plan = _build(_settings(tmp_path, "guardrails: {actions: {cloud_key: block}}\n"), root)
    manifest = res.registry.load("docs", plan.version)
    assert manifest.quarantined == [{"doc_id": "support.md", "kind": "guardrail",
                                     "reason": "blocked by the guardrails policy: cloud_key (1)"}]
    assert {p["doc_id"] for _, p in res.store.iter_payloads(plan.collection, ["doc_id"])} == {"plain.md"}


def test_another_policy_is_another_version(tmp_path, write_corpus):
    root = write_corpus(FILES)
    snap = sync.snapshot(str(root))
    first = sync.plan(resources(_settings(tmp_path)), "docs", snap)
    other = sync.plan(resources(_settings(tmp_path, "guardrails: {actions: {email: allow}}\n")), "docs", snap)
    assert first.version != other.version


def test_budget_holds_before_embedding_until_confirmed(tmp_path, write_corpus):
    root = write_corpus(FILES)
    settings = _settings(tmp_path, "guardrails: {budget: {max_texts: 1}}\n")
    with pytest.raises(BudgetHeld, match=r"held before embedding: 2 texts, .* \(2 texts > max_texts 1\);"
                                         r" to embed anyway run: indexgate sync --source .* --alias docs"
                                         r" --confirm-budget"):
        _build(settings, root)
    res = resources(settings)
    held = res.registry.versions("docs")[0]
    assert held.embedding["estimate"]["held"] and "embedded" not in held.embedding  # nothing embedded
    res, plan = _build(settings, root, confirm_budget=True)
    estimate = res.registry.load("docs", plan.version).embedding["estimate"]
    assert estimate["texts"] == 2 and estimate["confirmed"] and not estimate["held"]
    assert res.store.count(plan.collection) == 2


def test_report_and_artifact_show_counts_never_values(tmp_path, write_corpus):
    from indexgate.reporting import summary
    from indexgate.reporting.html_report import build_report

    root = write_corpus(FILES)
    settings = _settings(tmp_path, "guardrails: {actions: {phone: allow}}\n")
    res, plan = _build(settings, root)
    manifest = res.registry.load("docs", plan.version)
    html = build_report(res.registry, "docs", plan.version, settings.report)[0].read_text()
    outcome = {"alias": "docs", "action": "promoted", "version": plan.version, "reason": "x", "live": None}
    markdown = summary.sync_markdown(outcome, manifest.model_dump())
    assert "| support.md | redacted | email | redact | 1 |" in markdown
    assert "| support.md | redacted | phone | allow | 1 |" in markdown
    assert "guardrails-table" in html and "<td>email</td>" in html
    for text in (html, markdown):
        assert EMAIL not in text and KEY not in text


def test_embedding_accounting_per_version_and_summed(tmp_path, write_corpus):
    from indexgate.reporting.summary import embedding_accounting, summed_accounting

    root = write_corpus(FILES)
    settings = _settings(tmp_path, report={"price_per_million_tokens": 1_000_000.0})
    res, plan = _build(settings, root)
    embedding = res.registry.load("docs", plan.version).embedding
    row = embedding_accounting(embedding, 1_000_000.0)
    assert row["texts_embedded"] == 2 and row["tokens_embedded"] > 0
    assert row["estimated_cost"] == embedding["estimated_cost"] == row["tokens_embedded"]  # $1 a token
    assert summed_accounting([row, row])["tokens_embedded"] == 2 * row["tokens_embedded"]


PLAIN = {f"policy/p{i}.md": f"Policy {i}: requests are answered within {i + 2} business days by the desk.\n"
         for i in range(4)}


def test_a_small_change_scans_only_the_payloads_it_changed(tmp_path, write_corpus):
    """The gate reads every payload back, but skips the texts the base's gate scanned clean."""
    root = write_corpus(PLAIN)
    res = resources(_settings(tmp_path))
    first, outcome = sync.run_sync(res, "docs", root)
    assert outcome.action == "promoted"
    assert "unchanged since a clean scan" not in outcome.gates[0]["detail"]  # nothing to carry from
    (root / "policy/p0.md").write_text("Policy 0: requests are answered within a week.\n")
    plan = sync.build_shadow(res, "docs", root)
    assert res.registry.load("docs", plan.version).counts["points_copied"] == 3
    [gate] = sync.check_guardrails(res, plan)
    assert gate.passed and gate.detail == "3 of 4 payloads unchanged since a clean scan"


def test_a_copied_payload_changed_behind_the_pipeline_is_scanned_and_fails(tmp_path, write_corpus):
    root = write_corpus(PLAIN)
    res = resources(_settings(tmp_path))
    sync.run_sync(res, "docs", root)
    (root / "policy/p0.md").write_text("Policy 0: requests are answered within a week.\n")
    plan = sync.build_shadow(res, "docs", root)
    copied = next(pid for pid, p in res.store.iter_payloads(plan.collection, ["doc_id"])
                  if p["doc_id"] != "policy/p0.md")
    res.store.set_payload(plan.collection, [copied], {"text": f"Write to {EMAIL} for a faster answer."})
    [gate] = sync.check_guardrails(res, plan)
    assert not gate.passed and gate.detail.startswith(f"email 1; first: point {copied} of ")
    assert gate.detail.endswith("2 of 4 payloads unchanged since a clean scan") and EMAIL not in gate.detail


def test_validate_reads_the_stored_payloads_once_for_integrity_access_and_guardrails(tmp_path, write_corpus):
    # Each of the three gates reads every payload; at 10,000 documents one read costs about as much
    # as a gate, so validate() reads them once for all three, with the same results.
    settings = _settings(tmp_path, chunking={"chunk_size": 40, "chunk_overlap": 0})
    res, plan = _build(settings, write_corpus(FILES))
    separate = sync.check_integrity(res, plan) + sync.check_guardrails(res, plan)
    reads = []
    real = res.store.iter_payloads
    res.store.iter_payloads = lambda *a, **k: reads.append(a) or real(*a, **k)
    gates = sync.validate(res, plan)
    assert len(reads) == 1
    names = {g.name for g in separate}
    assert sorted((g.name, g.passed, g.value) for g in gates if g.name in names) == \
        sorted((g.name, g.passed, g.value) for g in separate)
    assert len(names) >= 7
    timings = res.registry.load("docs", plan.version).timings
    assert {"gates_integrity_s", "gates_access_s", "gates_guardrails_s"} <= set(timings)
