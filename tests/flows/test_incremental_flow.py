"""Incremental sync and its guards through the CLI and the sync flow: real model, embedded
Qdrant, Prefect harness."""

from __future__ import annotations

import json

from indexgate.cli import EXIT_ERROR, EXIT_OK, EXIT_REJECTED, main
from indexgate.resources import resources
from indexgate.settings import load_settings


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _status(capsys, alias, state):
    code, out, _ = run(capsys, "status", "--alias", alias, "--state-dir", state, "--json")
    assert code == EXIT_OK
    return json.loads(out)


def test_changes_are_counted_and_deleted_documents_leave_no_points(capsys, corpus, state):
    code, out, _ = run(capsys, "sync", "--source", str(corpus), "--alias", "inc", "--state-dir", state)
    assert code == EXIT_OK and "documents added 4, changed 0, unchanged 0, deleted 0 (against no live version)" in out
    first = _status(capsys, "inc", state)["live"]
    old_points = {r["point_id"] for r in __import__("pyarrow.parquet").parquet.read_table(
        f"{state}/aliases/inc/versions/{first}/chunks.parquet").to_pylist() if r["doc_id"] == "ops/backups.md"}

    (corpus / "ops/backups.md").unlink()
    (corpus / "hr/parental-leave.txt").write_text("Parental leave\nBirth parents receive 26 weeks of paid leave.\n")
    (corpus / "ops/canteen.md").write_text("# Canteen\n\nThe canteen serves lunch from noon until two.\n")
    code, out, _ = run(capsys, "sync", "--source", str(corpus), "--alias", "inc", "--state-dir", state, "--json")
    assert code == EXIT_OK
    synced = json.loads(out)
    expected = {"base": first, "added": 1, "changed": 1, "unchanged": 2, "deleted": 1, "relabelled": 0}
    assert synced["action"] == "promoted" and synced["changes"] == expected
    manifest = synced["manifest"]
    assert {k: manifest["changes"][k] for k in expected} == expected
    assert manifest["changes"]["documents_parsed"] == 2 and manifest["changes"]["documents_carried"] == 2
    assert manifest["embedding"]["embedded"] == 2  # one chunk for each new text
    assert manifest["embedding"]["reused"] == manifest["counts"]["chunks"] - 2

    # the deleted document is gone from the new version: by search, and by the ids read back
    code, out, _ = run(capsys, "search", "--alias", "inc", "When do database backups run?", "-k", "4",
                       "--state-dir", state, "--json")
    hits = json.loads(out)["hits"]
    assert len(hits) == 4 and "ops/backups.md" not in {h["doc_id"] for h in hits}
    res = resources(load_settings(home=state))
    assert old_points and not old_points & set(res.store.iter_ids(f"inc__{synced['version']}"))

    code, out, _ = run(capsys, "sync", "--source", str(corpus), "--alias", "inc", "--state-dir", state)
    assert code == EXIT_OK and "documents added 0, changed 0, unchanged 4, deleted 0" in out


def test_an_emptied_source_is_held_until_confirmed(capsys, corpus, state):
    assert run(capsys, "sync", "--source", str(corpus), "--alias", "held", "--state-dir", state)[0] == EXIT_OK
    live = _status(capsys, "held", state)["live"]
    for path in corpus.rglob("*.*"):
        path.unlink()
    code, out, err = run(capsys, "sync", "--source", str(corpus), "--alias", "held", "--state-dir", state)
    assert code == EXIT_ERROR and out == ""
    assert f"sync held: it would delete 4 of the 4 documents that the live version {live} serves" in err
    assert f"confirm with: indexgate sync --source {corpus} --alias held --allow-mass-delete" in err
    status = _status(capsys, "held", state)
    assert status["live"] == live and len(status["versions"]) == 1

    code, out, _ = run(capsys, "sync", "--source", str(corpus), "--alias", "held", "--state-dir", state,
                       "--allow-mass-delete")
    assert code == EXIT_OK and "documents added 0, changed 0, unchanged 0, deleted 4" in out
    assert _status(capsys, "held", state)["live"] != live


def test_a_mostly_quarantined_source_is_rejected(capsys, corpus, state):
    assert run(capsys, "sync", "--source", str(corpus), "--alias", "quar", "--state-dir", state)[0] == EXIT_OK
    live = _status(capsys, "quar", state)["live"]
    (corpus / "export.txt").write_bytes(b"\x00\x00\x00 a binary export")
    code, out, _ = run(capsys, "sync", "--source", str(corpus), "--alias", "quar", "--state-dir", state)
    assert code == EXIT_REJECTED
    assert "quarantined export.txt: binary content" in out
    assert "gates failed: source.quarantine_share = 0.2 (needs <= 0.1)" in out
    assert any(line.split() == ["source.quarantine_share", "FAIL", "0.2", "<=", "0.1"] for line in out.splitlines())
    assert _status(capsys, "quar", state)["live"] == live


def test_an_unreadable_source_aborts_before_anything_is_built(capsys, corpus, state, tmp_path, locked_folder):
    assert run(capsys, "sync", "--source", str(corpus), "--alias", "gone", "--state-dir", state)[0] == EXIT_OK
    before = _status(capsys, "gone", state)
    (corpus / "ops/backups.md").write_text("# Backup runbook\n\nBackups run hourly.\n")
    with locked_folder(corpus / "hr"):
        code, out, err = run(capsys, "sync", "--source", str(corpus), "--alias", "gone", "--state-dir", state)
    assert code == EXIT_ERROR and out == "" and "cannot list" in err and "hr: Permission denied" in err
    code, out, err = run(capsys, "sync", "--source", str(tmp_path / "unmounted"), "--alias", "gone",
                         "--state-dir", state)
    assert code == EXIT_ERROR and "source folder not found" in err
    after = _status(capsys, "gone", state)
    assert after["live"] == before["live"] and after["versions"] == before["versions"]
    res = resources(load_settings(home=state))
    assert res.store.collections() == [f"gone__{before['live']}"]


def test_beir_sync_and_eval(capsys, beir_dir, state):
    code, out, _ = run(capsys, "sync", "--source", f"beir:{beir_dir}", "--golden", f"beir:{beir_dir}",
                       "--alias", "beir", "--state-dir", state, "--json")
    assert code == EXIT_OK
    synced = json.loads(out)
    gates = {g["name"]: g for g in synced["gates"]}
    assert {"relevance.ndcg@5", "relevance.recall@5", "relevance.mrr@5"} <= set(gates)
    assert set(synced["manifest"]["metrics"]["metrics"]) == {"ndcg", "recall", "mrr"}

    code, out, _ = run(capsys, "eval", "--source", f"beir:{beir_dir}", "--golden", f"beir:{beir_dir}", "-k", "2",
                       "--state-dir", state, "--json")
    assert code == EXIT_OK
    result = json.loads(out)
    assert list(result["metrics"]) == ["ndcg", "recall", "mrr"] and result["n_queries"] == 3 and result["k"] == 2
    # the three questions are easy for the real model: each finds its best document first
    assert result["metrics"]["mrr"] == 1.0
    assert 0.5 < result["metrics"]["ndcg"] <= 1.0
