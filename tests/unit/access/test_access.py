"""Access labels (issue 23): labelled from rules, sidecars and S3 tags; written into every point;
re-labelled without embedding; every read path filtered by the caller's groups."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from indexgate import resources
from indexgate.access import PUBLIC, caller_groups, label_snapshot, rule_groups
from indexgate.cli import main
from indexgate.serving import Index
from indexgate.serving.http import GROUPS_HEADER, create_app
from indexgate.settings import AccessRule, S3Config, SourceConfig, load_settings
from indexgate.sync import run_sync
from indexgate.sources import S3Source

# Three groups' documents; one for two groups; one public.
DOCS = {
    "hr/leave.md": "Birth parents receive 20 weeks of paid leave; partners receive 10 weeks.\n",
    "hr/payroll/salaries.md": "Salaries are paid on the 25th of each month by bank transfer.\n",
    "board/minutes.md": "The board approved the merger with Acme at its March meeting.\n",
    "eng/backups.md": "Backups run every night at 02:00 UTC and are kept for 35 days.\n",
    "eng/passwords.md": "Passwords must be at least 14 characters long.\n",
    "handbook.md": "Welcome to the company. Office hours are nine to five.\n",
}
ACCESS = {"default": "deny", "rules": [
    {"path": "hr/**", "groups": ["hr"]},
    {"path": "hr/payroll/**", "groups": ["payroll"]},
    {"path": "board/**", "groups": ["board", "exec"]},
    {"path": "eng/**", "groups": ["eng"]},
    {"path": "handbook.md", "groups": ["everyone"]},
]}
EXPECTED = {"hr/leave.md": ["hr"], "hr/payroll/salaries.md": ["payroll"], "board/minutes.md": ["board", "exec"],
            "eng/backups.md": ["eng"], "eng/passwords.md": ["eng"], "handbook.md": ["everyone"]}
GROUPS = ["hr", "payroll", "board", "exec", "eng", "everyone", "nobody"]


def _settings(tmp_path, access=ACCESS, **extra):
    return load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"},
                         access=access, **extra)


def _stored_groups(res, plan) -> dict[str, list[str]]:
    return {p["doc_id"]: sorted(p["groups"]) for _, p in res.store.iter_payloads(plan.collection, ["doc_id", "groups"])}


def test_the_most_specific_rule_wins_whatever_the_order():
    rules = [AccessRule(path="hr/payroll/**", groups=("payroll",)), AccessRule(path="hr/**", groups=("hr",))]
    assert rule_groups("hr/payroll/x.md", rules) == ("payroll",)
    assert rule_groups("hr/payroll/x.md", rules[::-1]) == ("payroll",)
    assert rule_groups("hr/x.md", rules) == ("hr",)
    assert rule_groups("eng/x.md", rules) is None


def test_no_access_section_labels_everything_public_and_every_caller_reads_it(fake_settings):
    assert caller_groups(fake_settings, None) == (PUBLIC,)
    assert caller_groups(fake_settings.model_copy(update={"access": _access()}), None) == ()


def _access(**kw):
    from indexgate.settings import AccessConfig
    return AccessConfig(**{**ACCESS, **kw})


def test_every_point_carries_its_documents_groups_and_the_gate_reads_them_back(tmp_path, write_corpus):
    res = resources.resources(_settings(tmp_path))
    plan, outcome = run_sync(res, "docs", write_corpus(DOCS))
    assert outcome.action == "promoted", outcome.reason
    assert _stored_groups(res, plan) == EXPECTED
    gate = next(g for g in outcome.gates if g["name"] == "integrity.access_labels")
    assert gate["passed"]
    # A point re-labelled behind the pipeline's back fails the gate (it reads the store).
    from indexgate.gates import access_labels
    pid = next(pid for pid, p in res.store.iter_payloads(plan.collection, ["doc_id"]) if p["doc_id"] == "hr/leave.md")
    res.store.set_payload(plan.collection, [pid], {"groups": ["everyone"]})
    manifest = res.registry.load("docs", plan.version)
    assert not access_labels(res.store, plan.collection, manifest.documents).passed


def test_unlabelled_documents_fail_the_gate_unless_allowed(tmp_path, write_corpus):
    root = write_corpus({**DOCS, "misc/stray.md": "A stray note nobody labelled.\n"})
    res = resources.resources(_settings(tmp_path))
    _, outcome = run_sync(res, "docs", root)
    assert outcome.action == "rejected"
    assert "misc/stray.md" in next(g for g in outcome.gates if g["name"] == "integrity.access_labels")["detail"]
    resources.reset()
    res = resources.resources(_settings(tmp_path / "2", access={**ACCESS, "allow_unlabelled": True}))
    plan, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted", outcome.reason
    assert _stored_groups(res, plan)["misc/stray.md"] == []
    # ...and no caller but an administrator reads it.
    with Index("docs", res.settings, res.store, res.registry) as index:
        for group in GROUPS:
            assert "misc/stray.md" not in {h.doc_id for h in index.search("stray note", 10, groups=[group]).hits}
        assert "misc/stray.md" in {h.doc_id for h in index.search("stray note", 10, unfiltered=True).hits}


def test_a_label_change_alone_relabels_without_embedding_or_chunking(tmp_path, write_corpus):
    root = write_corpus(DOCS)
    res = resources.resources(_settings(tmp_path))
    first, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted"
    calls = res.embedder.calls
    resources.reset()
    moved = {**ACCESS, "rules": [*ACCESS["rules"][:3], {"path": "eng/**", "groups": ["eng", "ops"]},
                                 ACCESS["rules"][4]]}
    res = resources.resources(_settings(tmp_path, access=moved))
    before = res.embedder.calls  # the process may share one embedder between resources
    second, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted", outcome.reason
    assert second.version != first.version
    assert second.changes["relabelled"] == 2 and second.changes["changed"] == 0
    assert second.changes["unchanged"] == len(DOCS) - 2
    assert res.embedder.calls == before, "a label change must not call the embedder"
    manifest = res.registry.load("docs", second.version)
    assert manifest.changes["documents_parsed"] == 0
    assert manifest.changes["chunks_carried"] == manifest.counts["chunks"]
    assert _stored_groups(res, second)["eng/backups.md"] == ["eng", "ops"]
    assert calls > 0  # the first build did embed: the count is live


def test_a_malformed_sidecar_quarantines_its_document_never_serves_it(tmp_path, write_corpus):
    root = write_corpus({**DOCS, "hr/secret.md": "The CEO's salary is confidential.\n",
                         "hr/secret.md.access.yaml": "groups: [hr\n",  # broken YAML
                         "eng/open.md": "The build runs on every push.\n",
                         "eng/open.md.access.yaml": "groups: [eng, everyone]\n"})
    res = resources.resources(_settings(tmp_path, access={**ACCESS, "sources": ["rules", "sidecar"]},
                                        gates={"max_quarantine_share": 0.5}))
    plan, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted", outcome.reason
    manifest = res.registry.load("docs", plan.version)
    (entry,) = [q for q in manifest.quarantined if q["doc_id"] == "hr/secret.md"]
    assert entry["kind"] == "access" and "malformed access sidecar hr/secret.md.access.yaml" in entry["reason"]
    stored = _stored_groups(res, plan)
    assert "hr/secret.md" not in stored
    assert not any(d.endswith(".access.yaml") for d in stored)  # sidecars are not documents
    assert stored["eng/open.md"] == ["eng", "everyone"]  # a sidecar beats the rule


def test_s3_object_tags_label_documents(tmp_path, s3_server):
    import uuid

    bucket = s3_server.bucket({"docs/hr/leave.md": DOCS["hr/leave.md"].encode(),
                               "docs/eng/backups.md": DOCS["eng/backups.md"].encode()})
    s3_server.client().put_object_tagging(Bucket=bucket, Key="docs/hr/leave.md",
                                          Tagging={"TagSet": [{"Key": "groups", "Value": "hr exec"}]})
    allowed = ["s3:ListBucket", "s3:GetObject", "s3:GetObjectTagging"]
    tagger = s3_server.user(f"tags-{uuid.uuid4().hex[:8]}", [
        {"Effect": "Allow", "Action": allowed, "Resource": ["arn:aws:s3:::*", "arn:aws:s3:::*/*"]}])
    uri = f"s3://{bucket}/docs/"

    def labelled(keys):
        config = SourceConfig(s3=S3Config(endpoint_url=s3_server.endpoint, region="us-east-1", max_attempts=1))
        opened = S3Source(uri, config, session=s3_server.session(keys))
        return label_snapshot(opened.snapshot(), opened, _access(sources=("s3_tags", "rules")))

    snap = labelled(tagger)
    # The tag labels its object; the untagged one falls back to the rules.
    assert {o.doc_id: o.groups for o in snap.objects} == {"hr/leave.md": ("exec", "hr"), "eng/backups.md": ("eng",)}
    # Keys that may not read tags: every object is refused with the reason, never labelled by a rule.
    snap = labelled(s3_server.reader_keys)
    assert snap.objects == ()
    assert {q.kind for q in snap.refused} == {"access"}
    assert all("cannot read the tags of s3://" in q.reason for q in snap.refused)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One promoted version of the three groups' corpus, and the settings that built it."""
    tmp = tmp_path_factory.mktemp("served")
    root = tmp / "corpus"
    for rel, text in DOCS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    settings = _settings(tmp)
    res = resources.resources(settings)
    plan, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted", outcome.reason
    resources.reset()
    return settings


