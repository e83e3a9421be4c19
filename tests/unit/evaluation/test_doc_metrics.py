"""Document-level metrics against values computed by hand, and documents ranked by best chunk."""

import math

import pytest

from indexgate.evaluation import doc_metrics
from indexgate.evaluation.evaluate import ranked_documents
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import build_shadow

GRADES = {"a": 2, "b": 1, "c": 0}


def test_documents_are_ranked_by_their_best_chunk():
    assert doc_metrics.rank_documents(["a", "b", "a", "c", "b", "d"], 3) == ["a", "b", "c"]
    assert doc_metrics.rank_documents(["a", "a"], 3) == ["a"]


def test_graded_ndcg_by_hand():
    # ranked x, b, a: DCG = 0/log2(2) + 1/log2(3) + 2/log2(4) = 0.6309 + 1.0
    # ideal a, b:     IDCG = 2/log2(2) + 1/log2(3) = 2.0 + 0.6309
    expected = (1 / math.log2(3) + 1.0) / (2.0 + 1 / math.log2(3))
    assert doc_metrics.ndcg(["x", "b", "a"], GRADES, 3) == pytest.approx(expected)  # 0.6199
    assert doc_metrics.ndcg(["a", "b", "x"], GRADES, 3) == 1.0
    # k=1 cuts both lists: DCG = 1/1 (b), IDCG = 2/1 (a)
    assert doc_metrics.ndcg(["b", "a"], GRADES, 1) == 0.5
    assert doc_metrics.ndcg(["c", "x"], GRADES, 2) == 0.0  # grade 0 is not relevant
    assert doc_metrics.ndcg(["a"], {"a": 0}, 1) == 0.0  # nothing relevant: 0, not a division by 0


def test_recall_and_mrr_by_hand():
    assert doc_metrics.recall(["x", "b", "a"], GRADES, 3) == 1.0
    assert doc_metrics.recall(["x", "b", "a"], GRADES, 2) == 0.5
    assert doc_metrics.recall(["c", "x"], GRADES, 2) == 0.0
    assert doc_metrics.mrr(["x", "c", "b", "a"], GRADES, 4) == pytest.approx(1 / 3)
    assert doc_metrics.mrr(["x", "c", "b"], GRADES, 2) == 0.0


def test_retrieval_goes_deeper_until_k_documents_are_found(tmp_path, write_corpus):
    root = write_corpus({"big.md": "parental leave weeks " * 200, "other.md": "backups nightly",
                         "third.md": "passwords characters"})
    res = resources(load_settings(home=str(tmp_path / "s"), embedder={"kind": "fake", "model": "fake"},
                                  chunking={"chunk_size": 3, "chunk_overlap": 0}))
    plan = build_shadow(res, "docs", root)  # a shadow to search: its repeated text would fail the gates
    assert res.store.count(plan.collection) > 100  # far more chunks of big.md than k * 10
    vector = res.embedder.embed_queries(["parental leave weeks"])
    [ranked] = ranked_documents(res.store, plan.collection, vector, 3)
    assert ranked[0] == "big.md" and sorted(ranked) == ["big.md", "other.md", "third.md"]
