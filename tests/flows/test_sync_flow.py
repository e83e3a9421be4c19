"""The sync and rollback flows end to end: real model, embedded Qdrant, Prefect harness."""

from __future__ import annotations

import pytest

import indexgate_tasks.report
from indexgate_flows.rollback import rollback
from indexgate_flows.sync import sync
from indexgate.resources import resources
from indexgate.settings import load_settings


def _search(state, alias, text, k=1):
    res = resources(load_settings(home=state))
    return res.store.search(alias, res.embedder.embed_queries([text])[0], k)


def test_sync_promote_change_resync_rollback(corpus, golden, state, artifacts):
    # The harness serves the whole session: other tests' syncs of an alias "docs" published too.
    earlier = {a.id for a in artifacts("indexgate-sync-docs")}
    first = sync(source=str(corpus), alias="docs", golden=str(golden), state_dir=state)
    assert first["action"] == "promoted" and first["live"] == first["version"]
    names = {g["name"] for g in first["gates"]}
    assert {"integrity.point_count", "relevance.span_recall@5", "relevance.mrr@5"} <= names
    hit = _search(state, "docs", "minimum password length")[0]
    assert hit.doc_id == "security/passwords.md" and hit.version == first["version"]

    # unchanged source: a no-op, same version, nothing embedded, no new collection
    res = resources(load_settings(home=state))
    collections = res.store.collections()
    again = sync(source=str(corpus), alias="docs", golden=str(golden), state_dir=state)
    assert (again["action"], again["version"], again["live"]) == ("unchanged", first["version"], first["version"])
    assert "nothing embedded, no new collection" in again["reason"]
    assert res.store.collections() == collections

    # one file changes: a second version is built from the cache plus that file, and promoted
    (corpus / "product/routing-faq.md").write_text(
        "# Routing FAQ\n\nThe route optimiser recalculates delivery routes every 5 minutes during peak hours.\n")
    second = sync(source=str(corpus), alias="docs", golden=str(golden), state_dir=state)
    assert second["action"] == "promoted" and second["version"] != first["version"]
    manifest = res.registry.load("docs", second["version"])
    assert manifest.embedding["embedded"] == 1 and manifest.embedding["reused"] == manifest.counts["chunks"] - 1
    assert manifest.history[-1].from_version == first["version"]
    hit = _search(state, "docs", "how often are routes recalculated")[0]
    assert hit.version == second["version"] and "every 5 minutes" in hit.text

    # rollback returns the alias to the first version, and search shows it
    event = rollback(alias="docs", state_dir=state)
    assert (event["from_version"], event["to_version"]) == (second["version"], first["version"])
    hit = _search(state, "docs", "how often are routes recalculated")[0]
    assert hit.version == first["version"] and "every 15 minutes" in hit.text

    # each sync published a Markdown artifact with the decision and its reason
    published = [a for a in artifacts("indexgate-sync-docs") if a.id not in earlier]
    # One per sync's flow run. (Once, at load, with the harness's SQLite locked for a minute, it
    # listed 4 artifacts for these 3 syncs.)
    assert len({a.flow_run_id for a in published}) == 3
    assert all("**Decision:" in a.data and "Reason:" in a.data for a in published)
    assert any("promoted" in a.data and "span_recall" in a.data for a in published)


def test_impossible_threshold_keeps_the_live_version(corpus, golden, state, tmp_path):
    first = sync(source=str(corpus), alias="kb", golden=str(golden), state_dir=state)
    assert first["action"] == "promoted"
    # (still longer than the golden span into it: a span past its document's end is an error)
    (corpus / "ops/backups.md").write_text("# Backup runbook\n\nBackups now run twice a day, at 02:00 and 14:00 UTC,"
                                           " and are kept for 35 days in both regions.\n")
    strict = tmp_path / "strict.yaml"
    strict.write_text("gates:\n  min_span_precision: 1.0\n")
    second = sync(source=str(corpus), alias="kb", golden=str(golden), config=str(strict), state_dir=state)
    assert second["action"] == "rejected" and second["live"] == first["version"]
    assert "relevance.span_precision@5" in second["reason"] and "needs 1.0" in second["reason"]
    res = resources(load_settings(home=state))
    assert res.store.alias_target("kb") == f"kb__{first['version']}"
    manifest = res.registry.load("kb", second["version"])
    assert manifest.state == "rejected"
    assert manifest.decision["action"] == "rejected" and "span_precision" in manifest.decision["reason"]
    assert res.registry.load("kb", first["version"]).state == "live"


def test_a_refused_artifact_write_fails_the_run_once_its_version_is_live(corpus, state, artifacts, monkeypatch):
    def refuse(**_):
        raise RuntimeError("the API refused the sync's Markdown artifact")

    monkeypatch.setattr(indexgate_tasks.report, "create_markdown_artifact", refuse)
    with pytest.raises(RuntimeError, match="refused the sync's Markdown artifact"):
        sync(source=str(corpus), alias="refused", state_dir=state)
    # The flow waits for its artifacts at its very end: the version was promoted and gc ran first,
    # and the writes handed off after the refused one were still made.
    res = resources(load_settings(home=state))
    [manifest] = res.registry.versions("refused")
    assert manifest.state == "live" and res.store.alias_target("refused") == manifest.collection
    assert len(artifacts("indexgate-gates-refused")) == 1 and len(artifacts("indexgate-report-refused")) == 1
