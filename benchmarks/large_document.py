"""Time and memory of chunking one large document with the packaged model's tokenizer.

A document up to ``gates.quality.max_document_chars`` (5,000,000 characters) is chunked; larger
ones are quarantined at parse time. Each size runs in a fresh process, so the peak resident
memory printed is that one document's (the model's tokenizer loaded first, its size subtracted).

    .venv/bin/python benchmarks/large_document.py [--chars 1000000 5000000] [--strategy token_window]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

WORDS = "the route optimiser recalculates delivery routes every fifteen minutes using live traffic data".split()


def one(chars: int, strategy: str) -> dict:
    import resource
    import time

    from indexgate.chunking import make_chunker
    from indexgate.embedding.sentence_transformers import SentenceTransformerEmbedder
    from indexgate.settings import ChunkingConfig, EmbedderConfig

    tokenizer = SentenceTransformerEmbedder(EmbedderConfig()).tokenizer
    text = " ".join(WORDS[i % len(WORDS)] for i in range(chars // 7))[:chars]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    chunks = make_chunker(ChunkingConfig(strategy=strategy), tokenizer).chunk("big.txt", text)
    seconds = time.perf_counter() - started
    added = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return {"chars": len(text), "chunks": len(chunks), "seconds": round(seconds, 2), "peak_added_mb": added // 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chars", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--strategy", default="token_window")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.chars[0], args.strategy)))
        return
    for chars in args.chars:
        out = subprocess.run([sys.executable, __file__, "--one", "--chars", str(chars), "--strategy", args.strategy],
                             capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        r = json.loads(out)
        print(f"{args.strategy}: {r['chars']:>9,} characters -> {r['chunks']:>5} chunks in {r['seconds']:6.2f} s,"
              f" peak memory +{r['peak_added_mb']} MB")


if __name__ == "__main__":
    main()
