"""Sentence packing: whole sentences, in order, up to the token budget."""

from __future__ import annotations

from indexgate.chunking.packing import sentence_or_line_cuts, word_cuts
from indexgate.chunking.recursive import RecursiveChunker


class SentenceChunker(RecursiveChunker):
    """Packs whole sentences (a line break also ends one, so lists and logs have units) into
    chunks of at most ``size`` tokens; a chunk never ends inside a sentence unless that sentence
    alone is longer than ``size``, which is then cut between words. With ``overlap``, a chunk
    starts with the last whole sentences of the one before, up to ``overlap`` tokens."""

    strategy = "sentence"
    levels = (sentence_or_line_cuts, word_cuts)
    algorithm = 1
