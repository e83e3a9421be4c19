"""The chunking experiment as a library: grid files, one configuration's scratch run (fake
embedder), the selection rule, and the outputs (no Prefect)."""

import json
from concurrent.futures import ThreadPoolExecutor

import pyarrow.parquet as pq
import pytest

from indexgate import experiment, sync
from indexgate.errors import ConfigError
from indexgate.experiment.grid import Grid, label
from indexgate.experiment.report import markdown_table, paired_se, select, svg_plot, write_outputs
from indexgate.resources import embedder_for
from indexgate.settings import ChunkingConfig, load_settings

DOCS = {
    "guide.md": "# Guide\n\nInstall the tool with pip. Then run it once.\n\n## Backups\n\nBackups run nightly at "
                "02:00 UTC and are kept for 35 days.\n",
    "leave.txt": "Parental leave\r\nBirth parents receive 20 weeks of paid leave. Partners receive 10 weeks.\r\n",
}
GOLDEN = [("q1", "When do backups run?", "guide.md", "nightly at 02:00 UTC"),
          ("q2", "How much leave do birth parents get?", "leave.txt", "20 weeks of paid leave")]


@pytest.fixture
def corpus(write_corpus):
    return write_corpus(DOCS)


@pytest.fixture
def golden(tmp_path):
    path = tmp_path / "golden.jsonl"
    path.write_text("".join(json.dumps({"query_id": q, "query": text, "relevant": [
        {"doc_id": doc, "start": DOCS[doc].index(ev), "end": DOCS[doc].index(ev) + len(ev)}]}) + "\n"
        for q, text, doc, ev in GOLDEN))
    return path


def write_grid(tmp_path, text):
    path = tmp_path / "grid.yaml"
    path.write_text(text)
    return path


# -- grid files -----------------------------------------------------------------------------------

def test_grid_expands_every_combination_in_order_without_duplicates(tmp_path):
    grid = experiment.load_grid(write_grid(tmp_path, """
k: [5, 10, 5]
strategies:
  token_window: {chunk_size: [100, 200], chunk_overlap: [0, 50]}
  markdown: {chunk_size: 200, heading_prefix: [false, true]}
  sentence:
    - {chunk_size: 200}
    - {chunk_size: [100, 200]}
  semantic:
select: {metric: ndcg, k: 10, min: {span_precision: 0.03}, max: {tokens_retrieved: 900}}
"""))
    assert grid.k == [5, 10] and grid.select_k == 10
    assert [label(c) for c in grid.configurations()] == [
        "token_window 100/0", "token_window 100/50", "token_window 200/0", "token_window 200/50",
        "markdown 200/0", "markdown 200/0 +prefix", "sentence 200/0", "sentence 100/0", "semantic 200/0 p95"]
    assert grid.select.describe(10) == ("highest ndcg@10 among configurations with span_precision@10 >= 0.03 and "
                                        "tokens_retrieved@10 <= 900; ties: fewer tokens retrieved, then grid order")


