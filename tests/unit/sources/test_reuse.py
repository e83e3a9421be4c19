"""carry_rows: the carried base rows and the fresh ones, merged by doc_id in a stable order."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from indexgate.sources.reuse import carry_rows

SCHEMA = pa.schema([("doc_id", pa.string()), ("n", pa.int64()), ("modified", pa.string()),
                    ("text", pa.large_string())])


def _write(path, rows, row_group=2):
    pq.write_table(pa.Table.from_pylist(rows, SCHEMA), path, row_group_size=row_group)


def test_carried_and_fresh_rows_merge_in_doc_order_with_updates(tmp_path):
    # Base: documents a..f, two rows each, in row groups of 2 read in batches of 3 (a document's
    # rows straddle batches).
    base = [{"doc_id": d, "n": i, "modified": "old", "text": f"{d}{i}"} for d in "abcdef" for i in range(2)]
    # Fresh: c changed (three rows now), g added, and b2 between b and c.
    fresh = [{"doc_id": "b2", "n": 0, "modified": "new", "text": "b2"},
             *({"doc_id": "c", "n": i, "modified": "new", "text": f"c-new{i}"} for i in range(3)),
             {"doc_id": "g", "n": 0, "modified": "new", "text": "g"}]
    _write(tmp_path / "base.parquet", base)
    _write(tmp_path / "fresh.parquet", fresh)
    # a, b, e, f unchanged (b with a new modified time); c is fresh; d deleted.
    carry = {"a": {}, "b": {"modified": "touched"}, "e": {}, "f": {}}
    out = tmp_path / "out.parquet"
    carried = carry_rows(tmp_path / "base.parquet", carry, tmp_path / "fresh.parquet", out, SCHEMA, batch=3)
    rows = pq.read_table(out).to_pylist()
    assert carried == 8
    assert [(r["doc_id"], r["n"]) for r in rows] == [
        ("a", 0), ("a", 1), ("b", 0), ("b", 1), ("b2", 0), ("c", 0), ("c", 1), ("c", 2),
        ("e", 0), ("e", 1), ("f", 0), ("f", 1), ("g", 0)]
    assert {r["doc_id"]: r["modified"] for r in rows} == {"a": "old", "b": "touched", "b2": "new", "c": "new",
                                                          "e": "old", "f": "old", "g": "new"}
    assert [r["text"] for r in rows if r["doc_id"] == "c"] == ["c-new0", "c-new1", "c-new2"]
    assert pq.read_schema(out) == SCHEMA
    assert not out.with_suffix(".tmp").exists()


def test_a_base_row_comes_before_a_fresh_row_of_the_same_document(tmp_path):
    _write(tmp_path / "base.parquet", [{"doc_id": "a", "n": 0, "modified": "m", "text": "base"},
                                       {"doc_id": "b", "n": 0, "modified": "m", "text": "base"}])
    _write(tmp_path / "fresh.parquet", [{"doc_id": "a", "n": 1, "modified": "m", "text": "fresh"}])
    out = tmp_path / "out.parquet"
    carry_rows(tmp_path / "base.parquet", {"a": {}}, tmp_path / "fresh.parquet", out, SCHEMA, batch=1)
    assert [(r["doc_id"], r["text"]) for r in pq.read_table(out).to_pylist()] == [("a", "base"), ("a", "fresh")]


def test_a_base_column_the_schema_lacks_is_left_out_and_a_missing_one_is_null(tmp_path):
    old = pa.schema([("doc_id", pa.string()), ("n", pa.int64()), ("legacy", pa.string())])
    pq.write_table(pa.Table.from_pylist([{"doc_id": "a", "n": 1, "legacy": "x"}], old), tmp_path / "base.parquet")
    _write(tmp_path / "fresh.parquet", [{"doc_id": "b", "n": 2, "modified": "m", "text": "t"}])
    out = tmp_path / "out.parquet"
    carry_rows(tmp_path / "base.parquet", {"a": {}}, tmp_path / "fresh.parquet", out, SCHEMA)
    assert pq.read_table(out).to_pylist() == [{"doc_id": "a", "n": 1, "modified": None, "text": None},
                                              {"doc_id": "b", "n": 2, "modified": "m", "text": "t"}]
