#!/usr/bin/env python3
"""Build character-offset golden spans from quote-based golden queries.

Reads ``data/golden_quotes.jsonl``, where each line looks like::

    {"query_id": "q01", "query": "...",
     "evidence": [{"doc_id": "expense-policy.md", "quote": "..."}]}

and writes ``data/golden.jsonl`` with one line per query::

    {"query_id": "q01", "query": "...",
     "relevant": [{"doc_id": "expense-policy.md", "start": 123, "end": 210}]}

``doc_id`` is the document path relative to the corpus directory, using ``/``
as separator. ``start``/``end`` are Python ``str`` offsets (code points, not
bytes) into the document text read as UTF-8 with ``newline=""``, i.e. without
newline translation, so that ``text[start:end] == quote``.

Every quote must occur exactly once in its document. The script exits with a
non-zero status and a message naming the query and document if a document
does not exist, or a quote is missing or ambiguous. No output file is written
in that case.

Paths default to locations relative to the repository root (the parent of the
directory containing this script) and can be overridden with ``--corpus``,
``--quotes`` and ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path, PurePosixPath

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = REPO_ROOT / "data" / "corpus"
DEFAULT_QUOTES = REPO_ROOT / "data" / "golden_quotes.jsonl"
DEFAULT_OUT = REPO_ROOT / "data" / "golden.jsonl"


class GoldenError(Exception):
    """Raised when the golden quotes cannot be resolved to unique spans."""


def resolve_doc_path(corpus: Path, doc_id: str) -> Path:
    """Map a ``/``-separated doc_id to a file inside the corpus directory."""
    rel = PurePosixPath(doc_id)
    if not doc_id or rel.is_absolute() or ".." in rel.parts or "\\" in doc_id:
        raise GoldenError(f"invalid doc_id {doc_id!r}: must be a relative path using '/'")
    return corpus.joinpath(*rel.parts)


def load_doc(corpus: Path, doc_id: str, cache: dict[str, str]) -> str:
    """Return the text of a document (UTF-8, no newline translation), cached."""
    if doc_id not in cache:
        path = resolve_doc_path(corpus, doc_id)
        if not path.is_file():
            raise GoldenError(f"document not found: {path}")
        with path.open(encoding="utf-8", newline="") as fh:
            cache[doc_id] = fh.read()
    return cache[doc_id]


def locate_quote(text: str, quote: str) -> tuple[int, int]:
    """Return (start, end) of the single occurrence of ``quote`` in ``text``."""
    if not quote:
        raise GoldenError("quote is empty")
    start = text.find(quote)
    if start == -1:
        raise GoldenError("quote not found")
    # Search from start + 1 so that overlapping occurrences are detected too.
    if text.find(quote, start + 1) != -1:
        count = sum(1 for i in range(len(text)) if text.startswith(quote, i))
        raise GoldenError(f"quote occurs {count} times, expected exactly once")
    return start, start + len(quote)


def build(corpus: Path, quotes_path: Path) -> list[dict]:
    """Resolve every quote in ``quotes_path`` to a span; collect all errors."""
    records: list[dict] = []
    errors: list[str] = []
    seen_ids: set[str] = set()
    cache: dict[str, str] = {}

    with quotes_path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                query_id = item["query_id"]
                query = item["query"]
                evidence = item["evidence"]
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                errors.append(f"{quotes_path.name}:{lineno}: malformed record ({exc})")
                continue

            if query_id in seen_ids:
                errors.append(f"query {query_id}: duplicate query_id")
            seen_ids.add(query_id)
            if not evidence:
                errors.append(f"query {query_id}: no evidence given")

            relevant = []
            for ev in evidence:
                doc_id = ev.get("doc_id", "")
                try:
                    text = load_doc(corpus, doc_id, cache)
                    start, end = locate_quote(text, ev.get("quote", ""))
                except GoldenError as exc:
                    errors.append(f"query {query_id}, doc {doc_id!r}: {exc}")
                    continue
                relevant.append({"doc_id": doc_id, "start": start, "end": end})

            records.append({"query_id": query_id, "query": query, "relevant": relevant})

    if errors:
        raise GoldenError("\n".join(errors))
    return records


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                        help=f"corpus directory (default: {DEFAULT_CORPUS})")
    parser.add_argument("--quotes", type=Path, default=DEFAULT_QUOTES,
                        help=f"input quotes JSONL (default: {DEFAULT_QUOTES})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"output golden JSONL (default: {DEFAULT_OUT})")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.corpus.is_dir():
        print(f"error: corpus directory not found: {args.corpus}", file=sys.stderr)
        return 2
    if not args.quotes.is_file():
        print(f"error: quotes file not found: {args.quotes}", file=sys.stderr)
        return 2

    try:
        records = build(args.corpus, args.quotes)
    except GoldenError as exc:
        print(f"error: could not build golden spans:\n{exc}", file=sys.stderr)
        return 1

    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")

    n_spans = sum(len(r["relevant"]) for r in records)
    print(f"wrote {len(records)} queries with {n_spans} spans to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
