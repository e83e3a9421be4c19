"""What a sentence-transformers model folder holds, read from its JSON files alone (no model load).

The ONNX backends run the model without sentence-transformers. So they support one layout only:
a Transformer at the folder's root, then Pooling (mean or cls), then optionally Normalize. Every
other layout is refused by name, with one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from indexgate.errors import ConfigError

# File name endings of weight files. Their sha256 pins the model (EmbedderFingerprint.weights_sha256).
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".onnx")
_POOLING_MODES = ("cls_token", "mean_tokens", "max_tokens", "mean_sqrt_len_tokens", "weightedmean_tokens",
                  "lasttoken")


@dataclass(frozen=True)
class ModelLayout:
    """Transformer -> Pooling(``pooling``) -> Normalize (when ``normalize``)."""

    pooling: str  # "mean" or "cls"
    normalize: bool
    dimension: int
    max_seq_length: int
    do_lower_case: bool


def weight_files(folder: Path) -> list[Path]:
    """The folder's weight files, sorted (what the weights' sha256 covers)."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES)


def tokenizer_files(folder: Path) -> list[Path]:
    """The files that decide the tokens (what the chunkers' tokenizer fingerprint covers)."""
    return sorted(p for p in folder.glob("*") if p.name.startswith(("tokenizer", "vocab", "special_tokens")))


def _json(path: Path) -> dict | list:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path} is missing") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is not readable JSON: {exc}") from None


def read_layout(folder: Path) -> ModelLayout:
    """The folder's layout, or a :class:`ConfigError` naming what the ONNX backends do not support."""
    modules = _json(folder / "modules.json")
    if not isinstance(modules, list):
        raise ConfigError(f"{folder / 'modules.json'} is not a list of modules")
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise ConfigError(f"embedding model {folder.name}: the onnx backends support Transformer -> Pooling"
                          f" [-> Normalize], not {' -> '.join(kinds) or 'no modules'}")
    if modules[0].get("path", "") not in ("", "."):
        raise ConfigError(f"embedding model {folder.name}: the onnx backends need the Transformer at the folder's"
                          f" root, not in {modules[0]['path']!r}")
    pooling = _json(folder / modules[1]["path"] / "config.json")
    modes = [m for m in _POOLING_MODES if pooling.get(f"pooling_mode_{m}")]
    if modes not in (["mean_tokens"], ["cls_token"]):
        raise ConfigError(f"embedding model {folder.name}: the onnx backends support mean or cls pooling, not"
                          f" {' + '.join(modes) or 'none'}")
    if pooling.get("include_prompt", True) is not True:
        raise ConfigError(f"embedding model {folder.name}: the onnx backends do not support include_prompt false")
    st_config = _json(folder / "sentence_bert_config.json")
    if not isinstance(st_config.get("max_seq_length"), int):
        raise ConfigError(f"embedding model {folder.name}: sentence_bert_config.json gives no max_seq_length")
    if not (folder / "tokenizer.json").is_file():
        raise ConfigError(f"embedding model {folder.name}: the onnx backends need a fast tokenizer (tokenizer.json)")
    return ModelLayout(pooling="mean" if modes == ["mean_tokens"] else "cls", normalize=len(kinds) == 3,
                       dimension=int(pooling["word_embedding_dimension"]),
                       max_seq_length=int(st_config["max_seq_length"]),
                       do_lower_case=bool(st_config.get("do_lower_case", False)))
