"""The guardrails through the CLI and the sync flow (issue 22): real model, embedded Qdrant,
Prefect harness. A document mixing personal data and secrets is synced; the raw values must
appear nowhere: not in search, the state folder (tables, manifests, reports, store) or the output."""

from __future__ import annotations

import json
import logging

from indexgate.cli import EXIT_ERROR, EXIT_OK, main

VALUES = ("jo.doe@example.com", "(415) 555-2671", "AKIAIOSFODNN7EXAMPLE", "DE89370400440532013000")
MIXED = ("# Support\n\nEscalations go to jo.doe@example.com or (415) 555-2671 during office hours.\n"
         "The backup job reads the bucket with aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
         "Refunds go to IBAN DE89370400440532013000 and are processed within fourteen days of the request.\n")
FILES = {"support.md": MIXED,
         "leave.md": "# Leave\n\nVacation requests need two weeks of notice and a manager's approval.\n",
         "canteen.md": "# Canteen\n\nThe canteen serves lunch from noon until two on weekdays.\n"}
EVIDENCE = "processed within fourteen days of the request"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_mixed_document_is_redacted_everywhere_and_budget_holds_until_confirmed(
        capsys, caplog, tmp_path, write_corpus, state):
    corpus = write_corpus(FILES)
    golden = tmp_path / "golden.jsonl"
    start = MIXED.index(EVIDENCE)  # original offsets: after the redacted IBAN, shifted in the stored text
    golden.write_text(json.dumps({"query_id": "q1", "query": "How long do refunds take to process?",
                                  "relevant": [{"doc_id": "support.md", "start": start,
                                                "end": start + len(EVIDENCE)}]}) + "\n")
    policy = tmp_path / "policy.yaml"
    policy.write_text("guardrails:\n  budget: {max_texts: 2}\n")
    captured = []
    caplog.set_level(logging.DEBUG)

    code, out, err = run(capsys, "sync", "--source", str(corpus), "--alias", "g", "--state-dir", state,
                         "--policy", str(policy), "--golden", str(golden))
    captured += [out, err]
    assert code == EXIT_ERROR
    assert "indexgate: error: held before embedding: 3 texts" in err and "(3 texts > max_texts 2)" in err
    assert f"to embed anyway run: indexgate sync --source {corpus} --alias g --confirm-budget" in err

    code, out, err = run(capsys, "sync", "--source", str(corpus), "--alias", "g", "--state-dir", state,
                         "--policy", str(policy), "--golden", str(golden), "--confirm-budget", "--json")
    captured += [out, err]
    assert code == EXIT_OK, err
    synced = json.loads(out)
    assert synced["action"] == "promoted"
    manifest = synced["manifest"]
    assert manifest["guardrails"]["totals"] == {"cloud_key": {"redact": 1}, "email": {"redact": 1},
                                                "iban": {"redact": 1}, "phone": {"redact": 1}}
    assert manifest["embedding"]["estimate"] == {"texts": 3, "tokens": manifest["embedding"]["estimate"]["tokens"],
                                                 "cost": manifest["embedding"]["estimate"]["cost"],
                                                 "held": False, "confirmed": True}
    gates = {g["name"]: g for g in synced["gates"]}
    assert gates["guardrails.stored_payloads"]["passed"]
    assert gates["quality.chunks.text_matches_document"]["passed"]
    # The golden span, in original offsets, still scores on the redacted text.
    assert manifest["metrics"]["metrics"]["span_recall"] == 1.0

    code, out, err = run(capsys, "search", "--alias", "g", "Who handles escalations?", "-k", "3",
                         "--state-dir", state, "--json")
    captured += [out, err]
    texts = " ".join(h["text"] for h in json.loads(out)["hits"])
    for placeholder in ("[EMAIL]", "[PHONE]", "[CLOUD_KEY]", "[IBAN]"):
        assert placeholder in texts

    code, out, err = run(capsys, "status", "--alias", "g", "--state-dir", state, "--json")
    spend = json.loads(out)["embedding"]
    assert spend["texts_embedded"] == 3 and spend["tokens_embedded"] > 0
    captured += [out, err, caplog.text]

    files = [p for p in (tmp_path / "state").rglob("*") if p.is_file()]
    assert any(p.name == "report.html" for p in files) and any(p.name == "documents.parquet" for p in files)
    for value in VALUES:
        assert not any(value in text for text in captured), value
        assert not [p for p in files if value.encode() in p.read_bytes()], value


def test_block_policy_quarantines_the_document(capsys, tmp_path, write_corpus, state):
    corpus = write_corpus(FILES)
    policy = tmp_path / "policy.yaml"
    policy.write_text("guardrails:\n  actions: {cloud_key: block}\n")
    code, out, err = run(capsys, "sync", "--source", str(corpus), "--alias", "b", "--state-dir", state,
                         "--policy", str(policy))
    # One of three objects quarantined is over the default 10% share: the version is rejected.
    assert "quarantined support.md: blocked by the guardrails policy: cloud_key (1)" in out
    assert "source.quarantine_share" in out
    assert "guardrails: cloud_key block 1, email redact 1" in out
    assert VALUES[2] not in out + err
