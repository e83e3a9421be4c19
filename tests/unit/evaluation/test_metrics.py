"""Metric functions against values computed by hand."""

import math

import pytest

from indexgate.evaluation import metrics


def test_span_scores_partial_overlap_by_hand():
    # R = a[10,20) -> 10 chars. Retrieved: a[15,30) and b[0,5) -> T = 15 + 5 = 20 chars.
    # R∩T = a[15,20) = 5. recall 5/10, precision 5/20, IoU 5/(10+20-5)=5/25.
    scores = metrics.span_scores([("a", 10, 20)], [("a", 15, 30), ("b", 0, 5)])
    assert scores == {"span_recall": 0.5, "span_precision": 0.25, "span_iou": 0.2}


def test_overlapping_retrieved_spans_are_counted_once():
    # Two retrieved chunks overlap each other: T = a[0,15) = 15 chars, not 20.
    # R = a[5,10) -> fully covered. recall 1, precision 5/15, IoU 5/15.
    scores = metrics.span_scores([("a", 5, 10)], [("a", 0, 10), ("a", 5, 15)])
    assert scores["span_recall"] == 1.0
    assert scores["span_precision"] == pytest.approx(5 / 15)
    assert scores["span_iou"] == pytest.approx(5 / 15)


def test_same_offsets_in_different_documents_never_coincide():
    scores = metrics.span_scores([("a", 0, 10)], [("b", 0, 10)])
    assert scores == {"span_recall": 0.0, "span_precision": 0.0, "span_iou": 0.0}


def test_relevant_spans_in_two_documents():
    # R = a[0,4) + b[0,6) = 10 chars; T = b[0,3) = 3 chars; R∩T = 3.
    scores = metrics.span_scores([("a", 0, 4), ("b", 0, 6)], [("b", 0, 3)])
    assert scores["span_recall"] == pytest.approx(0.3)
    assert scores["span_precision"] == 1.0
    assert scores["span_iou"] == pytest.approx(0.3)


def test_nothing_retrieved_scores_zero():
    assert metrics.span_scores([("a", 0, 10)], []) == {"span_recall": 0.0, "span_precision": 0.0, "span_iou": 0.0}


def test_adjacent_spans_merge_without_double_counting():
    assert metrics.merge([("a", 0, 5), ("a", 5, 9), ("a", 20, 22)]) == {"a": [(0, 9), (20, 22)]}
    assert metrics.size(metrics.merge([("a", 0, 5), ("a", 2, 7)])) == 7


def test_mrr_by_hand():
    assert metrics.mrr([False, False, True, True]) == pytest.approx(1 / 3)
    assert metrics.mrr([True]) == 1.0
    assert metrics.mrr([False, False]) == 0.0


def test_ndcg_by_hand():
    # hits at ranks 2 and 3, 2 relevant chunks exist, k=3:
    # DCG = 1/log2(3) + 1/log2(4) = 0.6309 + 0.5; IDCG = 1/log2(2) + 1/log2(3) = 1 + 0.6309
    expected = (1 / math.log2(3) + 0.5) / (1 + 1 / math.log2(3))
    assert metrics.ndcg([False, True, True], n_relevant=2, k=3) == pytest.approx(expected)
    assert metrics.ndcg([True, False, False], n_relevant=1, k=3) == 1.0
    assert metrics.ndcg([False, False, False], n_relevant=4, k=3) == 0.0
    # More relevant chunks than k: the ideal list is k hits long.
    assert metrics.ndcg([True, True], n_relevant=5, k=2) == 1.0


def test_overlaps_is_strict_about_touching_edges():
    merged = metrics.merge([("a", 10, 20)])
    assert metrics.overlaps(("a", 19, 25), merged)
    assert not metrics.overlaps(("a", 20, 25), merged)  # end is exclusive
    assert not metrics.overlaps(("a", 0, 10), merged)
