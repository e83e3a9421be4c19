"""Typed parameters of the entry points (flows, deployments).

The types carry their constraints and descriptions in their JSON schema. So Prefect shows them in
its UI. And a server with ``enforce_parameter_schema`` refuses a bad value (an alias with spaces,
a chunk size of 0) before a run is created. Some things only the machine that runs the flow can
know: is the folder there, is the alias known. :mod:`indexgate.preflight` checks those at flow
start.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# The alias rule of :func:`indexgate.lifecycle.versioning.validate_alias` (1-64 letters, digits, '-', '_',
# starting and ending with a letter or digit, no '__'), written without look-around: pydantic's
# regex engine has none. tests/unit/test_params.py checks both agree on every short name.
ALIAS_PATTERN = r"^[A-Za-z0-9](?:(?:[A-Za-z0-9-]|_[A-Za-z0-9-])*_?[A-Za-z0-9])?$"

AliasName = Annotated[str, StringConstraints(pattern=ALIAS_PATTERN, max_length=64), Field(
    description="The alias applications query: 1-64 letters, digits, '-' or '_', no '__'.")]
Source = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True), Field(
    description="A folder (relative to the repository on the worker, or absolute), s3://BUCKET/PREFIX or beir:DIR.")]
GoldenSet = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True), Field(
    description="Golden queries: a JSON Lines file or beir:DIR. Without one, the relevance gates do not run.")]
ConfigFile = Annotated[str, StringConstraints(min_length=1), Field(
    description="A YAML config file (e.g. indexgate.yaml, or an experiment's winner.yaml).")]
PolicyFile = Annotated[str, StringConstraints(min_length=1), Field(
    description="A YAML file with one 'gates' section: which gates block, warn or are off.")]
StateDir = Annotated[str, StringConstraints(min_length=1), Field(
    description="IndexGate's state folder; default $INDEXGATE_HOME, else ~/.indexgate.")]
VersionId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{12}$"), Field(
    description="A version id (12 hex digits), as `indexgate status` lists them.")]
GridFile = Annotated[str, StringConstraints(min_length=1), Field(
    description="A YAML grid of chunking configurations (see grids/sample.yaml).")]
OutDir = Annotated[str, StringConstraints(min_length=1), Field(
    description="Folder for the experiment's outputs; default <state dir>/experiments/<id>.")]
TopK = Annotated[int, Field(ge=1, le=1000, description="How many hits are scored per query.")]
Strategy = Literal["token_window", "recursive", "sentence", "markdown", "semantic"]
ChunkSize = Annotated[int, Field(ge=1, le=8192, description="Most tokens (of the embedder's tokenizer) per chunk.")]
ChunkOverlap = Annotated[int, Field(ge=0, le=8191, description="Tokens neighbouring chunks may share.")]
EmbedderModel = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True), Field(
    description="A sentence-transformers model path or name, or packaged:all-MiniLM-L6-v2.")]


class Overrides(BaseModel):
    """Settings chosen for one run over the config file's: what ``manual-reindex`` rebuilds with.

    Unset fields keep the config file's (and the environment's) values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    embedder_model: EmbedderModel | None = None
    strategy: Strategy | None = None
    chunk_size: ChunkSize | None = None
    chunk_overlap: ChunkOverlap | None = None

    def settings(self) -> dict[str, Any]:
        """Keyword overrides for :func:`indexgate.settings.load_settings` (nested, None-free)."""
        chunking = {k: v for k, v in (("strategy", self.strategy), ("chunk_size", self.chunk_size),
                                      ("chunk_overlap", self.chunk_overlap)) if v is not None}
        out: dict[str, Any] = {}
        if chunking:
            out["chunking"] = chunking
        if self.embedder_model:
            out["embedder"] = {"model": self.embedder_model}
        return out
