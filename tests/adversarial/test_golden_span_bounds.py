"""Issue 19, item 6: a golden span beyond its document's end is an error naming its line, as a
reversed span is (not a warning of the audit only)."""

import json

import pytest

from indexgate import sync
from indexgate.errors import GoldenSetError
from indexgate.evaluation import load_golden
from indexgate.resources import resources
from indexgate.sync import build_shadow

TEXT = "Backups run nightly at 02:00 UTC.\n"


def _golden(path, end):
    lines = [{"query_id": "q1", "query": "when do backups run", "relevant": [{"doc_id": "a.txt", "start": 0, "end": 10}]},
             {"query_id": "q2", "query": "backup time", "relevant": [{"doc_id": "a.txt", "start": 0, "end": 5},
                                                                      {"doc_id": "a.txt", "start": 20, "end": end}]}]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def test_a_span_beyond_the_document_is_an_error_naming_the_line(fake_settings, write_corpus, tmp_path):
    res = resources(fake_settings)
    plan = build_shadow(res, "docs", write_corpus({"a.txt": TEXT}))
    golden = _golden(tmp_path / "golden.jsonl", len(TEXT) + 40)
    with pytest.raises(GoldenSetError) as error:
        sync.check_relevance(res, plan, str(golden))
    assert str(error.value) == (f"{golden}:2: relevant[1] [20, {len(TEXT) + 40}) ends beyond the end of a.txt"
                                f" ({len(TEXT)} characters)")
    with pytest.raises(GoldenSetError, match=f"{golden}:2: relevant\\[1\\]"):
        sync.score(res, plan, str(golden))  # `indexgate eval` scores the same way


def test_a_span_up_to_the_end_is_accepted(fake_settings, write_corpus, tmp_path):
    res = resources(fake_settings)
    plan = build_shadow(res, "docs", write_corpus({"a.txt": TEXT}))
    golden = _golden(tmp_path / "golden.jsonl", len(TEXT))
    assert sync.check_relevance(res, plan, str(golden))


def test_a_reversed_span_is_the_same_kind_of_error(tmp_path):
    golden = tmp_path / "golden.jsonl"
    golden.write_text(json.dumps({"query_id": "q", "query": "x", "relevant": [{"doc_id": "a.txt", "start": 9,
                                                                               "end": 3}]}) + "\n")
    with pytest.raises(GoldenSetError, match=f"{golden}:1: relevant\\[0\\]"):
        load_golden(golden)
