"""The S3 source against a real S3 HTTP endpoint (moto's server mode on loopback, IAM enforced)."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import threading
import uuid

import pytest

from indexgate.errors import SourceError
from indexgate.parsing.corpus import parse_snapshot
from indexgate.settings import S3Config, SourceConfig
from indexgate.sources import S3Source, Spool, open_source


def _config(server, **source) -> SourceConfig:
    s3 = {"endpoint_url": server.endpoint, "region": "us-east-1", "max_attempts": 1,
          "connect_timeout_s": 2, "read_timeout_s": 5, **source.pop("s3", {})}
    return SourceConfig(s3=S3Config(**s3), **source)


def _count(session, operation: str) -> list:
    calls: list = []
    session.events.register(f"provide-client-params.s3.{operation}", lambda params, **kw: calls.append(dict(params)))
    return calls


def test_listing_over_several_pages_records_etag_size_and_sha256(s3_server, tmp_path):
    objects = {f"docs/n{i:02d}.md": f"# Note {i}\n\nbody {i}\n".encode() for i in range(7)}
    bucket = s3_server.bucket({**objects, "other/skip.md": b"outside the prefix", "docs/folder/": b""})
    session = s3_server.session()
    lists, gets = _count(session, "ListObjectsV2"), _count(session, "GetObject")
    source = S3Source(f"s3://{bucket}/docs", _config(s3_server, s3={"page_size": 2}), session=session)
    snap = source.snapshot()

    assert len(lists) == 4  # 7 objects and a folder marker, 2 a page
    assert [o.doc_id for o in snap.objects] == [k.removeprefix("docs/") for k in sorted(objects)]
    assert snap.refused == () and len(gets) == 7
    first = snap.objects[0]
    body = objects["docs/n00.md"]
    assert first.content_hash == hashlib.sha256(body).hexdigest()
    assert first.etag == hashlib.md5(body).hexdigest() and first.size == len(body)
    assert first.uri == f"s3://{bucket}/docs/n00.md" and first.mime == "text/markdown"
    assert source.uri == f"s3://{bucket}/docs/"
    # the same listing gives the same snapshot hash; a changed object a different one
    assert S3Source(f"s3://{bucket}/docs/", _config(s3_server), session=session).snapshot().hash == snap.hash
    s3_server.client().put_object(Bucket=bucket, Key="docs/n03.md", Body=b"changed")
    assert S3Source(f"s3://{bucket}/docs", _config(s3_server), session=session).snapshot().hash != snap.hash


def test_each_object_is_downloaded_once_and_unchanged_ones_not_again(s3_server, tmp_path):
    bucket = s3_server.bucket({"a.md": b"# A\n\nalpha\n", "b.txt": b"beta\n"})
    session = s3_server.session()
    gets = _count(session, "GetObject")
    spool = Spool(tmp_path / "spool", 1 << 20)
    source = S3Source(f"s3://{bucket}", _config(s3_server), spool=spool, session=session)
    snap = source.snapshot()
    assert len(gets) == 2
    result = parse_snapshot(source, snap, tmp_path / "documents.parquet", spool=spool)
    assert result.documents == 2 and len(gets) == 2  # parsed from the spool, not downloaded again

    again = S3Source(f"s3://{bucket}", _config(s3_server), spool=spool, session=session).snapshot()
    assert again.hash == snap.hash and len(gets) == 2  # same key, ETag and size: sha256 reused
    s3_server.client().put_object(Bucket=bucket, Key="b.txt", Body=b"beta, changed\n")
    changed = S3Source(f"s3://{bucket}", _config(s3_server), spool=spool, session=session).snapshot()
    assert changed.hash != snap.hash and [p["Key"] for p in gets[2:]] == ["b.txt"]


def test_evicted_spool_falls_back_to_a_verified_download(s3_server, tmp_path):
    bucket = s3_server.bucket({"a.md": b"# A\n\n" + b"alpha " * 100, "b.md": b"# B\n\n" + b"beta " * 100})
    session = s3_server.session()
    gets = _count(session, "GetObject")
    spool = Spool(tmp_path / "spool", 700)  # holds one of the two objects
    source = S3Source(f"s3://{bucket}", _config(s3_server), spool=spool, session=session)
    snap = source.snapshot()
    result = parse_snapshot(source, snap, tmp_path / "documents.parquet", spool=spool)
    assert result.documents == 2 and result.quarantined == []
    assert len(gets) == 3  # two for the snapshot, one again for the evicted object


def test_access_denied_object_is_quarantined_and_the_run_goes_on(s3_server, tmp_path):
    bucket = s3_server.bucket({"public/a.md": b"# A\n\nfine\n", "private/payroll.md": b"# secret\n",
                               "big.md": b"x" * 2000})
    source = S3Source(f"s3://{bucket}", _config(s3_server, max_file_bytes=1000), session=s3_server.session())
    snap = source.snapshot()
    assert [o.doc_id for o in snap.objects] == ["public/a.md"]
    refused = {q.doc_id: q for q in snap.refused}
    assert refused["private/payroll.md"].kind == "access_denied"
    assert refused["private/payroll.md"].reason.startswith("S3 AccessDenied on GetObject")
    assert refused["big.md"].kind == "too_large" and "2,000 bytes > max_file_bytes 1,000" in refused["big.md"].reason
    result = parse_snapshot(source, snap, tmp_path / "documents.parquet")
    assert result.documents == 1 and {q.doc_id for q in result.quarantined} == {"private/payroll.md", "big.md"}


def test_unknown_keys_are_refused_by_the_server(s3_server):
    bucket = s3_server.bucket({"a.md": b"x"})
    bogus = {"AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "SecretAccessKey": "nope"}
    source = S3Source(f"s3://{bucket}", _config(s3_server), session=s3_server.session(bogus))
    with pytest.raises(SourceError, match="failed on page 1 .*InvalidAccessKeyId"):
        source.snapshot()


def test_listing_that_fails_on_page_three_aborts(s3_server):
    bucket = s3_server.bucket({f"d{i}.md": b"text" for i in range(10)})
    name = f"flaky-{uuid.uuid4().hex[:8]}"
    keys = s3_server.user(name, [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"],
                                  "Resource": ["arn:aws:s3:::*", "arn:aws:s3:::*/*"]}])
    session = s3_server.session(keys)
    pages = []

    def revoke_before_page_three(**kwargs):
        pages.append(1)
        if len(pages) == 3:  # the permission is withdrawn between two pages of the listing
            s3_server.client("iam").put_user_policy(
                UserName=name, PolicyName="deny-list", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Deny", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::*"}]}))

    session.events.register("before-call.s3.ListObjectsV2", revoke_before_page_three)
    gets = _count(session, "GetObject")
    source = S3Source(f"s3://{bucket}", _config(s3_server, s3={"page_size": 2}), session=session)
    with pytest.raises(SourceError) as info:
        source.snapshot()
    message = str(info.value)
    assert "failed on page 3 (after 4 objects): AccessDenied" in message
    assert "never read as deletions" in message
    assert gets == []  # nothing was downloaded, let alone built


def test_unreachable_endpoint_is_a_clear_error(tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = SourceConfig(s3=S3Config(endpoint_url=f"http://127.0.0.1:{port}", region="us-east-1", max_attempts=1))
    import boto3

    session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s")
    with pytest.raises(SourceError, match=r"listing s3://b/p/ failed on page 1 .*Could not connect"):
        S3Source("s3://b/p", config, session=session).snapshot()


def test_endpoint_that_stops_answering_times_out(tmp_path):
    """A server that accepts connections but never answers: the listing times out, clearly."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        config = SourceConfig(s3=S3Config(endpoint_url=f"http://127.0.0.1:{server.getsockname()[1]}",
                                           region="us-east-1", max_attempts=1, read_timeout_s=0.5))
        import boto3

        session = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s")
        with pytest.raises(SourceError, match="failed on page 1 .*timeout"):
            S3Source("s3://b/p", config, session=session).snapshot()
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_missing_bucket_and_bad_uri(s3_server):
    with pytest.raises(SourceError, match="NoSuchBucket"):
        S3Source("s3://igtest-does-not-exist", _config(s3_server), session=s3_server.session()).snapshot()
    with pytest.raises(SourceError, match="no bucket"):
        open_source("s3:///prefix")


