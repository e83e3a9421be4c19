"""Gates through the sync steps, with the fake embedder: integrity read back from the store,
regression against the live version (block vs warn policy), the golden-set audit, latency."""

from __future__ import annotations

import json

import pytest
import yaml

from indexgate import gates, sync
from indexgate.evaluation.compare import compare
from indexgate.evaluation.latency import LatencyStats
from indexgate.errors import ConfigError
from indexgate.resources import resources
from indexgate.settings import LatencyConfig, load_settings
from indexgate.sync import build_shadow, run_sync

N_TOPICS = 12


def _topic(i: int) -> str:
    return " ".join(f"t{i}w{j}" for j in range(10)) + ".\n"


def _query(i: int) -> str:
    return f"t{i}w1 t{i}w4 t{i}w7"


@pytest.fixture
def corpus(write_corpus):
    return write_corpus({f"topic{i:02d}.md": _topic(i) for i in range(N_TOPICS)})


@pytest.fixture
def golden(tmp_path):
    path = tmp_path / "golden.jsonl"
    lines = [{"query_id": f"q{i}", "query": _query(i),
              "relevant": [{"doc_id": f"topic{i:02d}.md", "start": 0, "end": len(_topic(i)) - 2}]}
             for i in range(N_TOPICS)]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def _settings(tmp_path, policy: str = ""):
    """Fake embedder, k=1; the data-quality suites (tested on their own) are off to keep this fast."""
    path = tmp_path / f"policy-{abs(hash(policy))}.yaml"
    rules = yaml.safe_load(policy) if policy else {"gates": {}}
    rules["gates"]["modes"] = {"quality": "off", **rules["gates"].get("modes", {})}
    path.write_text(yaml.safe_dump(rules))
    return load_settings(policy=path, home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"},
                         gates={"k": 1})


def _by_name(outcome):
    return {g["name"]: g for g in outcome.gates}


def _add_distractors(root):
    # a document that repeats each query's words exactly outranks the real evidence at k=1
    for i in range(N_TOPICS):
        (root / f"distractor{i:02d}.md").write_text(_query(i) + ".\n")


def test_regression_beyond_the_allowed_drop_blocks(tmp_path, corpus, golden):
    settings = _settings(tmp_path)
    first, outcome = run_sync(resources(settings), "kb", corpus, golden)
    assert outcome.action == "promoted" and _by_name(outcome)["regression.baseline"]["value"] == "none"
    _add_distractors(corpus)
    second, outcome = run_sync(resources(settings), "kb", corpus, golden)
    table = _by_name(outcome)
    assert outcome.action == "rejected" and outcome.live == first.version
    assert not table["regression.mrr@1"]["passed"] and table["regression.mrr@1"]["blocking"]
    assert table["regression.mrr@1"]["value"] == -1.0  # every query: rank 1 -> rank 2, outside k=1
    assert "regression.ndcg@1" in outcome.reason and "relevance" not in outcome.reason
    manifest = resources(settings).registry.load("kb", second.version)
    [mrr] = [c for c in manifest.quality["comparisons"] if c["metric"] == "mrr"]
    assert mrr["live"] == 1.0 and mrr["shadow"] == 0.0 and mrr["significant"] and mrr["p_value"] < 0.05
    assert manifest.quality["live"]["version"] == first.version


def test_same_drop_under_a_warn_only_policy_promotes_with_a_warning(tmp_path, corpus, golden):
    first, _ = run_sync(resources(_settings(tmp_path)), "kb", corpus, golden)
    _add_distractors(corpus)
    rejected, outcome = run_sync(resources(_settings(tmp_path)), "kb", corpus, golden)
    assert outcome.action == "rejected"
    # the same inputs again (the same version resumes), now under a policy where regressions warn
    settings = _settings(tmp_path, "gates:\n  modes: {regression: warn}\n")
    again, outcome = run_sync(resources(settings), "kb", corpus, golden)
    assert again.version == rejected.version and outcome.action == "promoted" and outcome.live == again.version
    table = _by_name(outcome)
    assert not table["regression.mrr@1"]["passed"] and not table["regression.mrr@1"]["blocking"]
    assert "warning(s): regression." in outcome.reason
    assert resources(settings).store.alias_target("kb") == f"kb__{again.version}"


def test_regression_off_skips_scoring_the_live_version(tmp_path, corpus, golden):
    run_sync(resources(_settings(tmp_path)), "kb", corpus, golden)
    _add_distractors(corpus)
    settings = _settings(tmp_path, "gates:\n  modes: {regression: off, audit: off}\n")
    plan, outcome = run_sync(resources(settings), "kb", corpus, golden)
    assert outcome.action == "promoted" and not any(g["name"].startswith(("regression", "audit")) for g in outcome.gates)
    assert "metrics" not in resources(settings).registry.load("kb", plan.version).quality["live"]


