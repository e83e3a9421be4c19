"""Folder snapshots: ids, hashes, what is skipped and what is refused."""

import hashlib
import os

import pytest

from indexgate.errors import SourceError
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


def test_symlink_out_of_the_root_is_never_read(write_corpus, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("top secret")
    root = write_corpus({"a.txt": "fine"})
    (root / "link.txt").symlink_to(outside)
    (root / "inside.txt").symlink_to(root / "a.txt")
    source = FolderSource(root)
    assert [o.doc_id for o in source.snapshot().objects] == ["a.txt", "inside.txt"]
    with pytest.raises(SourceError, match="outside"):
        source.read("link.txt")
    with pytest.raises(SourceError, match="outside"):
        source.read("../secret.txt")


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