def _allowed(groups) -> set[str]:
    return {d for d, g in EXPECTED.items() if set(g) & set(groups)}


QUERIES = st.one_of(st.sampled_from(["paid leave", "salary day", "merger", "backups at night", "password length",
                                     "office hours"]),
                    st.text(min_size=1, max_size=40).filter(lambda t: t.strip() and not t.startswith("-")))
# Known groups and made-up ones (which read nothing).
CALLERS = st.lists(st.one_of(st.sampled_from(GROUPS), st.text("abchrx", min_size=1, max_size=5)),
                   max_size=3, unique=True)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=CALLERS, query=QUERIES)
def test_no_hit_is_outside_the_callers_groups_python_and_http(served, groups, query):
    with Index.open("docs", served) as index:
        hits = {h.doc_id for h in index.search(query, 10, groups=groups).hits}
        assert hits == _allowed(groups)  # k covers the corpus: exactly what the groups may read
        client = TestClient(create_app(index))
        headers = {GROUPS_HEADER: ",".join(groups)} if groups else {}
        body = client.post("/search", json={"query": query, "k": 10}, headers=headers).json()
        assert {h["doc_id"] for h in body["hits"]} == _allowed(groups)
        got = client.get("/search", params={"q": query, "k": 10}, headers=headers).json()
        assert {h["doc_id"] for h in got["hits"]} == _allowed(groups)


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=CALLERS, query=QUERIES)
def test_no_hit_is_outside_the_callers_groups_cli(served, groups, query, capsys, monkeypatch, tmp_path_factory):
    import json

    import yaml
    config = tmp_path_factory.mktemp("cfg") / "indexgate.yaml"
    config.write_text(yaml.safe_dump({"access": ACCESS, "embedder": {"kind": "fake", "model": "fake"}}))
    argv = ["search", "--alias", "docs", query, "-k", "10", "--json", "--state-dir", str(served.home),
            "--config", str(config)]
    if groups:
        argv += ["--as", ",".join(groups)]
    capsys.readouterr()
    assert main(argv) == 0
    hits = {h["doc_id"] for h in json.loads(capsys.readouterr().out)["hits"]}
    assert hits == _allowed(groups)


