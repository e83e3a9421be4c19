"""The HTML data-quality report, built from a version's manifest (fake embedder, no Prefect)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from indexgate.cli import EXIT_ERROR, EXIT_OK, main
from indexgate.lifecycle.promotion import rollback
from indexgate.reporting.html_report import document_changes
from indexgate.reporting.html_report import build_report
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import run_sync

DOCS = {
    "hr/leave.md": "# Leave\n\nEmployees get 28 days of paid leave per year, booked in the portal.\n",
    "ops/backup.txt": "Backups run nightly at 02:00 UTC and are kept for 35 days.\n",
    "it/laptops.md": "Laptops are replaced every four years by the service desk.\n",
}
GOLDEN = [("q1", "paid leave days per year", "hr/leave.md", "28 days of paid leave"),
          ("q2", "when do backups run", "ops/backup.txt", "nightly at 02:00 UTC")]


def _sync_with_report(settings, root, golden):
    """A sync through the library's runner, then the HTML report the flow's report step writes."""
    res = resources(settings)
    plan, outcome = run_sync(res, "kb", root, golden)
    build_report(res.registry, "kb", plan.version, settings.report)
    return plan, outcome


@pytest.fixture
def two_versions(tmp_path, write_corpus):
    """A live version, then a second one with one document changed, one deleted, one added and a
    binary file quarantined; prices at 2 USD per million tokens."""
    root = write_corpus(DOCS)
    golden = tmp_path / "golden.jsonl"
    golden.write_text("".join(json.dumps({"query_id": q, "query": text, "relevant": [
        {"doc_id": d, "start": DOCS[d].index(e), "end": DOCS[d].index(e) + len(e)}]}) + "\n"
        for q, text, d, e in GOLDEN))
    # One of the second version's four files is quarantined on purpose: the share gate must allow it.
    settings = load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"},
                             report={"price_per_million_tokens": 2.0}, gates={"max_quarantine_share": 0.5})
    first, _ = _sync_with_report(settings, root, golden)
    (root / "it/laptops.md").unlink()
    (root / "ops/backup.txt").write_text("Backups run nightly at 02:00 UTC and are kept for 90 days.\n")
    (root / "fin/expenses.md").parent.mkdir()
    (root / "fin/expenses.md").write_text("Expenses are filed within 30 days.\n")
    (root / "blob.txt").write_bytes(b"\x00\x01binary")
    second, outcome = _sync_with_report(settings, root, golden)
    assert outcome.action == "promoted", outcome.reason
    return settings, first, second, outcome


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links = set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a":
            self.links.append(attrs.get("href"))


def test_report_shows_gates_deltas_changes_cost_and_links_data_docs(two_versions):
    settings, first, second, outcome = two_versions
    registry = resources(settings).registry
    path = registry.version_dir("kb", second.version) / "report.html"
    assert path.is_file()  # written by the sync's report step
    html = path.read_text()
    parser = _Ids()
    parser.feed(html)
    assert {"gate-table", "metric-table", "metric-chart", "chunk-histogram", "quarantine-table",
            "embedding-table", "quality-table", "data-docs-link"} <= parser.ids
    for gate in outcome.gates:
        assert f"<td>{gate['name']}</td>" in html
    assert "<td>blob.txt</td>" in html and "binary content" in html
    # changes are of the source: the quarantined file was added to it too
    assert re.search(r"2 added, 1 changed, 1 deleted", html)
    assert "<code>fin/expenses.md</code>" in html and "<code>it/laptops.md</code>" in html
    manifest = registry.load("kb", second.version)
    tokens = manifest.embedding["tokens_embedded"]
    assert tokens > 0 and f"${tokens * 2.0 / 1e6:.6f} at $2 per million tokens" in html
    assert f"live ({first.version})" in html and 'fill="#8a94a6"' in html and 'fill="#2f6fdf"' in html
    [docs_link] = [h for h in parser.links if "data_docs" in h]
    assert (path.parent / docs_link).is_file()


def test_report_is_rebuilt_from_the_manifest(two_versions, capsys):
    settings, first, second, _ = two_versions
    registry = resources(settings).registry
    path = registry.version_dir("kb", first.version) / "report.html"
    path.unlink()
    assert main(["report", "--alias", "kb", "--version", first.version, "--state-dir", str(settings.home)]) == EXIT_OK
    assert capsys.readouterr().out.strip() == str(path) and path.is_file()
    assert "first version of this alias" in path.read_text()
    # default: the live version; --json carries the gates and the data behind the page
    assert [registry.load("kb", v.version).state for v in (first, second)] == ["retired", "live"]
    assert main(["report", "--alias", "kb", "--state-dir", str(settings.home), "--json"]) == EXIT_OK
    data = json.loads(capsys.readouterr().out)
    assert data["version"] == second.version
    assert data["report"].endswith("report.html") and Path(data["data_docs"]).is_file()
    assert {g["result"] for g in data["gates"]} <= {"pass", "warn", "FAIL"}
    # rolled back: the live version is the older one, not the newest
    res = resources(settings)
    rollback(res.store, registry, "kb", to=first.version, by="test")
    assert main(["report", "--alias", "kb", "--state-dir", str(settings.home), "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["version"] == first.version
    assert main(["report", "--alias", "kb", "--version", "nope", "--state-dir", str(settings.home)]) == EXIT_ERROR
    assert "no version 'nope'" in capsys.readouterr().err


def test_document_changes():
    before = [{"doc_id": "a", "content_hash": "1"}, {"doc_id": "b", "content_hash": "2"}]
    after = [{"doc_id": "b", "content_hash": "3"}, {"doc_id": "c", "content_hash": "4"}]
    assert document_changes(before, after) == {"added": ["c"], "deleted": ["a"], "changed": ["b"]}
    assert document_changes(None, after)["added"] == ["b", "c"]
