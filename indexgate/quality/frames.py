"""The tables the quality suites check, computed from a version's Parquet files a batch at a time.

Only small per-row figures are kept (lengths, flags, hashes, norms), never the corpus's text or
vectors, so memory grows with the number of rows, not with the size of the corpus.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq

from indexgate.chunking.corpus import iter_chunk_batches
from indexgate.embedding.cache import EmbeddingCache
from indexgate.parsing.corpus import iter_documents


def documents_frame(documents: Path) -> pd.DataFrame:
    """One row per parsed document, with these columns:

    - ``doc_id`` and ``mime``;
    - ``extension``: the id's suffix. An id without one, such as a BEIR record's, gets its mime
      type, which then chose the parser;
    - ``chars``: the length of the text;
    - ``stripped_chars``: the length without surrounding white space."""
    rows = [{"doc_id": d["doc_id"], "mime": d["mime"],
             "extension": PurePosixPath(d["doc_id"]).suffix.lower() or d["mime"],
             "chars": len(d["text"]), "stripped_chars": len(d["text"].strip())}
            for d in iter_documents(documents)]
    return pd.DataFrame(rows, columns=["doc_id", "mime", "extension", "chars", "stripped_chars"])


class DocumentTexts:
    """Texts of a documents table by id, read in table order.

    Chunks tables are written in document order, so walking both together holds one document
    at a time. A chunk may refer back to an earlier document, or come out of order. It is then
    served by a filtered read of that one document. So the answer is right in any order."""

    def __init__(self, documents: Path):
        self.path = documents
        self.ids = set(pq.read_table(documents, columns=["doc_id"]).column(0).to_pylist())
        self._iter = iter_documents(documents)
        self._current: tuple[str, str] | None = None
        self._passed: set[str] = set()

    def get(self, doc_id: str) -> str | None:
        if doc_id not in self.ids:
            return None
        if self._current and self._current[0] == doc_id:
            return self._current[1]
        if doc_id not in self._passed:
            for doc in self._iter:
                if self._current:
                    self._passed.add(self._current[0])
                self._current = (doc["doc_id"], doc["text"])
                if doc["doc_id"] == doc_id:
                    return doc["text"]
        table = pq.read_table(self.path, columns=["text"], filters=pc.field("doc_id") == doc_id)
        return table.column(0)[0].as_py()


def chunks_frame(documents: Path, chunks: Path, batch: int = 1024) -> pd.DataFrame:
    """One row per chunk: ids, ``n_tokens``, ``stripped_chars``, ``text_hash``, and two checks
    against the document:

    - ``offsets_inside``: 0 <= start < end <= len(document);
    - ``slice_matches``: ``text == document[start:end]``, false when the document is unknown."""
    texts = DocumentTexts(documents)
    rows = []
    for part in iter_chunk_batches(chunks, batch=batch,
                                   columns=["chunk_id", "doc_id", "start", "end", "n_tokens", "text_hash", "text"]):
        for r in part:
            doc = texts.get(r["doc_id"])
            start, end = r["start"], r["end"]
            inside = doc is not None and 0 <= start < end <= len(doc)
            rows.append({"chunk_id": r["chunk_id"], "doc_id": r["doc_id"], "n_tokens": r["n_tokens"],
                         "stripped_chars": len(r["text"].strip()), "text_hash": r["text_hash"],
                         "offsets_inside": inside, "slice_matches": inside and doc[start:end] == r["text"]})
    return pd.DataFrame(rows, columns=["chunk_id", "doc_id", "n_tokens", "stripped_chars", "text_hash",
                                       "offsets_inside", "slice_matches"])


def embeddings_frame(chunks: Path, cache: EmbeddingCache, sample: int, seed: int = 0,
                     batch: int = 1024) -> pd.DataFrame:
    """One row per chunk, from the vectors the embedding cache holds for its text.

    The columns:

    - ``dimension``: 0 when there is no vector;
    - ``finite`` and ``norm``;
    - ``sample_mean_cosine``: for a fixed random sample of distinct texts, each one's mean cosine
      to the other sampled vectors. It is NaN outside the sample. So the column's mean is the
      sample's mean pairwise cosine."""
    total = pq.ParquetFile(chunks).metadata.num_rows
    chosen = set(np.random.default_rng(seed).choice(total, size=min(sample, total), replace=False).tolist())
    rows, sampled, seen, index = [], {}, set(), 0
    for part in iter_chunk_batches(chunks, batch=batch, columns=["chunk_id", "text_hash"]):
        vectors = cache.get_many(r["text_hash"] for r in part)
        for r in part:
            vec = vectors.get(r["text_hash"])
            if vec is None:
                rows.append({"chunk_id": r["chunk_id"], "dimension": 0, "finite": False, "norm": np.nan})
            else:
                finite = bool(np.isfinite(vec).all())
                rows.append({"chunk_id": r["chunk_id"], "dimension": int(vec.shape[-1]), "finite": finite,
                             "norm": float(np.linalg.norm(vec)) if finite else np.nan})
                if index in chosen and finite and r["text_hash"] not in seen:
                    sampled[len(rows) - 1] = vec
                    seen.add(r["text_hash"])
            index += 1
    frame = pd.DataFrame(rows, columns=["chunk_id", "dimension", "finite", "norm"])
    frame["sample_mean_cosine"] = np.nan
    if len(sampled) >= 2:
        matrix = np.stack(list(sampled.values())).astype(np.float64)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        unit = matrix / np.where(norms == 0, 1, norms)
        cosine = unit @ unit.T
        n = len(sampled)
        means = (cosine.sum(axis=1) - np.diag(cosine)) / (n - 1)
        frame.loc[list(sampled), "sample_mean_cosine"] = means
    return frame


def collapse_measurable(frame: pd.DataFrame) -> bool:
    return int(frame["sample_mean_cosine"].notna().sum()) >= 2
