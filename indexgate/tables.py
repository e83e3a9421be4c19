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
    writer = RowWriter(out, schema, batch)
    try:
        for row in rows:
            writer.write(row)
    except BaseException:
        writer.discard()
        raise
    writer.close()


class RowWriter:
    """:func:`write_rows` for rows that come one call at a time (another step's callback):
    :meth:`write` each, then :meth:`close` renames the table into place, or :meth:`discard`
    drops it."""

    def __init__(self, out: Path, schema: pa.Schema, batch: int = 256) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out, self.schema, self.batch = out, schema, batch
        self._tmp = out.with_suffix(".tmp")
        self._writer = pq.ParquetWriter(self._tmp, schema)
        self._pending: list[dict] = []

    def write(self, row: dict) -> None:
        self._pending.append(row)
        if len(self._pending) >= self.batch:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(pa.Table.from_pylist(self._pending, self.schema))
            self._pending = []

    def close(self) -> None:
        """Write what is pending and rename the table into place."""
        self._flush()
        self._writer.close()
        self._tmp.replace(self.out)

    def discard(self) -> None:
        """Drop the table: nothing appears at ``out``."""
        self._pending = []
        self._writer.close()
        self._tmp.unlink(missing_ok=True)