MARK = f"igx{uuid.uuid4().hex[:10]}"
HOSTILE = {
    f"../../{MARK}-dotdot.md": "'..' path segment",
    f"a/../../{MARK}-mid.md": "'..' path segment",
    "a/..": "'..' path segment",
    f"docs//{MARK}-double.md": "empty path segment",
    f"/tmp/{MARK}-absolute.md": "absolute path",
    f"./{MARK}-dot.md": "'.' path segment",
    f"nul\x00{MARK}.md": "control or non-character U+0000",
    f"bell\x07{MARK}.md": "control or non-character U+0007",
    f"rtl\u202e{MARK}dm.txt": "invisible formatting character U+202E",
    f"full\uff0f..\uff0f{MARK}.md": "reads as a path separator",
    f"\uff0e\uff0e/{MARK}-fullwidth-dots.md": "reads as '..'",
    f"back\\..\\{MARK}.md": "backslash",
}


@pytest.mark.skipif(shutil.which("find") is None, reason="needs find(1) to scan the file system")
def test_hostile_keys_and_links_never_become_paths(s3_server, tmp_path, write_corpus):
    """Hostile names are quarantined as unsafe, and a scan of the whole file system finds nothing
    named after them anywhere (inside or outside this test's folder)."""
    bucket = s3_server.bucket({**{k: b"# pwned\n" for k in HOSTILE}, "ok/fine.md": b"# Fine\n\nok\n"})
    spool = Spool(tmp_path / "state" / "spool", 1 << 20)
    source = S3Source(f"s3://{bucket}", _config(s3_server), spool=spool, session=s3_server.session())
    snap = source.snapshot()
    assert [o.doc_id for o in snap.objects] == ["ok/fine.md"]
    reasons = {q.doc_id: q for q in snap.refused}
    assert len(reasons) == len(HOSTILE)
    for key, why in HOSTILE.items():
        entry = next(q for q in snap.refused if q.doc_id.replace("\\u0000", "\x00").replace("\\u0007", "\x07")
                     .replace("\\u202e", "\u202e") == key)
        assert entry.kind == "unsafe_path" and why in entry.reason, (key, entry)
        assert entry.doc_id.isprintable()
    result = parse_snapshot(source, snap, tmp_path / "state" / "documents.parquet", spool=spool)
    assert result.documents == 1 and len(result.quarantined) == len(HOSTILE)

    # a folder with a symlink out of it and hostile file names, synced the same way
    outside = tmp_path / f"{MARK}-outside.txt"
    outside.write_text("secret outside the root")
    root = write_corpus({"fine.md": "# fine\n"}, root=tmp_path / "corpus")
    (root / "escape.txt").symlink_to(outside)
    (root / f"rtl\u202e{MARK}.md").write_text("x")
    folder = open_source(str(root))
    fsnap = folder.snapshot()
    assert {q.doc_id: q.kind for q in fsnap.refused} == {"escape.txt": "unsafe_path",
                                                        f"rtl\\u202e{MARK}.md": "unsafe_path"}
    parse_snapshot(folder, fsnap, tmp_path / "state" / "folder-documents.parquet")

    # only sha256-named blobs were written to the spool
    blobs = [p for p in (tmp_path / "state" / "spool" / "blobs").rglob("*") if p.is_file()]
    assert blobs and all(len(p.name) == 64 and set(p.name) <= set("0123456789abcdef") for p in blobs)
    found = subprocess.run(
        ["find", "/", "-xdev", "(", "-path", "/proc", "-o", "-path", "/sys", "-o", "-path", "/dev", ")", "-prune",
         "-o", "-name", f"*{MARK}*", "-print"], capture_output=True, text=True, check=False).stdout.split("\n")
    found = {p for p in found if p}
    # the only names carrying the mark are the two this test made itself
    assert found == {str(outside), str(root / f"rtl\u202e{MARK}.md")}
