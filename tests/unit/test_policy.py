"""The promotion policy: the repository's policy.yaml, modes, and what they do to a decision."""

from pathlib import Path

import pytest

from indexgate import gates
from indexgate.errors import ConfigError
from indexgate.models import GateResult
from indexgate.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_policy_yaml_is_the_default_policy():
    assert load_settings(policy=ROOT / "policy.yaml").gates == load_settings().gates


def test_policy_file_overrides_config_and_env_overrides_policy(tmp_path, monkeypatch):
    config = tmp_path / "c.yaml"
    config.write_text("gates: {k: 7, min_mrr: 0.2, latency: {p50_ms: 10}}\n")
    policy = tmp_path / "p.yaml"
    policy.write_text("gates:\n  min_mrr: 0.5\n  modes: {regression: warn}\n  latency: {p95_ms: 20}\n")
    s = load_settings(config, policy=policy)
    assert (s.gates.k, s.gates.min_mrr, s.gates.latency.p50_ms, s.gates.latency.p95_ms) == (7, 0.5, 10, 20)
    assert s.gates.mode("regression.ndcg@5") == "warn" and s.gates.mode("quality.chunks.unique_ids") == "block"
    monkeypatch.setenv("INDEXGATE_GATES__MIN_MRR", "0.9")
    assert load_settings(config, policy=policy).gates.min_mrr == 0.9


def test_most_specific_mode_wins(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("gates:\n  modes: {quality: warn, quality.chunks: off, quality.chunks.unique_ids: block}\n")
    g = load_settings(policy=policy).gates
    assert g.mode("quality.documents.unique_ids") == "warn"
    assert g.mode("quality.chunks.duplicate_share") == "off"
    assert g.mode("quality.chunks.unique_ids") == "block"
    assert g.mode("latency.p95_ms") == "warn" and g.mode("audit.golden_labels") == "warn"  # defaults kept
    assert g.mode("something.new") == "block"


@pytest.mark.parametrize("text,message", [
    ("gates: {modes: {integrity: warn}}", "integrity gates always block"),
    ("gates: {modes: {latency: maybe}}", "modes.latency"),
    ("chunking: {chunk_size: 10}", "one or both mappings 'gates' and 'guardrails' \\(found: chunking\\)"),
    ("guardrails: {actions: {emails: block}}", "guardrails.actions: unknown detector emails; valid: private_key"),
    ("guardrails: {budget: {max_texts: -1}}", "guardrails.budget.max_texts"),
    ("gates: {regression: {test: ttest}}", "regression.test"),
])
def test_bad_policy_is_a_config_error(tmp_path, text, message):
    policy = tmp_path / "p.yaml"
    policy.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(policy=policy)


def test_policy_file_may_hold_guardrails_beside_gates(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("gates: {k: 3}\nguardrails: {actions: {email: block}, budget: {max_texts: 10}}\n")
    settings = load_settings(policy=policy)
    assert settings.gates.k == 3
    assert settings.guardrails.actions_for("a.md")["email"] == "block"
    assert settings.guardrails.budget.max_texts == 10
    # The policy decides the stored text: it is part of the version; the budget is not.
    assert settings.guardrails.fingerprint != load_settings().guardrails.fingerprint
    policy.write_text("guardrails: {budget: {max_texts: 10}}\n")
    assert load_settings(policy=policy).guardrails.fingerprint == load_settings().guardrails.fingerprint


def test_missing_policy_file(tmp_path):
    with pytest.raises(ConfigError, match="policy file not found"):
        load_settings(policy=tmp_path / "nope.yaml")


def _gate(name, passed):
    return GateResult(name, passed, 0.5, 0.6)


def test_warn_gates_promote_with_a_warning_and_off_gates_vanish(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("gates: {modes: {relevance: warn, audit: off}}\n")
    config = load_settings(policy=policy).gates
    applied = gates.apply_policy([_gate("integrity.point_count", True), _gate("relevance.mrr@5", False),
                                  _gate("audit.golden_labels", False)], config)
    assert [g.name for g in applied] == ["integrity.point_count", "relevance.mrr@5"]
    decision = gates.decide(applied)
    assert decision.promote and "1 warning(s): relevance.mrr@5 = 0.5 (needs 0.6)" in decision.reason
    blocked = gates.decide(gates.apply_policy([_gate("relevance.mrr@5", False)], load_settings().gates))
    assert not blocked.promote and blocked.failed == ("relevance.mrr@5",)


def test_gate_names_are_those_the_gates_and_suites_produce():
    """settings.GATE_NAMES (what a policy may name) equals what indexgate.gates and the quality
    suites produce: a gate added or renamed there must be added here, or a policy could not name it."""
    import re
    import typing

    from indexgate.quality.suites import chunks_suite, documents_suite, embeddings_suite
    from indexgate.settings import GATE_NAMES, QualityConfig, RegressionConfig

    source = (ROOT / "indexgate" / "gates.py").read_text()
    literal = set(re.findall(r'GateResult\(\s*"([a-z_.0-9]+)"', source))
    produced = literal | {f"relevance.{m}@k" for m in ("span_recall", "span_precision", "recall", "mrr", "ndcg")}
    produced |= {f"regression.{m}@k" for m in typing.get_args(typing.get_args(
        RegressionConfig.model_fields["metrics"].annotation)[0])}
    assert 'f"relevance.{metric}@{k}"' in source and 'f"regression.{c.metric}@{k}"' in source
    config = QualityConfig()
    for suite in (documents_suite(config, [".txt"]), chunks_suite(config, 10), embeddings_suite(config, 3, True, True)):
        produced |= {f"quality.{suite.name}.{spec.name}" for spec in suite.specs}
    assert set(GATE_NAMES) == produced
