"""Issue 19, item 5: unknown gate names or families in the policy, and misspelt INDEXGATE_
environment sections, are refused with the list of valid names (not silently ignored)."""

import pytest

from indexgate import cli
from indexgate.errors import ConfigError
from indexgate.settings import load_settings


@pytest.mark.parametrize("name, close", [
    ("latencyy", "latency"),                              # a family
    ("quality.chunks.duplicates_share", "quality.chunks.duplicate_share"),  # a gate
    ("relevance.mrr@5x", None),                           # not a metric at k
    ("sources", "source"),
])
def test_an_unknown_gate_in_the_policy_is_refused(tmp_path, name, close):
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"gates:\n  modes:\n    {name}: warn\n")
    with pytest.raises(ConfigError) as refused:
        load_settings(policy=policy)
    message = str(refused.value)
    assert f"gates.modes: unknown gate or gate family {name!r}" in message and str(policy) in message
    assert "valid: audit, audit.access_evidence, audit.golden_labels," in message and "quality.chunks.duplicate_share" in message
    if close:
        assert f"did you mean {close!r}" in message


def test_known_gate_names_are_accepted_and_apply(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("gates:\n  modes:\n    relevance.mrr: warn\n    relevance.ndcg@5: off\n"
                      "    quality.chunks: warn\n")
    gates = load_settings(policy=policy).gates
    assert gates.mode("relevance.mrr@5") == "warn" and gates.mode("relevance.ndcg@5") == "off"
    assert gates.mode("relevance.ndcg@10") == "block" and gates.mode("quality.chunks.token_count") == "warn"


def test_a_misspelt_environment_section_is_refused(monkeypatch):
    monkeypatch.setenv("INDEXGATE_GATE__MIN_MRR", "0.9")  # meant INDEXGATE_GATES__MIN_MRR
    with pytest.raises(ConfigError) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith("environment variable INDEXGATE_GATE__MIN_MRR: unknown settings section 'gate'"
                              " (did you mean 'gates'?)")
    assert "chunking, dask, embedder, gates, guardrails, home" in message


def test_a_misspelt_key_inside_a_section_names_the_valid_keys(monkeypatch):
    monkeypatch.setenv("INDEXGATE_LIFECYCLE__WAIT", "30")
    with pytest.raises(ConfigError, match=r"lifecycle.wait: unknown setting 'wait' \(did you mean 'wait_s'\?\);"
                                          r" valid: allow_empty, "):
        load_settings()


def test_the_cli_prints_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("INDEXGATE_LIFECYLE__WAIT_S", "30")
    assert cli.main(["status", "--alias", "docs", "--state-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("indexgate: error: environment variable INDEXGATE_LIFECYLE__WAIT_S: unknown settings"
                          " section 'lifecyle' (did you mean 'lifecycle'?)") and err.count("\n") == 1
