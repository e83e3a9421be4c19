"""Safe document ids and the include/exclude glob language."""

import re

import pytest

from indexgate.sources.ids import UnsafeId, check_doc_id, printable
from indexgate.sources.selection import glob_regex


@pytest.mark.parametrize("name", [
    "a.md", "docs/sub/file name (1).pdf", "données/été.txt", "日本語/文書.md", "نامه\u200cها.txt",  # ZWNJ is fine
    "..hidden-ish", "a..b/c", "x.", "-dash",
])
def test_safe_ids_pass_unchanged(name):
    assert check_doc_id(name) == name


@pytest.mark.parametrize("name,why", [
    ("", "empty name"), ("/etc/passwd", "absolute path"), ("../x", "'..' path segment"),
    ("a/../../x", "'..' path segment"), ("a/..", "'..' path segment"), ("./a", "'.' path segment"),
    ("a//b", "empty path segment"), ("a/", "empty path segment"), ("a\\b", "backslash"),
    ("a\x00b", "U+0000"), ("a\nb", "U+000A"), ("a\x7fb", "U+007F"), ("a\x85b", "U+0085"),
    ("evil\u202egpj.exe", "U+202E"), ("a\u2066b", "U+2066"), ("\ufeffa", "U+FEFF"),
    ("a\ud800b", "not valid UTF-8"), ("a\ue000b", "U+E000"), ("a\u2028b", "U+2028"),
    ("a\uff0fb", "path separator"), ("a\uff3cb", "path separator"), ("\uff0e\uff0e/x", "reads as '..'"),
    ("x" * 256, "segment longer than 255"), ("a/" * 600 + "b", "longer than 1024"),
])
def test_unsafe_ids_are_refused_with_the_reason(name, why):
    with pytest.raises(UnsafeId, match=re.escape(why)):
        check_doc_id(name)


def test_printable_shows_what_hides():
    assert printable("a\x00b\u202ec\ud800") == "a\\u0000b\\u202ec\\ud800"
    assert printable("été/日本.md") == "été/日本.md"


@pytest.mark.parametrize("pattern,path,matches", [
    ("*.md", "a.md", True), ("*.md", "x/y/a.md", True), ("*.md", "a.mdx", False),
    ("docs/*.md", "docs/a.md", True), ("docs/*.md", "docs/x/a.md", False), ("docs/*.md", "x/docs/a.md", False),
    ("docs/**/*.md", "docs/a.md", True), ("docs/**/*.md", "docs/x/y/a.md", True),
    ("drafts/", "drafts/a/b.txt", True), ("drafts/", "x/drafts/a", True), ("drafts/", "drafts.txt", False),
    ("/a.md", "a.md", True), ("/a.md", "x/a.md", False), ("**", "any/thing", True),
    ("[!a]*.md", "b.md", True), ("[!a]*.md", "a.md", False), ("f[ab].txt", "fa.txt", True),
    ("[]]x", "]x", True), ("a[b", "a[b", True), ("a?c", "abc", True), ("a?c", "a/c", False),
    ("*", "a/b", True), ("a*", "x/ab", True),
])
def test_globs(pattern, path, matches):
    assert bool(glob_regex(pattern).match(path)) is matches
