"""Sentence packing: whole sentences, in order, up to the token budget."""

from __future__ import annotations

from indexgate.chunking.packing import sentence_or_line_cuts, word_cuts
from indexgate.chunking.recursive import RecursiveChunker


class SentenceChunker(RecursiveChunker):
    """Packs whole sentences into chunks of at most ``size`` tokens.

    A line break also ends a sentence, so lists and logs have units. A chunk never ends inside a
    sentence, unless that sentence alone is longer than ``size``. Such a sentence is cut between
    words. With ``overlap``, a chunk starts with the last whole sentences of the one before, up to
    ``overlap`` tokens."""

    strategy = "sentence"
    levels = (sentence_or_line_cuts, word_cuts)
    algorithm = 1
