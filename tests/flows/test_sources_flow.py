"""Real formats and sources through the real sync flow: real model, embedded Qdrant, Prefect harness."""

from __future__ import annotations

import codecs
import json

from docwriters import PAGES, make_docx, make_pdf

from indexgate_flows.sync import sync
from indexgate.cli import EXIT_ERROR, EXIT_OK, main
from indexgate.resources import resources
from indexgate.settings import load_settings

LEGACY = "Café prices rose by 5 € in 2026 – that’s the “new” tariff for naïve visitors.\r\n"
WIDE = "Unicode file: 東京 office hours are 09:00–18:00, Monday to Friday.\n"
HTML = """<html><head><title>Parking</title><script>var t = "SCRIPT TEXT";</script>
<style>p { color: red }</style></head><body><nav><a href="/">NAV home</a></nav>
<main><h1>Parking rules</h1><p>Visitors park on level <b>minus two</b>, bays 40 to 60.</p></main>
<footer>FOOTER text</footer></body></html>"""


def _mixed_folder(root):
    root.mkdir(parents=True)
    (root / "guide.md").write_text("# Guide\n\nBadges are collected at the front desk on day one.\n")
    (root / "legacy.txt").write_bytes(LEGACY.encode("cp1252"))
    (root / "wide.txt").write_bytes(codecs.BOM_UTF16_LE + WIDE.encode("utf-16-le"))
    (root / "parking.html").write_text(HTML)
    (root / "handbook.pdf").write_bytes(make_pdf(PAGES))
    (root / "travel.docx").write_bytes(make_docx())
    (root / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer garbage")
    (root / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10")
    return root


def test_mixed_folder_sync_pages_and_quarantine(tmp_path, state, artifacts):
    root = _mixed_folder(tmp_path / "mixed")
    config = tmp_path / "small-chunks.yaml"
    # two of the eight files are quarantined on purpose: allow that share for this test
    config.write_text("chunking: {chunk_size: 16, chunk_overlap: 0}\ngates: {max_quarantine_share: 0.5}\n")
    outcome = sync(source=str(root), alias="mixed", config=str(config), state_dir=state)
    assert outcome["action"] == "promoted"
    res = resources(load_settings(str(config), home=state))
    manifest = res.registry.load("mixed", outcome["version"])
    assert {(q["doc_id"], q["kind"]) for q in manifest.quarantined} == {("broken.pdf", "corrupt"),
                                                                       ("image.txt", "binary")}
    assert all(q["reason"] for q in manifest.quarantined)
    assert manifest.counts["documents"] == 6 and manifest.counts["objects"] == 8

    points = res.store.scroll(f"mixed__{outcome['version']}", limit=1000)
    by_doc: dict[str, list[dict]] = {}
    for p in points:
        by_doc.setdefault(p.payload["doc_id"], []).append(p.payload)
    assert set(by_doc) == {"guide.md", "legacy.txt", "wide.txt", "parking.html", "handbook.pdf", "travel.docx"}

    # PDF chunks carry the page their text starts on, checked against the pages' own words
    flat, starts = "", []
    for page in PAGES:
        starts.append(len(flat))
        flat += " ".join(page.split()) + " "
    pdf = by_doc["handbook.pdf"]
    assert {c["page"] for c in pdf} == {1, 2, 3}
    for chunk in pdf:
        assert chunk["page"] == sum(1 for s in starts if s <= flat.index(" ".join(chunk["text"].split())))
    assert all("page" not in c for d, chunks in by_doc.items() if d != "handbook.pdf" for c in chunks)

    def text_of(doc_id):
        return " ".join(c["text"] for c in sorted(by_doc[doc_id], key=lambda c: c["start"]))

    for doc_id, text in (("legacy.txt", LEGACY), ("wide.txt", WIDE)):  # decoded right, offsets exact
        chunks = by_doc[doc_id]
        assert all(text[c["start"]:c["end"]] == c["text"] for c in chunks)
        assert min(c["start"] for c in chunks) == 0 and max(c["end"] for c in chunks) == len(text.rstrip())
    assert "minus two" in text_of("parking.html")
    assert not any(word in text_of("parking.html") for word in ("SCRIPT", "NAV", "FOOTER", "color"))
    assert "Approvals" in text_of("travel.docx")

    # the run's Markdown report lists the quarantined files with their reasons
    report = artifacts("indexgate-sync-mixed")[0].data
    assert "## Quarantined" in report and "| broken.pdf | corrupt | corrupt PDF" in report
    assert "| image.txt | binary | binary content in a text file: it is a PNG image |" in report


def test_cli_syncs_s3_and_a_failed_listing_keeps_the_live_version(s3_server, tmp_path, state, capsys, monkeypatch):
    bucket = s3_server.bucket({"kb/guide.md": b"# Guide\n\nBadges are collected at the front desk.\n",
                               "kb/handbook.pdf": make_pdf(PAGES), "kb/private/pay.md": b"# Pay\n"})
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.reader_keys["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.reader_keys["SecretAccessKey"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("INDEXGATE_SOURCE__S3__ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("INDEXGATE_SOURCE__S3__MAX_ATTEMPTS", "1")
    monkeypatch.setenv("INDEXGATE_GATES__MAX_QUARANTINE_SHARE", "0.5")  # 1 of 3 objects is denied on purpose

    code = main(["sync", "--source", f"s3://{bucket}/kb", "--alias", "bucket", "--state-dir", state, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == EXIT_OK and out["action"] == "promoted"
    assert out["manifest"]["quarantined"] == [
        {"doc_id": "private/pay.md", "kind": "access_denied", "reason": "S3 AccessDenied on GetObject: Access Denied"}]
    live = out["version"]

    code = main(["sync", "--source", f"s3://{bucket}/kb", "--alias", "bucket", "--state-dir", state])
    assert code == EXIT_OK and "unchanged" in capsys.readouterr().out

    # the reader loses the right to list: the sync stops with a clear error, nothing is built
    keys = s3_server.user("cannot-list", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*"}])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
    code = main(["sync", "--source", f"s3://{bucket}/kb", "--alias", "bucket", "--state-dir", state])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR and "failed on page 1 (after 0 objects): AccessDenied" in err
    code = main(["status", "--alias", "bucket", "--state-dir", state, "--json"])
    status = json.loads(capsys.readouterr().out)
    assert status["live"] == live and [v["version"] for v in status["versions"]] == [live]
