"""The command line in-process (flows run on the session's harness): outputs and exit codes."""

from __future__ import annotations

import json

from indexgate.cli import EXIT_ERROR, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sync_status_search_eval_json_shapes(capsys, corpus, golden, state):
    code, out, _ = run(capsys, "sync", "--source", str(corpus), "--alias", "cli", "--golden", str(golden),
                       "--state-dir", state, "--json")
    assert code == EXIT_OK
    synced = json.loads(out)
    assert synced["action"] == "promoted" and synced["manifest"]["counts"]["documents"] == 4

    code, out, _ = run(capsys, "status", "--alias", "cli", "--state-dir", state, "--json")
    status = json.loads(out)
    assert status["live"] == synced["version"]
    [version] = status["versions"]
    assert version["state"] == "live" and version["retained"] and version["promoted_at"]
    assert set(version["metrics"]) == {"span_recall", "span_precision", "span_iou", "mrr", "ndcg"}

    code, out, _ = run(capsys, "search", "--alias", "cli", "parental leave for partners", "-k", "2",
                       "--state-dir", state, "--json")
    hits = json.loads(out)["hits"]
    assert len(hits) == 2 and hits[0]["doc_id"] == "hr/parental-leave.txt"
    assert set(hits[0]) == {"doc_id", "chunk_id", "start", "end", "score", "text", "version"}

    code, out, _ = run(capsys, "eval", "--source", str(corpus), "--golden", str(golden), "--chunk-size", "16",
                       "--chunk-overlap", "4", "-k", "3", "--state-dir", state, "--json")
    assert code == EXIT_OK
    result = json.loads(out)
    assert set(result["metrics"]) == {"span_recall", "span_precision", "span_iou", "mrr", "ndcg"}
    assert result["k"] == 3 and result["chunking"]["chunk_size"] == 16 and result["n_queries"] == 4
    assert result["metrics"]["mrr"] > 0.5
    # eval is throw-away: the alias still serves the synced version, no collection was added
    code, out, _ = run(capsys, "status", "--alias", "cli", "--state-dir", state, "--json")
    assert json.loads(out)["live"] == synced["version"] and len(json.loads(out)["versions"]) == 1


def test_human_output_and_errors(capsys, corpus, golden, state, tmp_path):
    code, out, _ = run(capsys, "sync", "--source", str(corpus), "--alias", "human", "--state-dir", state)
    assert code == EXIT_OK and "promoted version" in out and "integrity.point_count" in out

    code, out, err = run(capsys, "sync", "--source", str(tmp_path / "missing"), "--alias", "human", "--state-dir", state)
    assert code == EXIT_ERROR and "source folder not found" in err

    code, _, err = run(capsys, "search", "--alias", "nothing", "x", "--state-dir", state)
    assert code == EXIT_ERROR and "alias 'nothing' does not exist" in err

    code, _, err = run(capsys, "rollback", "--alias", "human", "--state-dir", state)
    assert code == EXIT_ERROR and "no earlier retained version" in err

    code, _, err = run(capsys, "eval", "--source", str(corpus), "--golden", str(tmp_path / "nope.jsonl"),
                       "--state-dir", state)
    assert code == EXIT_ERROR and "golden set not found" in err

    assert run(capsys, "eval", "--source", "x", "--golden", "y", "-k", "0")[0] == EXIT_USAGE
    code, _, err = run(capsys, "sync", "--source", str(corpus), "--alias", "bad alias", "--state-dir", state)
    assert code == EXIT_USAGE and "invalid alias 'bad alias'" in err
    # (a real golden set: a missing one is now refused first, at flow start)
    code, _, err = run(capsys, "eval", "--source", str(corpus), "--golden", str(golden), "--chunk-size", "300",
                       "--state-dir", state)
    assert code == EXIT_ERROR and "exceeds the embedder's maximum of 254 tokens" in err


def test_rejected_sync_exits_3(capsys, corpus, golden, state, tmp_path):
    strict = tmp_path / "strict.yaml"
    strict.write_text("gates: {min_span_precision: 1.0}\n")
    code, out, _ = run(capsys, "sync", "--source", str(corpus), "--alias", "strict", "--golden", str(golden),
                       "--config", str(strict), "--state-dir", state)
    assert code == EXIT_REJECTED and "FAIL" in out and "live version: none" in out
