"""Carry the rows of unchanged documents from a base version's table into a new version's.

An unchanged document (same ``doc_id``, same content hash) parses to the same text under the
same parser. That text cuts into the same chunks under the same chunker fingerprint, chunk ids
included. So its rows are taken from the live version's ``documents.parquet`` and
``chunks.parquet``, instead of being read, parsed and chunked again. Only added and changed
documents go through those steps.
"""

from __future__ import annotations

import heapq
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from indexgate.tables import write_rows


def doc_ids(table: Path) -> set[str]:
    """The distinct ``doc_id`` values of a table (reads that one column only)."""
    return set(pq.read_table(table, columns=["doc_id"]).column(0).unique().to_pylist())


def content_hashes(documents: Path) -> dict[str, str]:
    """``doc_id`` -> ``content_hash`` of a documents table (reads those two columns only)."""
    table = pq.read_table(documents, columns=["doc_id", "content_hash"])
    return dict(zip(table.column("doc_id").to_pylist(), table.column("content_hash").to_pylist()))


def _rows(path: Path, batch: int, keep: pa.Array | None = None) -> Iterator[dict]:
    for record_batch in pq.ParquetFile(path).iter_batches(batch_size=batch):
        if keep is not None:
            record_batch = record_batch.filter(pc.is_in(record_batch.column("doc_id"), value_set=keep))
        yield from record_batch.to_pylist()


def carry_rows(base: Path, carry: Mapping[str, Mapping[str, Any]], fresh: Path, out: Path,
               schema: pa.Schema, batch: int = 256) -> int:
    """Write ``out``: the rows of ``fresh`` plus the rows of ``base`` whose ``doc_id`` is a key of
    ``carry`` (each updated with that key's column values, e.g. a document's new ``modified``).

    Both inputs are read a batch at a time and merged by ``doc_id``. The merge is stable: a
    document's rows keep their order. So a table sorted by ``doc_id`` stays sorted, whichever base
    it was built from.
    Written to a temporary name and renamed. Returns how many rows came from ``base``.
    """
    if not carry:
        tmp = out.with_suffix(".tmp")
        shutil.copyfile(fresh, tmp)
        tmp.replace(out)
        return 0
    keep = pa.array(sorted(carry), pa.string())
    carried = 0

    def from_base() -> Iterator[dict]:
        nonlocal carried
        for row in _rows(base, batch, keep):
            carried += 1
            yield {**row, **carry[row["doc_id"]]}

    write_rows(out, schema, heapq.merge(from_base(), _rows(fresh, batch), key=lambda r: r["doc_id"]), batch)
    return carried
