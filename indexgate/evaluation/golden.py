"""The golden set: JSON Lines, one query per line, relevance as character spans of documents.

``{"query_id": str, "query": str, "relevant": [{"doc_id": str, "start": int, "end": int}]}``
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from indexgate.errors import GoldenSetError


@dataclass(frozen=True)
class Span:
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class GoldenQuery:
    query_id: str
    query: str
    relevant: tuple[Span, ...]


def _parse_line(line: str, where: str) -> GoldenQuery:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise GoldenSetError(f"{where}: not valid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise GoldenSetError(f"{where}: expected a JSON object")
    for key, kind in (("query_id", str), ("query", str), ("relevant", list)):
        if not isinstance(obj.get(key), kind):
            raise GoldenSetError(f"{where}: '{key}' must be a {kind.__name__}")
    if not obj["query"].strip():
        raise GoldenSetError(f"{where}: empty query")
    if not obj["relevant"]:
        raise GoldenSetError(f"{where}: 'relevant' is empty; a golden query needs evidence")
    spans = []
    for i, span in enumerate(obj["relevant"]):
        if not (isinstance(span, dict) and isinstance(span.get("doc_id"), str)
                and isinstance(span.get("start"), int) and isinstance(span.get("end"), int)):
            raise GoldenSetError(f"{where}: relevant[{i}] needs doc_id (str), start and end (int)")
        if not 0 <= span["start"] < span["end"]:
            raise GoldenSetError(f"{where}: relevant[{i}] has an empty or negative span")
        spans.append(Span(span["doc_id"], span["start"], span["end"]))
    return GoldenQuery(obj["query_id"], obj["query"], tuple(spans))


def load_golden(path: str | Path) -> list[GoldenQuery]:
    """Read and validate a golden set; every problem names its file and line."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise GoldenSetError(f"golden set not found: {path}")
    queries, seen = [], set()
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            query = _parse_line(line, f"{path}:{number}")
            if query.query_id in seen:
                raise GoldenSetError(f"{path}:{number}: duplicate query_id {query.query_id!r}")
            seen.add(query.query_id)
            queries.append(query)
    if not queries:
        raise GoldenSetError(f"golden set {path} holds no queries")
    return queries
