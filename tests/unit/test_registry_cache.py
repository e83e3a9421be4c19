"""The registry parses each state of a manifest file once per process, and never hands out a
stale or shared manifest."""

import json
import os
import subprocess
import sys

from indexgate.lifecycle import registry as registry_module
from indexgate.lifecycle.registry import Event, Manifest, Registry


def _manifest(n_docs: int = 3, version: str = "v1") -> Manifest:
    return Manifest(alias="docs", version=version, collection=f"docs__{version}", source="s", snapshot_hash="h",
                    chunker={}, embedder={},
                    documents=[{"doc_id": f"d{i}", "content_hash": "x", "groups": ["g"]} for i in range(n_docs)])


def _parses() -> int:
    return registry_module._parsed.parses


def test_a_save_then_loads_parse_nothing(tmp_path):
    registry = Registry(tmp_path)
    registry.save(_manifest())
    before = _parses()
    for _ in range(5):
        assert [d["doc_id"] for d in registry.load("docs", "v1").documents] == ["d0", "d1", "d2"]
    assert _parses() == before


def test_load_then_save_then_load_parses_once(tmp_path):
    registry = Registry(tmp_path)
    (registry.version_dir("docs", "v1")).mkdir(parents=True)
    (registry.version_dir("docs", "v1") / "manifest.json").write_text(_manifest().model_dump_json(), "utf-8")
    before = _parses()
    manifest = registry.load("docs", "v1")
    manifest.counts = {**manifest.counts, "chunks": 7}
    registry.save(manifest)
    again = registry.load("docs", "v1")
    assert _parses() == before + 1
    assert again.counts == {"chunks": 7} and len(again.documents) == 3


def test_another_process_writing_the_file_is_seen(tmp_path):
    registry = Registry(tmp_path)
    registry.save(_manifest())
    assert registry.load("docs", "v1").state == "building"
    # Another process saves the same size of file within the same second: a new file state all the same.
    code = ("import sys; from indexgate.lifecycle.registry import Registry; r = Registry(sys.argv[1]);"
            " m = r.load('docs', 'v1'); m.state = 'rejected'; r.save(m)")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, env={**os.environ})
    assert registry.load("docs", "v1").state == "rejected"


def test_a_file_replaced_by_hand_is_seen(tmp_path):
    registry = Registry(tmp_path)
    registry.save(_manifest())
    registry.load("docs", "v1")
    path = registry.version_dir("docs", "v1") / "manifest.json"
    data = json.loads(path.read_text("utf-8"))
    data["state"] = "built"
    tmp = path.with_name("edited.json")
    tmp.write_text(json.dumps(data), "utf-8")
    tmp.replace(path)
    assert registry.load("docs", "v1").state == "built"


def test_a_file_changed_in_place_with_its_size_and_times_kept_is_seen(tmp_path):
    """Same inode, same size, same modification time: only the bytes tell the change."""
    registry = Registry(tmp_path)
    registry.save(_manifest())
    assert registry.load("docs", "v1").state == "building"
    path = registry.version_dir("docs", "v1") / "manifest.json"
    before = os.stat(path)
    data = path.read_bytes()
    edited = data.replace(b'"state": "building"', b'"state": "rejected"')
    assert len(edited) == len(data) and edited != data
    with open(path, "r+b") as fh:
        fh.write(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(path)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert registry.load("docs", "v1").state == "rejected"


def test_a_removed_manifest_is_none(tmp_path):
    registry = Registry(tmp_path)
    registry.save(_manifest())
    registry.load("docs", "v1")
    (registry.version_dir("docs", "v1") / "manifest.json").unlink()
    assert registry.load("docs", "v1") is None


def test_changes_to_a_loaded_manifest_reach_no_other_load(tmp_path):
    registry = Registry(tmp_path)
    registry.save(_manifest())
    first = registry.load("docs", "v1")
    first.history.append(Event(action="promote", alias="docs", from_version=None, to_version="v1", by="t"))
    first.documents.append({"doc_id": "extra"})
    first.timings["x"] = 1.0
    first.state = "live"
    second = registry.load("docs", "v1")
    assert second.history == [] and len(second.documents) == 3 and second.timings == {}
    assert second.state == "building"


def test_changes_after_a_save_reach_no_later_load(tmp_path):
    registry = Registry(tmp_path)
    manifest = _manifest()
    registry.save(manifest)
    manifest.documents.append({"doc_id": "not saved"})
    manifest.counts["not"] = 1
    loaded = registry.load("docs", "v1")
    assert len(loaded.documents) == 3 and loaded.counts == {}


def test_what_a_save_keeps_is_what_the_file_parses_to(tmp_path):
    """A value the JSON turns into another type (a tuple into a list) is kept as the file holds it."""
    registry = Registry(tmp_path)
    manifest = _manifest()
    manifest.documents = [{"doc_id": "d", "groups": ("a", "b")}]
    manifest.quality = {"pair": (1, 2)}
    registry.save(manifest)
    loaded = registry.load("docs", "v1")
    assert loaded.documents == [{"doc_id": "d", "groups": ["a", "b"]}] and loaded.quality == {"pair": [1, 2]}
    assert loaded.model_dump() == Manifest.model_validate_json(
        (registry.version_dir("docs", "v1") / "manifest.json").read_bytes()).model_dump()


def test_the_cache_is_bounded(tmp_path):
    registry = Registry(tmp_path)
    for i in range(10):
        registry.save(_manifest(version=f"v{i}"))
    assert len(registry_module._parsed.entries) <= registry_module._parsed.keep
    assert [m.version for m in registry.versions("docs")] == [f"v{i}" for i in range(10)]


def test_new_documents_are_written_and_kept(tmp_path):
    registry = Registry(tmp_path)
    registry.save(_manifest())
    manifest = registry.load("docs", "v1")
    manifest.documents = [*manifest.documents[:2], {"doc_id": "new", "groups": []}]
    registry.save(manifest)
    path = registry.version_dir("docs", "v1") / "manifest.json"
    on_disk = json.loads(path.read_text("utf-8"))
    assert [d["doc_id"] for d in on_disk["documents"]] == ["d0", "d1", "new"]
    assert registry.load("docs", "v1").model_dump() == Manifest.model_validate_json(path.read_bytes()).model_dump()
    assert len(path.read_text("utf-8").splitlines()) > 10  # indented: one document a line


def test_saves_of_the_same_documents_encode_them_once(tmp_path, monkeypatch):
    registry = Registry(tmp_path)
    registry.save(_manifest(n_docs=50))
    encoded = []
    real = registry_module._documents_json
    monkeypatch.setattr(registry_module, "_documents_json", lambda docs: encoded.append(len(docs)) or real(docs))
    for i in range(3):
        manifest = registry.load("docs", "v1")
        manifest.timings = {**manifest.timings, f"step{i}_s": 1.0}
        registry.save(manifest)
    assert encoded == []
    assert registry.load("docs", "v1").timings == {"step0_s": 1.0, "step1_s": 1.0, "step2_s": 1.0}
