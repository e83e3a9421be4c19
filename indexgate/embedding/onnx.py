"""An exported ONNX model run by onnxruntime, tokenized by ``tokenizers``: no torch, no transformers.

It reproduces sentence-transformers' Transformer -> Pooling(mean or cls) -> Normalize on the file
(tests/unit/embedding/test_embedding_backends.py compares the vectors). Importing it and starting a session
takes a fraction of a second, where ``import sentence_transformers`` takes seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexgate.embedding.layout import ModelLayout

# onnxruntime's intra-op threads sleep between parallel sections instead of spinning, as torch's
# OpenMP threads do (OMP_WAIT_POLICY, indexgate.embedding.sentence_transformers). A spinning thread
# holds its core; during a sync's embed step the quality worker wants it (its Great Expectations
# import and suites: 1.8-2.6 s of CPU inside the step at 100 documents). Measured on the 2-core
# machine, 327 texts, load average 3.4-5.2 from other work (docs/benchmarks.md#embedding-backends):
# with that import beside it, 3 of 4 interleaved pairs were faster (median 23.0 s against 26.6 s),
# and every one used less CPU (20.5-24.8 s against 23.9-32.8 s). Alone, the CPU was 20-25 s against
# 22-28 s; the wall-clock times went either way (3 of 6 slower), swamped by the load. Not yet
# measured on a quiet machine. Waking a thread costs microseconds against a batch's hundreds of
# milliseconds. The vectors do not change.
SESSION_CONFIG = {"session.intra_op.allow_spinning": "0"}


class OnnxModel:
    """Embeds texts with one onnxruntime session. Thread-safe: the session's ``run`` is, and the
    tokenizer's truncation and padding are set once, here."""

    def __init__(self, file: Path, tokenizer_json: Path, layout: ModelLayout, normalize: bool, batch_size: int,
                 providers: list[str] | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: the exporter's unused-initializer notes are noise
        for key, value in SESSION_CONFIG.items():
            options.add_session_config_entry(key, value)
        self.session = ort.InferenceSession(str(file), sess_options=options,
                                            providers=providers or ["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.layout = layout
        self.normalize = normalize or layout.normalize
        self.batch_size = batch_size
        tok = Tokenizer.from_file(str(tokenizer_json))
        pad = tok.padding or {}
        tok.enable_truncation(layout.max_seq_length)  # counts the special tokens, as transformers does
        tok.enable_padding(pad_id=pad.get("pad_id", 0), pad_token=pad.get("pad_token", "[PAD]"),
                           pad_type_id=pad.get("pad_type_id", 0))  # to the longest input of a batch
        self.tokenizer = tok

    def encode(self, texts: list[str]) -> np.ndarray:
        """float32 vectors of ``texts``, in order. Texts are batched by length, as
        sentence-transformers does, so a batch pads little."""
        out = np.zeros((len(texts), self.layout.dimension), dtype=np.float32)
        if self.layout.do_lower_case:
            texts = [t.lower() for t in texts]
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        for first in range(0, len(order), self.batch_size):
            rows = order[first:first + self.batch_size]
            out[rows] = self._batch([texts[i] for i in rows])
        return out

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        feed = {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}
        tokens = self.session.run(None, {n: feed[n] for n in self.inputs})[0].astype(np.float32, copy=False)
        return pool(tokens, feed["attention_mask"], self.layout.pooling, self.normalize)


def pool(tokens: np.ndarray, mask: np.ndarray, mode: str, normalize: bool) -> np.ndarray:
    """Sentence vectors from token vectors (batch, sequence, dimension), as sentence-transformers'
    Pooling and Normalize modules compute them."""
    if mode == "cls":
        vectors = tokens[:, 0]
    else:
        weights = mask[..., None].astype(np.float32)
        vectors = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    if normalize:
        vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
    return vectors.astype(np.float32, copy=False)
