"""The chunking_experiment flow on a tiny corpus: real model, Prefect harness, embedded Qdrant."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from indexgate_flows.experiment import chunking_experiment
from indexgate_flows.sync import sync
from indexgate import experiment
from indexgate.cli import EXIT_ERROR, EXIT_OK, EXIT_REJECTED, main
from indexgate.resources import resources
from indexgate.settings import load_settings

GRID = """
k: [1, 3]
strategies:
  token_window: {chunk_size: 16}
  markdown: {chunk_size: 24, heading_prefix: true}
  semantic: {chunk_size: 24}
select: {metric: span_recall, k: 3}
"""



def _aliases(state):
    res = resources(load_settings(home=state))
    aliases = sorted(res.store.aliases().items())
    return aliases, res.store.collections(), [m.model_dump() for m in res.registry.versions("live")]


def test_experiment_writes_table_artifact_and_winner_and_leaves_aliases_alone(corpus, golden, state, tmp_path, artifacts):
    live = sync(source=str(corpus), alias="live", golden=str(golden), state_dir=state)
    assert live["action"] == "promoted"
    before = _aliases(state)
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)

    summary = chunking_experiment(source=str(corpus), golden=str(golden), grid=str(grid), state_dir=state)

    assert _aliases(state) == before  # no alias moved, no collection added or dropped, no manifest changed
    table = pq.read_table(summary["outputs"]["table"]).to_pylist()
    assert [(r["config"], r["k"]) for r in table] == [
        ("token_window 16/0", 1), ("token_window 16/0", 3), ("markdown 24/0 +prefix", 1),
        ("markdown 24/0 +prefix", 3), ("semantic 24/0 p95", 1), ("semantic 24/0 p95", 3)]
    assert all(r["error"] is None and 0 <= r["span_recall"] <= 1 and r["chunks"] > 0 for r in table)
    assert sum(r["selected"] for r in table) == 1
    winner = next(r for r in table if r["selected"])
    assert winner["k"] == 3 and winner["span_recall"] == max(r["span_recall"] for r in table if r["k"] == 3)
    per_query = pq.read_table(summary["outputs"]["per_query"])
    assert per_query.num_rows == 6 * 4 and set(per_query.column("query_id").to_pylist()) == {"q1", "q2", "q3", "q4"}
    page = open(summary["outputs"]["html"]).read()
    assert "<svg" in page and f"{winner['config']} (winner)" in page

    [artifact] = artifacts("indexgate-chunking-experiment")
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert len(rows) == 6 and {"config", "k", "span_recall", "tokens_retrieved"} <= set(rows[0])
    assert winner["config"] in artifact.description

    # the winner's config file is ready for sync: a new alias built with it uses its chunking
    adopted = sync(source=str(corpus), alias="adopted", config=summary["outputs"]["winner_config"], state_dir=state)
    assert adopted["action"] == "promoted"
    manifest = resources(load_settings(home=state)).registry.load("adopted", adopted["version"])
    assert manifest.chunker["strategy"] == winner["strategy"] and manifest.chunker["chunk_size"] == winner["chunk_size"]

    # the same grid again: every chunk (and every semantic sentence) comes from the cache
    again = chunking_experiment(source=str(corpus), golden=str(golden), grid=str(grid), state_dir=state)
    assert summary["texts_embedded"] > 0
    assert again["experiment"] == summary["experiment"] and again["texts_embedded"] == again["tokens_embedded"] == 0
    assert [r["span_recall"] for r in again["rows"]] == [r["span_recall"] for r in table]


def test_experiment_command(capsys, corpus, golden, state, tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text("k: [2]\nstrategies: {recursive: {chunk_size: [16, 32]}}\n")
    out = tmp_path / "out"
    code = main(["experiment", "--source", str(corpus), "--golden", str(golden), "--grid", str(grid),
                 "--out", str(out), "--state-dir", state, "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK and result["selection"]["winner"]["strategy"] == "recursive"
    assert result["outputs"]["winner_config"] == str(out / "winner.yaml") and (out / "report.html").is_file()

    grid.write_text("k: [2]\nstrategies: {recursive: {chunk_size: 16}}\nselect: {min: {span_recall: 1.01}}\n")
    code = main(["experiment", "--source", str(corpus), "--golden", str(golden), "--grid", str(grid),
                 "--out", str(out), "--state-dir", state])
    text = capsys.readouterr().out
    assert code == EXIT_REJECTED and "No configuration meets the rule" in text and not (out / "winner.yaml").exists()

    grid.write_text("strategies: {recursive: {chunk_size: 300}}\n")
    code = main(["experiment", "--source", str(corpus), "--golden", str(golden), "--grid", str(grid),
                 "--state-dir", state])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "recursive 300/0: chunk size 300 exceeds the embedder's maximum of 254" in err


def test_a_configuration_that_fails_is_reported_and_the_others_go_on(corpus, golden, state, tmp_path, monkeypatch):
    # A build failing part-way (a full disk, a store gone away) cannot be produced on demand here,
    # so the one configuration's run raises as such a failure would; the flow itself is real.
    real = experiment.run_configuration

    def failing(settings, snap, source, gold, chunking, ks):
        if chunking.strategy == "sentence":
            raise OSError(28, "No space left on device")
        return real(settings, snap, source, gold, chunking, ks)

    monkeypatch.setattr(experiment, "run_configuration", failing)
    grid = tmp_path / "grid.yaml"
    grid.write_text("k: [2]\nstrategies: {sentence: {chunk_size: 16}, recursive: {chunk_size: 16}}\n")
    summary = chunking_experiment(source=str(corpus), golden=str(golden), grid=str(grid), state_dir=state)
    assert summary["failed"] == ["sentence 16/0"]
    [failed] = [r for r in summary["rows"] if r["config"] == "sentence 16/0"]
    assert "No space left on device" in failed["error"] and failed["span_recall"] is None
    assert summary["selection"]["winner"]["config"] == "recursive 16/0"
    assert "failed: [Errno 28] No space left on device" in open(summary["outputs"]["markdown"]).read()
