"""The sync steps over an S3 source (moto server, IAM enforced) with real formats; fake embedder."""

from __future__ import annotations

import pytest
from docwriters import PAGES, make_docx, make_pdf

from indexgate import sync
from indexgate.errors import SourceError
from indexgate.resources import resources
from indexgate.settings import load_settings


@pytest.fixture
def s3_env(s3_server, monkeypatch):
    """The reader's keys through the standard credential chain (environment variables)."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.reader_keys["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.reader_keys["SecretAccessKey"])
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return s3_server


def _settings(tmp_path, server, gates=None, **source):
    return load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"},
                         chunking={"chunk_size": 12, "chunk_overlap": 0}, gates=gates,
                         source={"s3": {"endpoint_url": server.endpoint, "max_attempts": 1}, **source})




def test_s3_sync_with_pages_quarantine_and_etags(s3_env, tmp_path):
    bucket = s3_env.bucket({
        "kb/policy.pdf": make_pdf(PAGES),
        "kb/travel.docx": make_docx(),
        "kb/notes.md": b"# Notes\n\nThe office opens at nine.\n",
        "kb/private/salaries.md": b"# Salaries\n",  # the reader's policy denies GetObject here
        "kb/../escape.md": b"# escape\n",
        "kb/big.txt": b"x" * 100_000,
        "kb/empty.txt": b"",
        "kb/broken.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer garbage",
    })
    # Five of the eight objects are refused on purpose: a policy that lets them be.
    res = resources(_settings(tmp_path, s3_env, gates={"max_quarantine_share": 0.7}, max_file_bytes=65_536))
    plan, outcome = sync.run_sync(res, "kb", f"s3://{bucket}/kb")
    assert outcome.action == "promoted", outcome.reason
    manifest = res.registry.load("kb", plan.version)
    assert manifest.source == f"s3://{bucket}/kb/"
    assert {d["doc_id"] for d in manifest.documents} >= {"policy.pdf", "travel.docx", "notes.md"}
    assert all(len(d["etag"]) == 32 for d in manifest.documents)
    kinds = {q["doc_id"]: q["kind"] for q in manifest.quarantined}
    assert kinds == {"private/salaries.md": "access_denied", "../escape.md": "unsafe_path", "big.txt": "too_large",
                     "empty.txt": "empty", "broken.pdf": "corrupt"}
    assert manifest.counts["documents"] == 3
    assert manifest.counts["objects"] == manifest.counts["documents"] + manifest.counts["quarantined"] == 8

    points = res.store.scroll(plan.collection, limit=1000)
    pdf = [p.payload for p in points if p.payload["doc_id"] == "policy.pdf"]
    assert {p["page"] for p in pdf} == {1, 2, 3}
    # independently: where each chunk's words start in the pages' words gives its page
    flat, starts = "", []
    for page in PAGES:
        starts.append(len(flat))
        flat += " ".join(page.split()) + " "
    for payload in pdf:
        at = flat.index(" ".join(payload["text"].split()))
        assert payload["page"] == sum(1 for s in starts if s <= at)
    assert all("page" not in p.payload for p in points if p.payload["doc_id"] != "policy.pdf")

    # nothing changed: the same version, a no-op
    assert sync.run_sync(res, "kb", f"s3://{bucket}/kb").outcome.action == "unchanged"


def test_listing_failure_aborts_before_anything_is_built(s3_env, tmp_path, monkeypatch):
    bucket = s3_env.bucket({"a.md": b"# A\n"})
    keys = s3_env.user("no-list", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/*"}])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", keys["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", keys["SecretAccessKey"])
    settings = _settings(tmp_path, s3_env)
    res = resources(settings)
    with pytest.raises(SourceError, match="failed on page 1 .*AccessDenied"):
        sync.snapshot(f"s3://{bucket}", settings)
    assert res.registry.aliases() == [] and res.store.collections() == []
