"""A rebuild under a new embedder fingerprint: every chunk embedded again, the live version scored
with its own embedder by the regression gate, and the summary that says so."""


from indexgate.lifecycle import reindex
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import run_sync
from tiny import DOCS, write_golden





def _settings(tmp_path, model, **chunking):
    return load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": model},
                         chunking=chunking or None)


def test_a_model_change_is_embedded_in_full_and_compared_with_the_live_version(tmp_path, write_corpus):
    root, golden = write_corpus(DOCS), write_golden(tmp_path / "golden.jsonl")
    first, _ = run_sync(resources(_settings(tmp_path, "fake")), "kb", root, golden)
    plan, outcome = run_sync(resources(_settings(tmp_path, "other-model", chunk_size=12)), "kb", root, golden)
    assert plan.version != first.version and outcome.action == "promoted", outcome.reason
    registry = resources(_settings(tmp_path, "other-model", chunk_size=12)).registry
    summary = reindex.summarize(registry, {"alias": "kb", "version": plan.version, "action": outcome.action,
                                           "reason": outcome.reason})
    assert summary.previous == first.version and summary.new_embedder and summary.new_chunker
    assert summary.chunks > 3 and summary.chunks_carried == 0 and summary.embedded == summary.chunks
    baseline = next(g for g in summary.regression if g["name"] == "regression.baseline")
    assert baseline["passed"] and baseline["value"] == first.version  # scored, with the live version's embedder
    assert {g["name"] for g in summary.regression} >= {"regression.span_recall@5", "regression.mrr@5"}
    text = summary.markdown()
    assert f"`{first.version}`" in text and "fake-bag-of-words:other-model" in text
    assert f"embedded by the model in this run: {summary.chunks}" in text and "regression.baseline" in text


def test_a_live_version_without_a_recorded_embedder_config_fails_the_regression_gate(tmp_path, write_corpus):
    root, golden = write_corpus(DOCS), write_golden(tmp_path / "golden.jsonl")
    first, _ = run_sync(resources(_settings(tmp_path, "fake")), "kb", root, golden)
    registry = resources(_settings(tmp_path, "fake")).registry
    manifest = registry.load("kb", first.version)
    manifest.embedder.pop("config")  # as written before the config was recorded
    registry.save(manifest)
    _, outcome = run_sync(resources(_settings(tmp_path, "other-model")), "kb", root, golden)
    assert outcome.action == "rejected"
    gate = next(g for g in outcome.gates if g["name"] == "regression.baseline")
    assert not gate["passed"] and "does not record" in gate["detail"]
