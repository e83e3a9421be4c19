"""The golden set: JSON Lines, one query per line, relevance as character spans of documents
or as graded documents; or a BEIR folder (``beir:DIR``).

Span level: ``{"query_id": str, "query": str, "relevant": [{"doc_id": str, "start": int, "end": int}]}``
Document level: ``{"query_id": str, "query": str, "relevant_docs": {doc_id: grade}}`` (grades are
integers; a grade above 0 means relevant). One golden set holds queries of one level only.

``beir:DIR`` reads ``DIR/queries.jsonl`` (``{"_id", "text"}`` a line) and ``DIR/qrels/test.tsv``
(tab-separated ``query-id corpus-id score`` with that header line) into document-level queries:
the queries of the test split, in the order of ``queries.jsonl``. A query whose judgments are all
0 has no evidence and is left out (and logged); a qrels line naming an unknown query is an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from indexgate.errors import GoldenSetError

log = logging.getLogger(__name__)
BEIR_SCHEME = "beir:"


@dataclass(frozen=True)
class Span:
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class GoldenQuery:
    query_id: str
    query: str
    relevant: tuple[Span, ...] = ()
    # Document-level relevance: (doc_id, grade) pairs, grade > 0 relevant; empty for span level.
    relevant_docs: tuple[tuple[str, int], ...] = ()
    # Where the query was read ("golden.jsonl:12"), for errors found once documents are known.
    where: str = field(default="", compare=False)
    # The groups the query is asked as (docs/access.md); None: the evaluation's default caller.
    groups: tuple[str, ...] | None = None

    @property
    def document_level(self) -> bool:
        return bool(self.relevant_docs)

    @property
    def grades(self) -> dict[str, int]:
        return dict(self.relevant_docs)


def _grades(value, where: str) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, dict) or not all(isinstance(d, str) and type(g) is int for d, g in value.items()):
        raise GoldenSetError(f"{where}: 'relevant_docs' must map doc_id (str) to a grade (int)")
    if not any(g > 0 for g in value.values()):
        raise GoldenSetError(f"{where}: 'relevant_docs' has no grade above 0; a golden query needs evidence")
    return tuple(sorted(value.items()))


def _parse_line(line: str, where: str) -> GoldenQuery:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise GoldenSetError(f"{where}: not valid JSON at column {exc.colno} ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise GoldenSetError(f"{where}: expected a JSON object")
    for key, kind in (("query_id", str), ("query", str)):
        if not isinstance(obj.get(key), kind):
            raise GoldenSetError(f"{where}: '{key}' must be a {kind.__name__}")
    if not obj["query"].strip():
        raise GoldenSetError(f"{where}: empty query")
    if ("relevant" in obj) == ("relevant_docs" in obj):
        raise GoldenSetError(f"{where}: give either 'relevant' (spans) or 'relevant_docs' (graded documents)")
    groups = None
    if "groups" in obj:
        if not isinstance(obj["groups"], list) or not all(isinstance(g, str) and g.strip() for g in obj["groups"]):
            raise GoldenSetError(f"{where}: 'groups' must be a list of group names")
        groups = tuple(sorted({g.strip() for g in obj["groups"]}))
    if "relevant_docs" in obj:
        return GoldenQuery(obj["query_id"], obj["query"], relevant_docs=_grades(obj["relevant_docs"], where),
                           where=where, groups=groups)
    if not isinstance(obj["relevant"], list):
        raise GoldenSetError(f"{where}: 'relevant' must be a list")
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
    return GoldenQuery(obj["query_id"], obj["query"], tuple(spans), where=where, groups=groups)


def _missing(path: Path, what: str) -> GoldenSetError:
    """Why ``path`` cannot be read as the file ``what``: a folder, or nothing at all."""
    if path.is_dir():
        return GoldenSetError(f"{what} {path} is a directory, not a JSON Lines file")
    return GoldenSetError(f"{what} not found: {path}")


def _load_jsonl(path: Path) -> list[GoldenQuery]:
    if not path.is_file():
        raise _missing(path, "golden set")
    queries, seen = [], set()
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            query = _parse_line(line, f"{path}:{number}")
            if query.query_id in seen:
                raise GoldenSetError(f"{path}:{number}: duplicate query_id {query.query_id!r}")
            if queries and query.document_level != queries[0].document_level:
                raise GoldenSetError(f"{path}:{number}: mixes span-level ('relevant') and document-level"
                                     " ('relevant_docs') queries; use one kind per golden set")
            seen.add(query.query_id)
            queries.append(query)
    return queries


def _read_qrels(path: Path) -> dict[str, dict[str, int]]:
    if not path.is_file():
        raise GoldenSetError(f"BEIR qrels not found: {path}")
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            fields = line.rstrip("\r\n").split("\t")
            if number == 1 and fields[0] == "query-id":
                continue  # the header
            if not line.strip():
                continue
            if len(fields) != 3:
                raise GoldenSetError(f"{path}:{number}: expected 'query-id<TAB>corpus-id<TAB>score'")
            try:
                grade = int(fields[2])
            except ValueError:
                raise GoldenSetError(f"{path}:{number}: score {fields[2]!r} is not an integer") from None
            qrels.setdefault(fields[0], {})[fields[1]] = grade
    return qrels


def _load_beir(root: Path) -> list[GoldenQuery]:
    qrels = _read_qrels(root / "qrels" / "test.tsv")
    path = root / "queries.jsonl"
    if not path.is_file():
        raise _missing(path, "BEIR queries")
    texts: dict[str, str] = {}
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GoldenSetError(f"{path}:{number}: not valid JSON at column {exc.colno} ({exc.msg})") from None
            if not (isinstance(obj, dict) and isinstance(obj.get("_id"), str) and isinstance(obj.get("text"), str)):
                raise GoldenSetError(f"{path}:{number}: a BEIR query needs '_id' and 'text' (strings)")
            texts[obj["_id"]] = obj["text"]
    unknown = sorted(set(qrels) - set(texts))
    if unknown:
        raise GoldenSetError(f"{root / 'qrels' / 'test.tsv'}: {len(unknown)} query ids are not in {path}"
                             f" (first: {unknown[0]!r})")
    queries, unjudged = [], []
    for query_id, text in texts.items():
        grades = qrels.get(query_id)
        if grades is None:
            continue  # not in the test split
        if not any(g > 0 for g in grades.values()) or not text.strip():
            unjudged.append(query_id)
            continue
        queries.append(GoldenQuery(query_id, text, relevant_docs=tuple(sorted(grades.items()))))
    if unjudged:
        log.warning("%d BEIR test queries have no relevant document (or no text) and are left out: %s",
                    len(unjudged), ", ".join(unjudged[:10]))
    return queries


def check_spans(queries: list[GoldenQuery], doc_lengths: Mapping[str, int]) -> None:
    """Raise :class:`GoldenSetError` naming the file and line of the first span that ends beyond
    its document's text (``doc_lengths``: characters of each parsed document). Like a reversed
    span, it cannot be evidence. A span in a document that is not there is left to the audit
    (the document may be quarantined or deleted: the golden set is not wrong for that)."""
    for q in queries:
        for i, span in enumerate(q.relevant):
            length = doc_lengths.get(span.doc_id)
            if length is not None and span.end > length:
                raise GoldenSetError(f"{q.where or q.query_id}: relevant[{i}] [{span.start}, {span.end}) ends beyond"
                                     f" the end of {span.doc_id} ({length} characters)")


def load_golden(path: str | Path) -> list[GoldenQuery]:
    """Read and validate a golden set (a JSON Lines file, or ``beir:DIR``); every problem names
    its file and line."""
    if str(path).startswith(BEIR_SCHEME):
        root = Path(str(path)[len(BEIR_SCHEME):]).expanduser()
        queries = _load_beir(root)
        where = f"BEIR folder {root}"
    else:
        path = Path(path).expanduser()
        queries = _load_jsonl(path)
        where = f"golden set {path}"
    if not queries:
        raise GoldenSetError(f"{where} holds no queries")
    return queries
