"""Checks at flow start: clear errors about the source, the golden set and unknown aliases."""

import json

import pytest

from indexgate.errors import ConfigError, GoldenSetError, SourceError
from indexgate.preflight import check_inputs, check_known_alias
from indexgate.resources import resources
from indexgate.sync import run_sync


def test_a_missing_folder_is_named_with_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SourceError, match=f"source folder not found or not a folder: nowhere \\(relative to {tmp_path}\\)"):
        check_inputs("docs", "nowhere")


def test_a_file_is_not_a_source_folder(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(SourceError, match="not a folder"):
        check_inputs("docs", str(tmp_path / "a.txt"))


def test_an_unlistable_folder_fails_with_the_kernels_reason(tmp_path, locked_folder):
    root = tmp_path / "corpus"
    root.mkdir()
    with locked_folder(root), pytest.raises(SourceError, match=f"cannot list source folder {root}: Permission denied"):
        check_inputs("docs", str(root))


def test_a_beir_folder_without_corpus(tmp_path):
    with pytest.raises(SourceError, match="corpus.jsonl"):
        check_inputs("docs", f"beir:{tmp_path}")


def test_an_unknown_scheme_and_a_bad_alias(tmp_path):
    with pytest.raises(SourceError, match="unsupported source scheme 'ftp'"):
        check_inputs("docs", "ftp://host/x")
    with pytest.raises(ConfigError, match="invalid alias 'a b'"):
        check_inputs("a b", str(tmp_path))


def test_the_golden_set_is_read_whole(tmp_path):
    golden = tmp_path / "golden.jsonl"
    golden.write_text(json.dumps({"query_id": "q1", "query": "x", "relevant": [{"doc_id": "a", "start": 0, "end": 1}]})
                      + "\nnot json\n")
    with pytest.raises(GoldenSetError, match="golden.jsonl:2"):
        check_inputs("docs", str(tmp_path), str(golden))
    with pytest.raises(GoldenSetError, match="not found|No such file"):
        check_inputs("docs", str(tmp_path), str(tmp_path / "missing.jsonl"))


def test_good_inputs_pass(tmp_path):
    golden = tmp_path / "golden.jsonl"
    golden.write_text(json.dumps({"query_id": "q1", "query": "x", "relevant": [{"doc_id": "a", "start": 0, "end": 1}]}))
    check_inputs("docs", str(tmp_path), str(golden))
    check_inputs(None, "s3://bucket/prefix")


def test_unknown_alias_and_version_name_what_is_known(tmp_path, write_corpus, fake_settings):
    with pytest.raises(ConfigError, match="unknown alias 'docs' in .*: known aliases are none"):
        check_known_alias(fake_settings.home, "docs")
    plan, _ = run_sync(resources(fake_settings), "kb", write_corpus({"a.md": "# A\n\nSome text here.\n"}))
    with pytest.raises(ConfigError, match="unknown alias 'docs' in .*: known aliases are kb"):
        check_known_alias(fake_settings.home, "docs")
    with pytest.raises(ConfigError, match=f"alias 'kb' has no version '000000000000' .*: its versions are {plan.version}"):
        check_known_alias(fake_settings.home, "kb", "000000000000")
    check_known_alias(fake_settings.home, "kb", plan.version)
