"""Data quality of a version: Great Expectations suites on its documents, chunks and embeddings.

:func:`validate_version` is the whole interface: it computes the tables, runs the suites
(defined in :mod:`indexgate.quality.suites`) and writes Great Expectations Data Docs into the
version's work folder. Great Expectations itself is used only inside :mod:`indexgate.quality.gx`.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

from indexgate.embedding.cache import EmbeddingCache
from indexgate.models import GateResult
from indexgate.parsing import MIME_PARSERS, PARSERS
from indexgate.quality import frames
from indexgate.quality.gx import Check, run_suites
from indexgate.quality.suites import chunks_suite, documents_suite, embeddings_suite
from indexgate.settings import QualityConfig

__all__ = ["Check", "QualityResult", "validate_version"]


@dataclass(frozen=True)
class QualityResult:
    checks: list[Check]
    data_docs: str
    seconds: float

    def gates(self) -> list[GateResult]:
        return [GateResult(c.gate, c.success, _value(c), c.threshold, detail=_detail(c)) for c in self.checks]

    def as_dict(self) -> dict:
        return {"checks": [asdict(c) for c in self.checks], "data_docs": self.data_docs,
                "seconds": round(self.seconds, 3)}


def _value(c: Check):
    if c.unexpected is not None:
        return f"{c.unexpected}/{c.rows} rows fail"
    return round(c.observed, 4) if isinstance(c.observed, float) else c.observed


def _detail(c: Check) -> str:
    return f"e.g. {', '.join(c.sample)}" if c.sample and not c.success else ""


def validate_version(documents: Path, chunks: Path, cache: EmbeddingCache, *, dimension: int, normalized: bool,
                     max_tokens: int, config: QualityConfig, folder: Path, source_empty: bool = False) -> QualityResult:
    """Run the documents, chunks and embeddings suites on one version's tables.

    ``dimension``, ``normalized`` and ``max_tokens`` come from the embedder that built the
    version (its fingerprint and tokenizer), not from the data, so data that disagrees fails.
    ``source_empty``: the source held no objects at all (only a confirmed mass delete gets here),
    so an empty version passes instead of failing ``documents.not_empty``."""
    started = time.perf_counter()
    docs = frames.documents_frame(documents)
    chunk_rows = frames.chunks_frame(documents, chunks)
    vectors = frames.embeddings_frame(chunks, cache, sample=config.cosine_sample)
    checks, index = run_suites(Path(folder), [
        (documents_suite(config, sorted(PARSERS) + sorted(MIME_PARSERS), source_empty), docs),
        (chunks_suite(config, max_tokens, empty=chunk_rows.empty), chunk_rows),
        (embeddings_suite(config, dimension, normalized, frames.collapse_measurable(vectors)), vectors),
    ])
    return QualityResult(checks=checks, data_docs=str(index), seconds=time.perf_counter() - started)
