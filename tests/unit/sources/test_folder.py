"""Folder snapshots: ids, hashes, what is skipped and what is refused."""

import hashlib
import os

import pytest

from indexgate.errors import ObjectUnreadable, SourceError
from indexgate.models import Quarantined
from indexgate.settings import SourceConfig
from indexgate.sources import FolderSource, open_source


def test_snapshot_lists_files_with_sha256_and_relative_ids(write_corpus):
    root = write_corpus({"b.md": "# B", "sub/a.txt": "alpha", ".hidden.txt": "x", ".git/config": "y"})
    snap = FolderSource(root).snapshot()
    assert [o.doc_id for o in snap.objects] == ["b.md", "sub/a.txt"]
    obj = snap.objects[1]
    assert obj.content_hash == hashlib.sha256(b"alpha").hexdigest()
    assert obj.size == 5 and obj.mime == "text/plain"


def test_snapshot_hash_changes_with_content_and_names_only(write_corpus, tmp_path):
    root = write_corpus({"a.txt": "one", "b.txt": "two"})
    first = FolderSource(root).snapshot().hash
    assert FolderSource(root).snapshot().hash == first
    os.utime(root / "a.txt", (0, 0))  # a touch changes nothing
    assert FolderSource(root).snapshot().hash == first
    (root / "a.txt").write_text("one!")
    assert FolderSource(root).snapshot().hash != first


def test_symlink_out_of_the_root_is_refused_with_its_reason(write_corpus, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret")
    (tmp_path / "elsewhere").mkdir()
    root = write_corpus({"a.txt": "fine", "sub/b.md": "# b"})
    (root / "link.txt").symlink_to(outside)
    (root / "inside.txt").symlink_to(root / "a.txt")
    (root / "dir-out").symlink_to(tmp_path / "elsewhere")
    (root / "dir-in").symlink_to(root / "sub")
    (root / "dangling.md").symlink_to(tmp_path / "gone.md")
    source = FolderSource(root)
    snap = source.snapshot()
    assert [o.doc_id for o in snap.objects] == ["a.txt", "inside.txt", "sub/b.md"]
    refused = {q.doc_id: q for q in snap.refused}
    assert set(refused) == {"link.txt", "dir-out", "dangling.md"}
    assert all(q.kind == "unsafe_path" for q in refused.values())
    assert refused["link.txt"].reason == f"symlink resolves outside the source root (to {outside})"
    assert refused["dangling.md"].reason.startswith("broken symlink")
    with pytest.raises(ObjectUnreadable, match="outside"):
        source.read("link.txt")
    with pytest.raises(ObjectUnreadable, match="unsafe path: '..' path segment"):
        source.read("../secret.txt")


def test_refusals_change_the_snapshot_hash(write_corpus, tmp_path):
    root = write_corpus({"a.txt": "fine"})
    plain = FolderSource(root).snapshot()
    (root / "link.txt").symlink_to(tmp_path)
    assert FolderSource(root).snapshot().hash != plain.hash


def test_include_exclude_globs(write_corpus):
    root = write_corpus({"a.md": "a", "notes/b.md": "b", "notes/drafts/c.md": "c", "d.txt": "d",
                         "notes/e.pdf": "e", "archive/f.md": "f"})
    config = SourceConfig(include=["*.md", "notes/*.pdf"], exclude=["drafts/", "/archive/**"])
    assert [o.doc_id for o in FolderSource(root, config).snapshot().objects] == ["a.md", "notes/b.md", "notes/e.pdf"]
    config = SourceConfig(exclude=["*.txt", "notes/**"])
    assert [o.doc_id for o in FolderSource(root, config).snapshot().objects] == ["a.md", "archive/f.md"]


def test_file_over_the_size_limit_is_refused_without_reading_it(write_corpus):
    root = write_corpus({"small.md": "x" * 10, "big.md": "y" * 11})
    snap = FolderSource(root, SourceConfig(max_file_bytes=10)).snapshot()
    assert [o.doc_id for o in snap.objects] == ["small.md"]
    assert snap.refused == (Quarantined("big.md", "file over the size limit: 11 bytes > max_file_bytes 10", "too_large"),)


def test_odd_names_and_special_files_are_refused(write_corpus):
    root = write_corpus({"ok.md": "fine"})
    (root / "line\nbreak.md".replace("\\n", "\n")).write_text("x")
    (root / "rtl\u202egpj.md").write_text("x")
    os.mkfifo(root / "pipe.txt")
    bad_name = os.fsencode(root) + b"/caf\xe9.txt"  # not UTF-8: Latin-1 bytes from an old share
    with open(bad_name, "w") as fh:
        fh.write("x")
    snap = FolderSource(root).snapshot()
    assert [o.doc_id for o in snap.objects] == ["ok.md"]
    refused = {q.doc_id: (q.kind, q.reason) for q in snap.refused}
    assert refused == {
        "line\\u000abreak.md": ("unsafe_path", "unsafe path: control or non-character U+000A in the name"),
        "rtl\\u202egpj.md": ("unsafe_path", "unsafe path: invisible formatting character U+202E in the name"),
        "caf\\udce9.txt": ("unsafe_path", "unsafe path: not valid UTF-8 (undecodable bytes in the name)"),
        "pipe.txt": ("unsupported", "not a regular file (a named pipe)"),
    }


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        FolderSource(tmp_path / "nope").snapshot()


def test_unknown_scheme_is_refused():
    with pytest.raises(SourceError, match="unsupported source scheme 'ftp'"):
        open_source("ftp://host/x")


def test_unlistable_subfolder_aborts_instead_of_looking_deleted(write_corpus, locked_folder):
    root = write_corpus({"a.txt": "x", "locked/b.txt": "y"})
    with locked_folder(root / "locked"), pytest.raises(SourceError, match="cannot list .*locked: Permission denied"):
        FolderSource(root).snapshot()
    assert [o.doc_id for o in FolderSource(root).snapshot().objects] == ["a.txt", "locked/b.txt"]


def test_a_relative_source_path_gives_absolute_file_uris(write_corpus, tmp_path, monkeypatch):
    root = write_corpus({"a.md": "# A\n"})
    monkeypatch.chdir(root.parent)
    snap = FolderSource(root.name).snapshot()
    assert snap.source == str(root.resolve())
    assert [o.uri for o in snap.objects] == [(root / "a.md").resolve().as_uri()]


def test_uris_ids_and_hashes_are_pathlib_and_hashlib_s_for_odd_names(write_corpus):
    """The snapshot lists files with strings, not Path objects: each uri is still what
    ``Path.as_uri`` gives, each id the ``/``-separated relative path, each hash the file's sha256."""
    from pathlib import Path

    root = write_corpus({"a b/c%d#e.md": "x", "ünï/çødé ✓.txt": "y" * 300_000, "top?.md": "", "q/r/s.md": "z"})
    (root / "link to c.md").symlink_to(root / "a b" / "c%d#e.md")
    snap = FolderSource(root).snapshot()
    by_id = {o.doc_id: o for o in snap.objects}
    assert sorted(by_id) == sorted(["a b/c%d#e.md", "ünï/çødé ✓.txt", "top?.md", "q/r/s.md", "link to c.md"])
    for doc_id, obj in by_id.items():
        real = (root / doc_id).resolve()
        assert obj.uri == real.as_uri()
        assert obj.content_hash == hashlib.sha256(real.read_bytes()).hexdigest()
    assert by_id["link to c.md"].uri == Path(root / "a b" / "c%d#e.md").resolve().as_uri()
