"""The chunkers' tokenizer, read from a model's ``tokenizer.json`` by the ``tokenizers`` library.

No transformers import: it loads in milliseconds, so a sync can chunk (and a no-op sync can plan)
without loading the model.
"""

from __future__ import annotations

from pathlib import Path


class FastTokenizer:
    """A ``tokenizers`` tokenizer seen as character offsets, without truncation or padding.

    Gives the offsets the model's own fast tokenizer gives with ``add_special_tokens=False``
    (tests/unit/embedding/test_embedding_backends.py checks it on real documents). Safe across
    threads: nothing changes its truncation or padding after it is built."""

    def __init__(self, path: Path, max_tokens: int, fingerprint: str):
        from tokenizers import Tokenizer

        self._tok = Tokenizer.from_file(str(path))
        self._tok.no_truncation()
        self._tok.no_padding()
        self.max_tokens = max_tokens
        self.fingerprint = fingerprint

    def offsets(self, text: str) -> list[tuple[int, int]]:
        return list(self._tok.encode(text, add_special_tokens=False).offsets)


def special_tokens(path: Path) -> int:
    """How many special tokens the tokenizer of ``path`` adds to one input ([CLS] and [SEP]: 2)."""
    from tokenizers import Tokenizer

    processor = Tokenizer.from_file(str(path)).post_processor
    return processor.num_special_tokens_to_add(False) if processor is not None else 0
