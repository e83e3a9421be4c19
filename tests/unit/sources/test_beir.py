"""The BEIR corpus source: ids, texts, hashes, and corpus files that cannot be read whole."""

import hashlib
import json

import pytest

from indexgate.errors import SourceError
from indexgate.parsing import parse
from indexgate.sources import BeirSource, open_source


def test_snapshot_uses_ids_and_title_plus_text(beir_dir):
    source = open_source(f"beir:{beir_dir}")
    assert isinstance(source, BeirSource) and source.uri == f"beir:{beir_dir.resolve()}"
    snap = source.snapshot()
    assert [o.doc_id for o in snap.objects] == ["d1", "d2", "d3", "d4", "d5", "d6"]
    d1 = snap.objects[0]
    data = "Parental leave\n\nBirth parents receive 20 weeks of fully paid leave.".encode()
    assert source.read("d1") == data
    assert (d1.content_hash, d1.size, d1.mime) == (hashlib.sha256(data).hexdigest(), len(data), "text/plain")
    assert d1.uri.endswith("corpus.jsonl#d1")
    # no title: the text alone
    assert BeirSource(beir_dir).read("d4") == b"The route optimiser recalculates delivery routes every 15 minutes."
    assert parse("d1", source.read("d1"), d1.mime).text == data.decode()


def test_snapshot_hash_follows_content(beir_dir):
    first = BeirSource(beir_dir).snapshot().hash
    assert BeirSource(beir_dir).snapshot().hash == first
    lines = (beir_dir / "corpus.jsonl").read_text().splitlines()
    record = json.loads(lines[2])
    record["text"] += " Changed."
    lines[2] = json.dumps(record)
    (beir_dir / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    changed = BeirSource(beir_dir).snapshot()
    assert changed.hash != first and BeirSource(beir_dir).read("d3").endswith(b"Changed.")


@pytest.mark.parametrize("line,message", [
    ("{broken", ":2: not a valid JSON line"),
    (json.dumps({"title": "x", "text": "y"}), ":2: a BEIR document needs a non-empty string '_id'"),
    (json.dumps({"_id": "d1", "text": "again"}), ":2: duplicate _id 'd1'"),
    (json.dumps({"_id": "d9", "text": ["not", "a", "string"]}), "'title' and 'text' must be strings"),
])
def test_a_corpus_that_cannot_be_read_whole_fails_the_snapshot(tmp_path, line, message):
    (tmp_path / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "text": "ok"}) + "\n" + line + "\n")
    with pytest.raises(SourceError, match=message):
        BeirSource(tmp_path).snapshot()


def test_missing_corpus_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="BEIR corpus not found: .*corpus.jsonl"):
        open_source(f"beir:{tmp_path}").snapshot()