@pytest.mark.parametrize("text,message", [
    ("strategies: {paragraphs: {chunk_size: 10}}", "unknown strategy 'paragraphs'"),
    ("strategies: {recursive: {chunk_size: 10, chunk_overlap: [0, 10]}}", "chunk_overlap \\(10\\) must be smaller"),
    ("strategies: {recursive: {chunk_sise: 10}}", "chunk_sise"),
    ("strategies: {token_window: {heading_prefix: true}}", "heading_prefix applies to strategy markdown only"),
    ("k: [5]\nstrategies: {recursive: {}}\nselect: {k: 10}", "select.k 10 is not one of the grid's k values"),
    ("strategies: {recursive: {}}\nselect: {max: {latency: 3}}", "cannot bound latency"),
    ("strategies: {}", "strategies"),
    ("k: [0]\nstrategies: {recursive: {}}", "at least 1"),
    ("- a list", "must hold a mapping"),
    ("k: [unclosed", "not valid YAML"),
])
def test_bad_grid_files_say_what_is_wrong(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        experiment.load_grid(write_grid(tmp_path, text))


def test_missing_grid_file(tmp_path):
    with pytest.raises(ConfigError, match="grid file not found"):
        experiment.load_grid(tmp_path / "nope.yaml")


def test_sizes_the_embedder_cannot_take_stop_the_experiment_before_any_work(fake_settings, tmp_path):
    grid = experiment.load_grid(write_grid(tmp_path, "strategies: {recursive: {chunk_size: [100, 600]}}"))
    with pytest.raises(ConfigError, match="grid configuration recursive 600/0: chunk size 600 exceeds"):
        experiment.check_configurations(fake_settings, grid)


# -- one configuration --------------------------------------------------------------------------

def test_a_configuration_runs_on_a_scratch_index_and_scores_every_k(fake_settings, corpus, golden, tmp_path,
                                                                     monkeypatch):
    scratch_root = tmp_path / "tmp"
    scratch_root.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch_root))
    gold = experiment.golden_set(str(golden), embedder_for(fake_settings))
    snap = sync.snapshot(str(corpus))
    config = ChunkingConfig(strategy="markdown", chunk_size=16, heading_prefix=True)
    rows = experiment.run_configuration(fake_settings, snap, str(corpus), gold, config, [1, 3])
    assert [r["k"] for r in rows] == [1, 3]
    one, three = rows
    assert one["config"] == "markdown 16/0 +prefix" and one["heading_prefix"] is True
    assert one["breakpoint_percentile"] is None and one["error"] is None
    assert one["chunks"] == three["chunks"] > 2 and one["embedded"] == one["chunks"]
    assert three["span_recall"] >= one["span_recall"] and three["tokens_retrieved"] > one["tokens_retrieved"]
    assert 0 < one["tokens_retrieved"] <= 16
    assert [q["query_id"] for q in one["per_query"]] == ["q1", "q2"]
    assert sum(q["span_recall"] for q in one["per_query"]) / 2 == pytest.approx(one["span_recall"])
    # the scratch build is gone, and nothing was registered under the state directory
    assert not list(scratch_root.iterdir()) and not list(fake_settings.home.glob("aliases/*"))
    # the same configuration again: everything comes from the cache
    again = experiment.run_configuration(fake_settings, snap, str(corpus), gold, config, [1])
    assert again[0]["embedded"] == 0 and again[0]["span_recall"] == one["span_recall"]


def test_concurrent_configurations_embed_a_shared_chunk_once(fake_settings, corpus, golden):
    """recursive and sentence at 64 tokens both keep each small document whole: the same chunks."""
    gold = experiment.golden_set(str(golden), embedder_for(fake_settings))
    snap = sync.snapshot(str(corpus))
    configs = [ChunkingConfig(strategy=s, chunk_size=64) for s in ("recursive", "sentence", "recursive")]
    embedder = embedder_for(fake_settings)
    calls = embedder.calls
    with ThreadPoolExecutor(3) as pool:
        runs = list(pool.map(lambda c: experiment.run_configuration(fake_settings, snap, str(corpus), gold, c, [3]),
                             configs))
    assert sum(r[0]["embedded"] for r in runs) == runs[0][0]["chunks"] == 2
    assert embedder.calls - calls == 2


def test_semantic_sentences_are_embedded_once_across_runs(fake_settings, corpus, golden):
    gold = experiment.golden_set(str(golden), embedder_for(fake_settings))
    snap = sync.snapshot(str(corpus))
    embedder = embedder_for(fake_settings)
    config = ChunkingConfig(strategy="semantic", chunk_size=16)
    first = experiment.run_configuration(fake_settings, snap, str(corpus), gold, config, [3])
    calls = embedder.calls
    again = experiment.run_configuration(fake_settings, snap, str(corpus), gold, config, [3])
    assert first[0]["sentences_embedded"] > 0
    assert embedder.calls == calls and again[0]["sentences_embedded"] == 0


# -- selection and outputs ------------------------------------------------------------------------

def _row(config, k, recall, precision=0.05, tokens=500.0, error=None):
    return {**experiment.run.config_columns(config), "fingerprint": "f", "k": k, "span_recall": recall,
            "span_precision": precision, "span_iou": precision, "mrr": 0.5, "ndcg": 0.5, "tokens_retrieved": tokens,
            "chunks": 10, "mean_chunk_tokens": 100.0, "index_tokens": 1000, "embedded": 10, "tokens_embedded": 1000,
            "chunk_seconds": 0.1, "embed_seconds": 1.0, "seconds": 2.0, "unscorable": 0, "error": error}


A = ChunkingConfig(strategy="token_window", chunk_size=200)
B = ChunkingConfig(strategy="recursive", chunk_size=200)
C = ChunkingConfig(strategy="sentence", chunk_size=100)
D = ChunkingConfig(strategy="semantic", chunk_size=200)


def _results():
    return [(A, [_row(A, 5, 0.70, tokens=1000), _row(A, 10, 0.80, tokens=2000)]),
            (B, [_row(B, 5, 0.76, precision=0.02, tokens=700), _row(B, 10, 0.85, tokens=1400)]),
            (C, [_row(C, 5, 0.75, tokens=400), _row(C, 10, 0.79, tokens=800)]),
            (D, experiment.failed_rows(D, [5, 10], RuntimeError("model exploded")))]