def test_a_caller_with_no_groups_gets_nothing_and_unfiltered_is_explicit(served):
    with Index.open("docs", served) as index:
        assert index.search("paid leave", 10).hits == ()
        assert index.search("paid leave", 10, groups=[]).hits == ()
        assert {h.doc_id for h in index.search("paid leave", 10, unfiltered=True).hits} == set(DOCS)


def _golden(path, rows):
    import json
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def _span(doc, quote):
    return {"doc_id": doc, "start": DOCS[doc].index(quote), "end": DOCS[doc].index(quote) + len(quote)}


def test_golden_queries_are_scored_under_their_groups_and_the_audit_flags_unreadable_evidence(served, tmp_path):
    from indexgate.access import unreadable_evidence
    from indexgate.evaluation import SpanIndex, evaluate, load_golden

    res = resources.resources(served)
    alias_target = res.store.alias_target("docs")
    version = alias_target.split("__")[-1]
    manifest = res.registry.load("docs", version)
    spans = SpanIndex.from_parquet(res.registry.version_dir("docs", version) / "chunks.parquet")
    leave = _span("hr/leave.md", "20 weeks of paid leave")
    queries = load_golden(_golden(tmp_path / "g.jsonl", [
        {"query_id": "as-hr", "query": "paid leave", "groups": ["hr"], "relevant": [leave]},
        {"query_id": "as-eng", "query": "paid leave", "groups": ["eng"], "relevant": [leave]},
        {"query_id": "no-groups", "query": "paid leave", "relevant": [leave]}]))
    result = evaluate(res.store, alias_target, res.embedder, queries, 3, spans, groups=())
    recall = {row["query_id"]: row["span_recall"] for row in result.per_query}
    assert recall["as-hr"] > 0 and recall["as-eng"] == 0 and recall["no-groups"] == 0
    flagged = unreadable_evidence(queries, manifest.documents, ())
    assert [(f["query_id"], f["doc_id"]) for f in flagged] == [("as-eng", "hr/leave.md"), ("no-groups", "hr/leave.md")]


