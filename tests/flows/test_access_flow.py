"""Access labels through the CLI and the sync flow: real model, embedded Qdrant, Prefect harness."""

from __future__ import annotations

import json

import yaml

from indexgate.cli import EXIT_OK, main

RULES = [{"path": "hr/**", "groups": ["hr"]}, {"path": "security/**", "groups": ["eng"]},
         {"path": "ops/**", "groups": ["eng"]}, {"path": "product/**", "groups": ["everyone"]}]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _config(tmp_path, rules) -> str:
    path = tmp_path / "indexgate.yaml"
    path.write_text(yaml.safe_dump({"access": {"default": "deny", "rules": rules}}))
    return str(path)


def _hits(capsys, state, config, *as_groups):
    argv = ["search", "--alias", "acl", "weeks of paid leave", "-k", "10", "--json", "--state-dir", state,
            "--config", config, *(["--as", ",".join(as_groups)] if as_groups else [])]
    code, out, _ = run(capsys, *argv)
    assert code == EXIT_OK
    return {h["doc_id"] for h in json.loads(out)["hits"]}


def test_labels_filter_search_and_a_relabel_embeds_nothing(capsys, corpus, state, tmp_path):
    config = _config(tmp_path, RULES)
    code, out, _ = run(capsys, "sync", "--source", str(corpus), "--alias", "acl", "--state-dir", state,
                       "--config", config, "--json")
    first = json.loads(out)
    assert code == EXIT_OK and first["action"] == "promoted", first["reason"]
    assert _hits(capsys, state, config, "hr") == {"hr/parental-leave.txt"}
    assert _hits(capsys, state, config, "hr", "everyone") == {"hr/parental-leave.txt", "product/routing-faq.md"}
    assert _hits(capsys, state, config, "eng") == {"security/passwords.md", "ops/backups.md"}
    assert _hits(capsys, state, config) == set()  # no group: nothing

    # Only the labels change: a new version, nothing parsed or embedded, counted as relabelled.
    config = _config(tmp_path, [{"path": "hr/**", "groups": ["hr", "eng"]}, *RULES[1:]])
    code, out, _ = run(capsys, "sync", "--source", str(corpus), "--alias", "acl", "--state-dir", state,
                       "--config", config, "--json")
    second = json.loads(out)
    assert code == EXIT_OK and second["action"] == "promoted", second["reason"]
    assert second["version"] != first["version"]
    assert second["changes"]["relabelled"] == 1 and second["changes"]["changed"] == 0
    assert second["manifest"]["embedding"]["embedded"] == 0
    assert second["manifest"]["changes"]["documents_parsed"] == 0
    assert "hr/parental-leave.txt" in _hits(capsys, state, config, "eng")
