"""One version's data-quality job: what the suites need, as plain values, and the code that runs it.

A :class:`QualityJob` crosses to the quality worker process (:mod:`indexgate.quality.worker`).
So it holds paths and settings, never open objects. Its three suites can be validated in two
ways:

- one at a time (:class:`VersionValidation`), each as soon as its table is final;
- all at once (:func:`run`).

Either way, the same code computes the same tables from the same files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from indexgate.embedding.cache import EmbeddingCache
from indexgate.parsing import MIME_PARSERS, PARSERS
from indexgate.quality import frames
from indexgate.quality.gx import Check, DataDocs, Validation
from indexgate.quality.suites import Suite, chunks_suite, documents_suite, embeddings_suite
from indexgate.settings import QualityConfig

# In pipeline order: the documents table is final after parsing, the chunks table after
# chunking, the vectors after embedding.
SUITES = ("documents", "chunks", "embeddings")


@dataclass(frozen=True)
class QualityJob:
    """The documents, chunks and embeddings suites of one version.

    ``dimension``, ``normalized`` and ``max_tokens`` come from the embedder that built the
    version (its fingerprint and tokenizer), not from the data, so data that disagrees fails.
    ``cache_dir`` is the embedding cache's folder for that embedder. ``source_empty``: the source
    held no objects at all (only a confirmed mass delete gets here), so an empty version passes
    instead of failing ``documents.not_empty``."""

    documents: Path
    chunks: Path
    cache_dir: Path
    dimension: int
    normalized: bool
    max_tokens: int
    config: QualityConfig
    folder: Path
    source_empty: bool = False


def table(job: QualityJob, name: str, cache: EmbeddingCache) -> tuple[Suite, pd.DataFrame]:
    """The suite ``name`` of the job and the table it checks, computed from the version's files."""
    config = job.config
    if name == "documents":
        return (documents_suite(config, sorted(PARSERS) + sorted(MIME_PARSERS), job.source_empty),
                frames.documents_frame(job.documents))
    if name == "chunks":
        rows = frames.chunks_frame(job.documents, job.chunks)
        return chunks_suite(config, job.max_tokens, empty=rows.empty), rows
    if name == "embeddings":
        vectors = frames.embeddings_frame(job.chunks, cache, sample=config.cosine_sample)
        return embeddings_suite(config, job.dimension, job.normalized, frames.collapse_measurable(vectors)), vectors
    raise ValueError(f"unknown quality suite {name!r}; the suites are {', '.join(SUITES)}")


class VersionValidation:
    """The job's suites, validated one at a time (in any order), then its Data Docs."""

    def __init__(self, job: QualityJob):
        self.job = job
        self._validation = Validation(job.folder)
        self.checks: dict[str, list[Check]] = {}

    def validate(self, name: str, cache: EmbeddingCache) -> list[Check]:
        self.checks[name] = self._validation.validate(*table(self.job, name, cache))
        return self.checks[name]

    @property
    def complete(self) -> bool:
        return set(self.checks) == set(SUITES)

    def data_docs(self) -> DataDocs:
        return self._validation.data_docs()


def run(job: QualityJob, cache: EmbeddingCache) -> tuple[list[Check], DataDocs]:
    """Every suite of the job, in pipeline order; the checks and the unwritten Data Docs."""
    validation = VersionValidation(job)
    checks = [check for name in SUITES for check in validation.validate(name, cache)]
    return checks, validation.data_docs()
