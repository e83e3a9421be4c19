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
