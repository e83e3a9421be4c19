"""Golden set loading: valid files load, every problem names its line."""

import json

import pytest

from indexgate.errors import GoldenSetError
from indexgate.evaluation import Span, load_golden


def _write(tmp_path, lines):
    path = tmp_path / "g.jsonl"
    path.write_text("\n".join(l if isinstance(l, str) else json.dumps(l) for l in lines) + "\n")
    return path


def test_loads_queries_with_spans(tmp_path):
    path = _write(tmp_path, [{"query_id": "q1", "query": "what?", "relevant": [{"doc_id": "a.md", "start": 0, "end": 5}]}, ""])
    [q] = load_golden(path)
    assert q.query_id == "q1" and q.relevant == (Span("a.md", 0, 5),)


@pytest.mark.parametrize("line,message", [
    ("{not json", ":1: not valid JSON"),
    ({"query": "x", "relevant": [{"doc_id": "a", "start": 0, "end": 1}]}, "'query_id' must be a str"),
    ({"query_id": "q", "query": " ", "relevant": [{"doc_id": "a", "start": 0, "end": 1}]}, "empty query"),
    ({"query_id": "q", "query": "x", "relevant": []}, "needs evidence"),
    ({"query_id": "q", "query": "x", "relevant": [{"doc_id": "a", "start": 5, "end": 5}]}, "empty or negative span"),
    ({"query_id": "q", "query": "x", "relevant": [{"doc_id": "a", "start": "0", "end": 5}]}, "start and end"),
])
def test_bad_lines_are_named(tmp_path, line, message):
    with pytest.raises(GoldenSetError, match=message):
        load_golden(_write(tmp_path, [line]))


def test_duplicate_ids_and_empty_files(tmp_path):
    q = {"query_id": "q", "query": "x", "relevant": [{"doc_id": "a", "start": 0, "end": 1}]}
    with pytest.raises(GoldenSetError, match=":2: duplicate query_id 'q'"):
        load_golden(_write(tmp_path, [q, q]))
    with pytest.raises(GoldenSetError, match="holds no queries"):
        load_golden(_write(tmp_path, [""]))
    with pytest.raises(GoldenSetError, match="not found"):
        load_golden(tmp_path / "missing.jsonl")


def test_document_level_lines(tmp_path):
    line = {"query_id": "q1", "query": "what?", "relevant_docs": {"b": 1, "a": 2, "c": 0}}
    [q] = load_golden(_write(tmp_path, [line]))
    assert q.document_level and q.grades == {"a": 2, "b": 1, "c": 0} and q.relevant == ()


@pytest.mark.parametrize("line,message", [
    ({"query_id": "q", "query": "x", "relevant_docs": {"a": 0}}, "no grade above 0"),
    ({"query_id": "q", "query": "x", "relevant_docs": {"a": "2"}}, "map doc_id .* to a grade"),
    ({"query_id": "q", "query": "x", "relevant_docs": ["a"]}, "map doc_id"),
    ({"query_id": "q", "query": "x"}, "either 'relevant' .* or 'relevant_docs'"),
    ({"query_id": "q", "query": "x", "relevant_docs": {"a": 1},
      "relevant": [{"doc_id": "a", "start": 0, "end": 1}]}, "either"),
])
def test_bad_document_level_lines(tmp_path, line, message):
    with pytest.raises(GoldenSetError, match=message):
        load_golden(_write(tmp_path, [line]))


def test_span_and_document_levels_do_not_mix(tmp_path):
    lines = [{"query_id": "q1", "query": "x", "relevant": [{"doc_id": "a", "start": 0, "end": 1}]},
             {"query_id": "q2", "query": "y", "relevant_docs": {"a": 1}}]
    with pytest.raises(GoldenSetError, match=":2: mixes span-level"):
        load_golden(_write(tmp_path, lines))


def test_beir_folder_gives_the_judged_test_queries(beir_dir):
    queries = load_golden(f"beir:{beir_dir}")
    # q4 has only grade-0 judgments (no evidence), q5 is not in the test split
    assert [q.query_id for q in queries] == ["q1", "q2", "q3"]
    assert queries[0].query == "How many weeks of paid leave do parents get?"
    assert queries[0].grades == {"d1": 2, "d2": 1} and queries[2].grades == {"d5": 1, "d6": 0}


def test_beir_problems_are_named(beir_dir):
    qrels = beir_dir / "qrels" / "test.tsv"
    text = qrels.read_text()
    qrels.write_text(text + "q9\td1\t1\n")
    with pytest.raises(GoldenSetError, match="1 query ids are not in .*queries.jsonl \\(first: 'q9'\\)"):
        load_golden(f"beir:{beir_dir}")
    qrels.write_text(text + "q1\td3\thigh\n")
    with pytest.raises(GoldenSetError, match="test.tsv:8: score 'high' is not an integer"):
        load_golden(f"beir:{beir_dir}")
    qrels.write_text(text + "q1 d3 1\n")
    with pytest.raises(GoldenSetError, match="test.tsv:8: expected 'query-id<TAB>corpus-id<TAB>score'"):
        load_golden(f"beir:{beir_dir}")
    qrels.unlink()
    with pytest.raises(GoldenSetError, match="BEIR qrels not found"):
        load_golden(f"beir:{beir_dir}")