def _grid(**select):
    return Grid(k=[5, 10], strategies={"recursive": {}}, select=select)


def test_selection_takes_the_best_within_the_bounds():
    sel = select(_results(), _grid())
    assert sel.winner_config == B and sel.k == 5
    summary = sel.as_dict()
    assert summary["runner_up"]["config"] == "sentence 100/0" and summary["margin"] == pytest.approx(0.01)
    assert [(b["config"], round(b["behind_winner"], 2)) for b in summary["best_by_strategy"]] == [
        ("recursive 200/0", 0), ("sentence 100/0", 0.01), ("token_window 200/0", 0.06)]
    assert select(_results(), _grid(min={"span_precision": 0.03})).winner_config == C
    assert select(_results(), _grid(k=10)).winner_config == B
    assert select(_results(), _grid(metric="span_precision", k=10, max={"tokens_retrieved": 1000})).winner_config == C
    nothing = select(_results(), _grid(max={"tokens_retrieved": 300}))
    assert nothing.winner is None and nothing.as_dict()["winner"] is None


def test_selection_ties_go_to_fewer_tokens_then_grid_order():
    tie = [(A, [_row(A, 5, 0.7, tokens=500)]), (B, [_row(B, 5, 0.7, tokens=400)]), (C, [_row(C, 5, 0.7, tokens=400)])]
    assert select(tie, Grid(k=[5], strategies={"recursive": {}})).winner_config == B


def test_outputs_table_page_markdown_and_a_winner_config_that_loads(tmp_path, fake_settings):
    grid = Grid(k=[5, 10], strategies={"recursive": {}})
    meta = {"experiment": "abc", "source": "src", "golden": "g.jsonl", "grid": "grid.yaml", "n_queries": 2,
            "snapshot_hash": "h", "embedder": "fake", "started_at": "t0", "finished_at": "t1", "seconds": 1.0}
    summary = write_outputs(tmp_path / "out", _results(), grid, fake_settings, meta)
    table = pq.read_table(tmp_path / "out" / "results.parquet").to_pylist()
    assert len(table) == 8 and sum(r["selected"] for r in table) == 1
    assert [r["error"] for r in table if r["strategy"] == "semantic"] == ["model exploded"] * 2
    assert summary["failed"] == ["semantic 200/0 p95"]
    winner = load_settings(summary["outputs"]["winner_config"])
    assert winner.chunking == B and winner.gates.k == 5 and winner.embedder == fake_settings.embedder
    page = (tmp_path / "out" / "report.html").read_text()
    assert page.count("<svg") == 2 and "recursive 200/0 (winner)" in page and "model exploded" in page
    assert "| **recursive 200/0** (winner) | 5 | 0.7600 |" in (tmp_path / "out" / "report.md").read_text()

    # a later run in which nothing qualifies must not leave the old winner behind
    strict = Grid(k=[5, 10], strategies={"recursive": {}}, select={"min": {"span_recall": 0.99}})
    summary = write_outputs(tmp_path / "out", _results(), strict, fake_settings, meta)
    assert summary["outputs"]["winner_config"] is None and not (tmp_path / "out" / "winner.yaml").exists()


def test_plot_has_one_point_per_scored_configuration():
    rows = [r for _, rows in _results() for r in rows]
    svg = svg_plot(rows, 5)
    assert svg.count("<circle") == 3 + 3  # three points, three legend entries (the failed one has neither)
    assert "semantic" not in svg
    assert markdown_table(rows).count("failed: model exploded") == 2


def test_margins_come_with_a_paired_standard_error():
    a, b = _row(A, 5, 0.75), _row(B, 5, 0.5)
    a["per_query"] = [{"query_id": "q1", "span_recall": 1.0}, {"query_id": "q2", "span_recall": 0.5}]
    b["per_query"] = [{"query_id": "q1", "span_recall": 0.5}, {"query_id": "q2", "span_recall": 0.5}]
    assert paired_se(a, b, "span_recall") == pytest.approx(0.25)  # differences 0.5 and 0: sd 0.354 / sqrt(2)
    summary = select([(A, [a]), (B, [b])], Grid(k=[5], strategies={"recursive": {}})).as_dict()
    assert summary["margin"] == 0.25 and summary["margin_se"] == pytest.approx(0.25)
    b["per_query"] = b["per_query"][:1]
    assert paired_se(a, b, "span_recall") is None  # not the same queries: no paired figure
