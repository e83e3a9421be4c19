"""Issue 19, item 4: a folder given as the golden set says it is a folder, and an invalid JSON
line names its column."""

from __future__ import annotations

import pytest

from indexgate.errors import GoldenSetError
from indexgate.evaluation import load_golden


def test_a_folder_as_golden_set_says_it_is_a_directory(tmp_path):
    with pytest.raises(GoldenSetError, match=f"golden set {tmp_path} is a directory"):
        load_golden(tmp_path)


def test_invalid_json_keeps_its_line_and_column(tmp_path):
    path = tmp_path / "golden.jsonl"
    path.write_text('{"query_id": "q1", "query": oops}\n')
    with pytest.raises(GoldenSetError, match=f"{path}:1: not valid JSON at column 29 "):
        load_golden(path)


def test_beir_queries_as_a_folder(tmp_path):
    (tmp_path / "qrels").mkdir()
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    (tmp_path / "queries.jsonl").mkdir()
    with pytest.raises(GoldenSetError, match="BEIR queries .*queries.jsonl is a directory"):
        load_golden(f"beir:{tmp_path}")
