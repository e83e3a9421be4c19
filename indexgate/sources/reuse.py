"""Carry the rows of unchanged documents from a base version's table into a new version's.

An unchanged document (same ``doc_id``, same content hash) parses to the same text under the
same parser. That text cuts into the same chunks under the same chunker fingerprint, chunk ids
included. So its rows are taken from the live version's ``documents.parquet`` and
``chunks.parquet``, instead of being read, parsed and chunked again. Only added and changed
documents go through those steps.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq



def doc_ids(table: Path) -> set[str]:
    """The distinct ``doc_id`` values of a table (reads that one column only)."""
    return set(pq.read_table(table, columns=["doc_id"]).column(0).unique().to_pylist())


def content_hashes(documents: Path) -> dict[str, str]:
    """``doc_id`` -> ``content_hash`` of a documents table (reads those two columns only)."""
    table = pq.read_table(documents, columns=["doc_id", "content_hash"])
    return dict(zip(table.column("doc_id").to_pylist(), table.column("content_hash").to_pylist()))


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly the columns of ``schema``, in its order and types: a column it lacks
    is all nulls, one it has beyond them is left out."""
    columns = [table.column(f.name).cast(f.type) if f.name in table.column_names
               else pa.nulls(table.num_rows, f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _carried_values(carry: Mapping[str, Mapping[str, Any]], keys: list[str],
                    schema: pa.Schema) -> dict[str, tuple[pa.Array, pa.Array]]:
    """Per column that some entry of ``carry`` sets: (its value for each of ``keys``, whether that
    key's entry sets it), as Arrow arrays in the order of ``keys``."""
    names = sorted({name for values in carry.values() for name in values})
    return {name: (pa.array([carry[k].get(name) for k in keys],
                            type=schema.field(name).type if name in schema.names else None),
                   pa.array([name in carry[k] for k in keys], pa.bool_()))
            for name in names}


def _updated(table: pa.Table, values: Mapping[str, tuple[pa.Array, pa.Array]], keys: pa.Array) -> pa.Table:
    """``table`` with each row's columns set to its ``doc_id``'s carried ``values``
    (:func:`_carried_values`; ``keys``: the same doc ids, sorted). A row whose entry does not set
    a column keeps its own value."""
    if not values or not table.num_rows:
        return table
    at = pc.index_in(table.column("doc_id"), value_set=keys)
    for name, (column, has) in values.items():
        new = column.take(at)
        if name in table.column_names:
            index = table.column_names.index(name)
            own = table.column(index)
            table = table.set_column(index, name, pc.if_else(has.take(at), new.cast(own.type), own))
        else:
            table = table.append_column(name, new)
    return table


def _ordered(parts: list[pa.Table]) -> pa.Table:
    """The rows of ``parts`` ordered by ``doc_id``, stably: ties keep the order of the parts, then
    of the rows within a part (what :func:`heapq.merge` of sorted inputs gives)."""
    table = pa.concat_tables(parts, promote_options="default")
    if table.num_rows < 2:
        return table
    order = pc.sort_indices(pa.table({"doc_id": table.column("doc_id"),
                                      "at": pa.array(range(table.num_rows), pa.int64())}),
                            sort_keys=[("doc_id", "ascending"), ("at", "ascending")])
    return table.take(order)


# Rows of the base read and written at a time by carry_rows. Batches of 256 rows made a carry of
# 33,000 chunk rows take 0.26-0.31 s (a Parquet row group and an Arrow merge each); 1,024: 0.15-0.19 s.
# 4,096 was slower for 10,000 documents' texts (0.3-0.7 s against 0.11). docs/benchmarks.md.
CARRY_BATCH = 1024


def carry_rows(base: Path, carry: Mapping[str, Mapping[str, Any]], fresh: Path, out: Path,
               schema: pa.Schema, batch: int = CARRY_BATCH) -> int:
    """Write ``out``: the rows of ``fresh`` plus the rows of ``base`` whose ``doc_id`` is a key of
    ``carry`` (each updated with that key's column values, e.g. a document's new ``modified``).

    ``base`` is read a batch at a time, filtered and merged with ``fresh`` by ``doc_id`` in Arrow
    (no row becomes a Python dict), so memory is bounded by ``batch`` and the size of ``fresh``
    (the documents that changed). The merge is stable: a document's rows keep their order, and a
    base row comes before a fresh row of the same ``doc_id``. So a table sorted by ``doc_id``
    stays sorted, whichever base it was built from.
    Written to a temporary name and renamed. Returns how many rows came from ``base``.
    """
    tmp = out.with_suffix(".tmp")
    if not carry:
        shutil.copyfile(fresh, tmp)
        tmp.replace(out)
        return 0
    keys = pa.array(sorted(carry), pa.string())
    values = _carried_values(carry, keys.to_pylist(), schema)
    new = _conform(pq.read_table(fresh), schema)
    new_ids = new.column("doc_id")
    taken = carried = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(tmp, schema) as writer:
        for record_batch in pq.ParquetFile(base).iter_batches(batch_size=batch):
            kept = record_batch.filter(pc.is_in(record_batch.column("doc_id"), value_set=keys))
            if not kept.num_rows:
                continue
            rows = _conform(_updated(pa.Table.from_batches([kept]), values, keys), schema)
            carried += rows.num_rows
            # The fresh rows sorted before this batch's last doc_id: none of a later batch precedes
            # them. A fresh row of that same doc_id waits, as a later batch may hold more of its rows.
            last = rows.column("doc_id")[-1]
            upto = taken + pc.sum(pc.less(new_ids.slice(taken), last)).as_py() if taken < len(new) else taken
            writer.write_table(_ordered([rows, new.slice(taken, upto - taken)]))
            taken = upto
        if taken < len(new):
            writer.write_table(new.slice(taken))
    tmp.replace(out)
    return carried
