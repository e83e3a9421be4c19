"""Writing the version's Parquet tables (documents, chunks): streamed and atomic."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


def write_rows(out: Path, schema: pa.Schema, rows: Iterable[dict], batch: int = 256) -> None:
    """Write ``rows`` to ``out`` a batch at a time, never the whole table in memory.

    The table is written under a temporary name, renamed at the end. So a reader never sees a
    half-written table. A crash leaves the previous file (or none) in place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    pending: list[dict] = []
    with pq.ParquetWriter(tmp, schema) as writer:
        for row in rows:
            pending.append(row)
            if len(pending) >= batch:
                writer.write_table(pa.Table.from_pylist(pending, schema))
                pending = []
        if pending:
            writer.write_table(pa.Table.from_pylist(pending, schema))
    tmp.replace(out)