def test_audit_flags_mislabelled_queries(tmp_path, corpus, golden):
    lines = [json.loads(line) for line in golden.read_text().splitlines()]
    # q0 asks about topic 0 but its label points at topic 5; q2 points at a document the source
    # does not hold. (A span past its document's end is an error, not a suspect: tests/adversarial.)
    lines[0]["relevant"] = [{"doc_id": "topic05.md", "start": 0, "end": 20}]
    lines[2]["relevant"] = [{"doc_id": "gone.md", "start": 0, "end": 10}]
    golden.write_text("".join(json.dumps(line) + "\n" for line in lines))
    settings = _settings(tmp_path, "gates:\n  audit: {depth: 3}\n")
    plan, outcome = run_sync(resources(settings), "kb", corpus, golden)
    table = _by_name(outcome)
    assert table["audit.golden_labels"]["value"] == f"2/{N_TOPICS} suspect"
    assert not table["audit.golden_labels"]["blocking"]  # warn-only by default ...
    assert outcome.action == "rejected"  # ... but q2's missing document makes the evaluation partial
    assert table["relevance.golden_coverage"]["passed"] is False
    audit = [(s["query_id"], s["reason"]) for s in resources(settings).registry.load("kb", plan.version).quality["audit"]]
    assert audit == [
        ("q0", "evidence ranks nowhere in the top 3 of the shadow"),
        ("q2", "evidence in gone.md, which the source does not hold"),
        ("q2", "evidence ranks nowhere in the top 3 of the shadow"),
    ]


def test_audit_needs_both_versions_to_miss(tmp_path, corpus, golden):
    lines = [json.loads(line) for line in golden.read_text().splitlines()]
    lines[0]["relevant"] = [{"doc_id": "topic05.md", "start": 0, "end": 20}]
    golden.write_text("".join(json.dumps(line) + "\n" for line in lines))
    settings = _settings(tmp_path, "gates:\n  audit: {depth: 3}\n")
    run_sync(resources(settings), "kb", corpus, golden)
    (corpus / "extra.md").write_text("unrelated words here.\n")
    plan, outcome = run_sync(resources(settings), "kb", corpus, golden)
    [suspect] = resources(settings).registry.load("kb", plan.version).quality["audit"]
    assert suspect == {"query_id": "q0", "reason": "evidence ranks nowhere in the top 3 of the shadow or the live version"}


def test_integrity_reads_payloads_back_from_the_store(tmp_path, corpus):
    settings = _settings(tmp_path)
    res = resources(settings)
    plan = build_shadow(res, "kb", corpus)
    assert all(g.passed for g in sync.check_integrity(res, plan))
    ids = list(res.store.iter_ids(plan.collection))
    start = dict(res.store.iter_payloads(plan.collection, ["start"]))[ids[0]]["start"]

    def schema():
        gate = next(g for g in sync.check_integrity(res, plan) if g.name == "integrity.payload_schema")
        return gate.passed, gate.value, gate.detail

    # each broken payload is found and named (the detail names the first one found)
    res.store.set_payload(plan.collection, [ids[0]], {"start": "0"})
    assert schema() == (False, "1 invalid", f"point {ids[0]}: 'start' is str, not int")
    res.store.set_payload(plan.collection, [ids[0]], {"start": start})
    res.store.delete_payload(plan.collection, [ids[1]], ["text", "chunk_id"])
    assert schema() == (False, "1 invalid", f"point {ids[1]}: no 'chunk_id'")
    res.store.set_payload(plan.collection, [ids[0]], {"start": "0"})
    # every point of one document disappears: count, ids and documents all notice
    victim = next(pid for pid, p in res.store.iter_payloads(plan.collection, ["doc_id"]) if p["doc_id"] == "topic07.md")
    res.store.delete_points(plan.collection, [victim])
    table = {g.name: g for g in sync.check_integrity(res, plan)}
    assert table["integrity.payload_schema"].value == "2 invalid" and not table["integrity.payload_schema"].passed
    assert table["integrity.documents"].value == f"{N_TOPICS - 1}/{N_TOPICS} present"
    assert "topic07.md" in table["integrity.documents"].detail
    assert table["integrity.chunk_ids"].value == "2 missing, 0 extra"  # deleted, and stripped of its id
    assert not table["integrity.point_count"].passed


def test_integrity_always_blocks_whatever_the_policy_says(tmp_path):
    with pytest.raises(ConfigError, match=r"invalid settings \(policy file .*\): gates: modes.integrity.point_count:"
                                          r" integrity gates always block"):
        _settings(tmp_path, "gates:\n  modes: {integrity.point_count: off}\n")


def test_paired_test_needs_a_consistent_drop():
    # one query of twenty loses everything: mean drop 0.05 > 0.02, but chance explains it
    live, shadow = [1.0] * 20, [1.0] * 19 + [0.0]
    for test in ("bootstrap", "wilcoxon"):
        c = compare("mrr", live, shadow, test, confidence=0.95)
        assert c.drop == pytest.approx(0.05) and not c.significant, test
    # every query loses a little: small drop, but real
    c = compare("mrr", [0.8] * 20, [0.7] * 20, "bootstrap", confidence=0.95)
    assert c.significant and c.drop == pytest.approx(0.1)
    c = compare("mrr", [0.8] * 20, [0.7] * 20, "wilcoxon", confidence=0.95)
    assert c.significant and c.p_value < 0.001
    assert not compare("mrr", [0.5] * 5, [0.5] * 5, "wilcoxon", 0.95).significant  # no difference at all
    cfg = load_settings().gates.regression
    [gate] = gates.regression([compare("mrr", live, shadow, "bootstrap", 0.95)], cfg, 5, "v1")[1:]
    assert gate.passed and gate.value == -0.05


def test_latency_gates_against_the_budget():
    over = gates.latency(LatencyStats(p50_ms=30.0, p95_ms=400.0, n=10), LatencyConfig(p50_ms=50, p95_ms=300))
    assert [(g.name, g.passed) for g in over] == [("latency.p50_ms", True), ("latency.p95_ms", False)]