def test_the_smoke_check_asks_as_each_chunks_groups_and_the_report_counts_groups(served, tmp_path):
    from indexgate.lifecycle import smoke
    from indexgate.reporting.html_report import build_report

    res = resources.resources(served)
    version = res.store.alias_target("docs").split("__")[-1]
    result = smoke.check(res, "docs", version)
    assert result.passed, result.failures
    manifest = res.registry.load("docs", version)
    counts = manifest.quality["access_groups"]
    assert counts["eng"] == {"documents": 2, "chunks": 2} and counts["board"]["documents"] == 1
    html = build_report(res.registry, "docs", version, served.report)[0].read_text()
    assert "Access groups" in html and "payroll" in html


def test_the_run_summary_shows_relabelled_documents():
    from indexgate.reporting import summary

    changes = {"base": "v1", "added": 0, "changed": 0, "relabelled": 2, "unchanged": 4, "deleted": 0}
    assert summary.changes_text(changes) == (
        "documents added 0, changed 0, relabelled 2, unchanged 4, deleted 0 (against v1)")


def test_without_an_access_section_every_document_is_public_and_a_caller_without_groups_reads_it(
        fake_settings, write_corpus, capsys):
    import json

    res = resources.resources(fake_settings)
    plan, outcome = run_sync(res, "docs", write_corpus(DOCS))
    assert outcome.action == "promoted", outcome.reason
    assert set(map(tuple, _stored_groups(res, plan).values())) == {(PUBLIC,)}
    resources.reset()
    argv = ["search", "--alias", "docs", "paid leave", "-k", "10", "--json", "--state-dir", str(fake_settings.home)]
    capsys.readouterr()
    assert main([*argv, "--config", _fake_config(fake_settings.home)]) == 0
    assert {h["doc_id"] for h in json.loads(capsys.readouterr().out)["hits"]} == set(DOCS)
    assert main([*argv, "--config", _fake_config(fake_settings.home), "--as", "hr", "--all-groups"]) == 2
    assert "--as and --all-groups exclude each other" in capsys.readouterr().err


def _fake_config(home) -> str:
    import yaml
    path = home.parent / "fake.yaml"
    path.write_text(yaml.safe_dump({"embedder": {"kind": "fake", "model": "fake"}}))
    return str(path)


def test_bad_access_config_and_golden_groups_are_one_line_errors(tmp_path):
    from indexgate.errors import ConfigError, GoldenSetError
    from indexgate.evaluation import load_golden

    with pytest.raises(ConfigError, match="access.rules.0.groups"):
        _settings(tmp_path, access={"rules": [{"path": "hr/**", "groups": []}]})
    with pytest.raises(ConfigError, match="access.sources"):
        _settings(tmp_path, access={"sources": ["ldap"]})
    bad = _golden(tmp_path / "g.jsonl", [{"query_id": "q", "query": "x", "groups": "hr",
                                          "relevant": [_span("hr/leave.md", "20 weeks")]}])
    with pytest.raises(GoldenSetError, match=r"g.jsonl:1: 'groups' must be a list of group names"):
        load_golden(bad)
