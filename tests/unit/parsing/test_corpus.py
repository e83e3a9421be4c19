"""Parsing a snapshot: every object becomes a row or a quarantine entry, content as snapshotted."""

import pyarrow.parquet as pq
from docwriters import PAGES, make_pdf

from indexgate.parsing.corpus import parse_snapshot
from indexgate.settings import SourceConfig
from indexgate.sources import FolderSource


def test_refusals_first_then_parse_failures_and_changed_content(write_corpus, tmp_path):
    root = write_corpus({"a.md": "# A\n\nalpha\n", "b.md": "# B\n\nbeta\n", "big.md": "x" * 100, "e.txt": ""})
    (root / "p.pdf").write_bytes(make_pdf(PAGES))
    (root / "out.md").symlink_to(tmp_path)
    source = FolderSource(root, SourceConfig(max_file_bytes=50_000))
    snap = source.snapshot()
    (root / "b.md").write_text("# B\n\nbeta, edited after the snapshot\n")

    out = tmp_path / "documents.parquet"
    result = parse_snapshot(source, snap, out)
    assert [(q.doc_id, q.kind) for q in result.quarantined] == [("out.md", "unsafe_path"), ("b.md", "changed"),
                                                                ("e.txt", "empty")]
    rows = {r["doc_id"]: r for r in pq.read_table(out).to_pylist()}
    assert set(rows) == {"a.md", "big.md", "p.pdf"} and result.documents == 3
    assert rows["a.md"]["text"] == "# A\n\nalpha\n" and rows["a.md"]["pages"] is None
    assert len(rows["p.pdf"]["pages"]) == 3 and rows["p.pdf"]["pages"][0] == 0
    assert len(snap.objects) + len(snap.refused) == result.documents + len(result.quarantined)
