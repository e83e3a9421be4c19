"""Issue 19, item 3: one oversized document (a huge HTML page) is quarantined at parse time
(kind ``too_large``) and the rest of the version goes on; it no longer fails the version's
document-size gate and blocks every other update."""

from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import run_sync


def test_an_oversized_document_is_quarantined_and_the_rest_is_promoted(tmp_path, write_corpus):
    settings = load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"},
                             gates={"quality": {"max_document_chars": 5000}, "max_quarantine_share": 0.5})
    res = resources(settings)
    page = "<html><body>" + "<p>Row of a very long generated table.</p>" * 2000 + "</body></html>"
    root = write_corpus({"a.txt": "Backups run nightly at two.\n", "b.md": "# Leave\n\n28 days a year.\n",
                         "c.txt": "The VPN needs a hardware key.\n", "huge.html": page})
    plan, outcome = run_sync(res, "docs", root)
    manifest = res.registry.load("docs", plan.version)
    assert manifest.counts["documents"] == 3
    [entry] = manifest.quarantined
    assert entry["doc_id"] == "huge.html" and entry["kind"] == "too_large"
    assert entry["reason"].startswith("document over the size limit: ")
    assert entry["reason"].endswith("characters of text > gates.quality.max_document_chars 5,000")
    size_gate = next(g for g in outcome.gates if g["name"] == "quality.documents.size_bounds")
    assert size_gate["passed"]  # the page is not in the version to fail it
    assert outcome.action == "promoted", outcome.reason
