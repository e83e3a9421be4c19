"""unchanged_points: the points a copy of the base keeps are exactly those whose chunk row and
access groups did not change."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from indexgate.chunking.corpus import SCHEMA
from indexgate.store.load import unchanged_points


def _row(pid, doc="a", start=0, text_hash="h", section=None, page=None, prefix=None):
    return {"chunk_id": f"c{pid}", "point_id": pid, "doc_id": doc, "start": start, "end": start + 5, "n_tokens": 3,
            "text_hash": text_hash, "text": "t", "page": page, "section": section, "embed_prefix": prefix}


def _table(path, rows):
    pq.write_table(pa.Table.from_pylist(rows, SCHEMA), path)
    return path


def test_only_identical_rows_with_identical_groups_are_unchanged(tmp_path):
    base = [_row("p1"), _row("p2", section="S"), _row("p3", start=10), _row("p4", text_hash="old"),
            _row("p5", section=None), _row("p6", doc="b"), _row("p7", page=2), _row("gone")]
    new = [_row("p1"), _row("p2", section="S"), _row("p3", start=11), _row("p4", text_hash="new"),
           _row("p5", section="now one"), _row("p6", doc="b"), _row("p7", page=2), _row("added")]
    groups = {"a": ["staff"], "b": ["hr"]}
    kept = unchanged_points(_table(tmp_path / "base.parquet", base), _table(tmp_path / "new.parquet", new),
                            groups, groups)
    assert kept == {"p1", "p2", "p6", "p7"}
    # Document b's groups changed: its points are rewritten, not copied.
    kept = unchanged_points(tmp_path / "base.parquet", tmp_path / "new.parquet", groups, {**groups, "b": ["all"]})
    assert kept == {"p1", "p2", "p7"}
