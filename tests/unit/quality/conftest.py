"""Tables of a small version written with the real writers, and a way to break them."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from indexgate.chunking.corpus import SCHEMA as CHUNK_SCHEMA
from indexgate.chunking.token_window import TokenWindowChunker
from indexgate.embedding.cache import EmbeddingCache
from fake_embedder import FakeEmbedder
from indexgate.hashing import point_id
from indexgate.parsing.corpus import SCHEMA as DOC_SCHEMA

TEXTS = {
    "hr/leave.md": "# Leave\n\nEmployees get 28 days of paid leave per year, booked in the HR portal.\n",
    "ops/backup.txt": "Backups run nightly at 02:00 UTC and are kept for 35 days in two regions.\n",
    "it/laptops.md": "Laptops are replaced every four years; broken screens are repaired within a week.\n",
    "fin/expenses.md": "Submit expense reports within 30 days with receipts attached for each item in it.\n",
}


class Version:
    """documents.parquet, chunks.parquet and an embedding cache in a folder, editable as rows."""

    def __init__(self, folder, texts=TEXTS, chunk_size=6):
        self.folder = folder
        self.embedder = FakeEmbedder(dimension=16, max_tokens=8)
        self.chunker = TokenWindowChunker(self.embedder.tokenizer, size=chunk_size)
        self.documents = [{"doc_id": d, "uri": f"file:///{d}", "content_hash": "0" * 64, "size": len(t),
                           "modified": "2026-01-01T00:00:00+00:00",
                           "mime": "text/markdown" if d.endswith(".md") else "text/plain", "text": t}
                          for d, t in texts.items()]
        self.chunks = [{"chunk_id": c.chunk_id, "point_id": point_id(c.chunk_id), "doc_id": c.doc_id,
                        "start": c.start, "end": c.end, "n_tokens": c.n_tokens, "text_hash": c.text_hash,
                        "text": c.text}
                       for d, t in texts.items() for c in self.chunker.chunk(d, t)]
        self.cache_dir = folder / "cache"

    @property
    def documents_path(self):
        return self.folder / "documents.parquet"

    @property
    def chunks_path(self):
        return self.folder / "chunks.parquet"

    def write_tables(self):
        pq.write_table(pa.Table.from_pylist(self.documents, DOC_SCHEMA), self.documents_path)
        pq.write_table(pa.Table.from_pylist(self.chunks, CHUNK_SCHEMA), self.chunks_path)

    def write(self, vectors=None, dimension=16):
        """Write the tables and cache vectors; by default the fake embedder's, one per distinct text."""
        self.write_tables()
        cache = EmbeddingCache(self.cache_dir, "fp", dimension)
        texts = {c["text_hash"]: c["text"] for c in self.chunks}
        if vectors is None:
            vectors = self.embedder.embed_documents(list(texts.values()))
        cache.put_many(list(texts), vectors)
        return cache


@pytest.fixture
def version(tmp_path):
    return Version(tmp_path)
