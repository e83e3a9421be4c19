"""ONNX files of a model, exported locally from its own weights, once.

``onnx`` is the model's Transformer exported by torch's public ONNX exporter (``torch.onnx.export``).
``onnx-int8`` is that file dynamically quantised to int8 by onnxruntime's public
``quantize_dynamic``, with the settings of sentence-transformers' ``avx512_vnni`` preset.
(sentence-transformers' own export needs optimum-onnx, whose releases need transformers < 4.58:
it does not install next to the transformers 5 that IndexGate runs, see docs/configuration.md.)

Files live in ``<models dir>/onnx/<weights sha256>/``: another weight file, another folder.
Exports are written under a temporary name and renamed, under a file lock, so concurrent
processes export once and never see half a file. Nothing is downloaded.
"""

from __future__ import annotations

import fcntl
import logging
import os
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path

from indexgate.errors import ConfigError, first_line

log = logging.getLogger(__name__)

FILES = {"onnx": "model.onnx", "onnx-int8": "model_qint8_avx512_vnni.onnx"}
OUTPUT = "token_embeddings"
# The ONNX opset of exported files: onnxruntime 1.18+ runs it.
OPSET = 17


def export_folder(models_dir: Path, weights_sha256: str) -> Path:
    return Path(models_dir) / "onnx" / weights_sha256


@contextmanager
def _locked(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def exported(model_folder: Path, models_dir: Path, weights_sha256: str, backend: str) -> Path:
    """The ONNX file of ``backend`` for the model in ``model_folder``, exported first if missing."""
    folder = export_folder(models_dir, weights_sha256)
    target = folder / FILES[backend]
    if target.is_file():
        return target
    with _locked(folder):
        if target.is_file():  # another process exported it while this one waited
            return target
        if backend == "onnx-int8":
            _quantize(exported(model_folder, models_dir, weights_sha256, "onnx"), target)
        else:
            _export(model_folder, target)
    return target


def _write(target: Path, write) -> None:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    try:
        write(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _export(model_folder: Path, target: Path) -> None:
    """The Transformer module of the model, in float32, inputs as its tokenizer gives them."""
    import torch
    from sentence_transformers import SentenceTransformer

    log.info("exporting %s to ONNX (once): %s", model_folder.name, target)
    try:
        model = SentenceTransformer(str(model_folder), device="cpu")
    except Exception as exc:  # noqa: BLE001 - a damaged folder fails deep in transformers
        raise ConfigError(f"cannot load embedding model from {model_folder}: {type(exc).__name__}: {first_line(exc)}") from None
    backbone = model[0].auto_model.eval()
    sample = model[0].tokenizer(["an example", "a longer example to export with"], padding=True, return_tensors="pt")
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Backbone(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone

        def forward(self, *inputs):
            return self.backbone(**dict(zip(names, inputs))).last_hidden_state

    axes = {n: {0: "batch", 1: "sequence"} for n in [*names, OUTPUT]}
    # The tracer warns about Python branches on shapes; they are constant for this architecture
    # (tests/unit/embedding/test_embedding_backends.py checks padded batches against the torch backend).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            _write(target, lambda tmp: torch.onnx.export(
                Backbone(), tuple(sample[n] for n in names), str(tmp), input_names=names, output_names=[OUTPUT],
                dynamic_axes=axes, opset_version=OPSET, dynamo=False))
        except Exception as exc:  # noqa: BLE001 - an architecture the exporter cannot trace
            raise ConfigError(f"cannot export embedding model {model_folder.name} to ONNX:"
                              f" {type(exc).__name__}: {first_line(exc)}; use backend torch") from None


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 quantisation: int8 weights (symmetric, per channel), uint8 activations."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.info("quantising %s to int8 (once): %s", source.name, target)
    _write(target, lambda tmp: quantize_dynamic(
        source, tmp, op_types_to_quantize=["MatMul", "Add"], per_channel=True, reduce_range=False,
        weight_type=QuantType.QInt8, extra_options={"WeightSymmetric": True, "ActivationSymmetric": False}))
