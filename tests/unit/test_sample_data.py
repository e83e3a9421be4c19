"""The shipped sample corpus and golden set agree with each other."""

import json
import subprocess
import sys
from pathlib import Path

from indexgate.evaluation import load_golden
from indexgate.sources import FolderSource

ROOT = Path(__file__).resolve().parents[2]


def test_golden_spans_slice_back_to_their_quotes():
    quotes = {q["query_id"]: q for q in map(json.loads, (ROOT / "data/golden_quotes.jsonl").read_text().splitlines())}
    golden = load_golden(ROOT / "data/golden.jsonl")
    assert len(golden) >= 20 and {q.query_id for q in golden} == set(quotes)
    docs = {o.doc_id for o in FolderSource(ROOT / "data/corpus").snapshot().objects}
    assert len(docs) >= 20
    for query in golden:
        for span, evidence in zip(query.relevant, quotes[query.query_id]["evidence"]):
            assert span.doc_id in docs
            with open(ROOT / "data/corpus" / span.doc_id, encoding="utf-8", newline="") as fh:
                text = fh.read()
            assert text[span.start:span.end] == evidence["quote"]


def test_golden_file_is_what_the_build_script_makes(tmp_path):
    out = tmp_path / "golden.jsonl"
    subprocess.run([sys.executable, str(ROOT / "scripts/build_golden.py"), "--out", str(out)], check=True,
                   capture_output=True)
    assert out.read_text() == (ROOT / "data/golden.jsonl").read_text()
