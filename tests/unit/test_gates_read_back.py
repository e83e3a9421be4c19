"""The stored gates' readers do per document what is the same for each of its points, and keep
the keys and verdicts they always gave."""

import hashlib

from indexgate.gates import PAYLOAD_SCHEMA, GuardrailsReader, IntegrityReader
from indexgate.guardrails import GuardrailsPolicy
from indexgate.guardrails import memo
from indexgate.guardrails.memo import NewKeys


def test_a_key_is_the_digest_it_always_was():
    """Keys saved by an earlier release's gate stay valid: the same bytes go into the digest."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{memo.detectors_fingerprint()}\0US\0email,phone\0".encode())
    digest.update("Backups run nightly.".encode())
    assert memo.scan_key("Backups run nightly.", ("email", "phone"), "US") == digest.digest()
    assert memo.scan_keyer(("email", "phone"), "US")("Backups run nightly.") == digest.digest()


def test_path_rules_are_read_once_per_document(monkeypatch):
    policy = GuardrailsPolicy(paths=({"glob": "public/*", "actions": {"email": "allow"}},))
    calls = []
    real = GuardrailsPolicy.actions_for
    monkeypatch.setattr(GuardrailsPolicy, "actions_for", lambda self, path: calls.append(path) or real(self, path))
    reader = GuardrailsReader(policy, found_clean=NewKeys())
    for i in range(6):
        reader.add(f"p{i}", {"doc_id": f"public/d{i % 2}.md", "text": f"chunk {i}", "section": None})
    reader.add("p6", {"doc_id": "private/d.md", "text": "write to a@example.com", "section": None})
    assert sorted(calls) == ["private/d.md", "public/d0.md", "public/d1.md"]
    gate = reader.result()
    assert not gate.passed and gate.value == 1 and len(reader.found_clean) == 6


def test_the_fast_schema_path_passes_only_what_the_full_check_passes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from indexgate.store import connect

    store = connect(path=tmp_path / "q")
    store.create("c", 2)
    chunks = tmp_path / "chunks.parquet"
    pq.write_table(pa.table({"point_id": ["p"], "chunk_id": ["c1"]}), chunks)
    good = {"doc_id": "d", "chunk_id": "c1", "start": 0, "end": 1, "text": "t", "n_tokens": 1, "version": "v"}
    assert set(good) == set(PAYLOAD_SCHEMA)
    for payload, problem in ((good, ""), ({**good, "start": True}, "'start' is bool, not int"),
                             ({**good, "end": 1.0}, "'end' is float, not int"), ({**good, "version": "w"}, "not 'v'"),
                             ({k: v for k, v in good.items() if k != "text"}, "no 'text'")):
        reader = IntegrityReader(store, "c", chunks, 2, version="v")
        reader.add("p", payload)
        assert (reader.invalid, problem in reader.first_problem) == (int(bool(problem)), True)


def test_every_point_reaches_every_reader_once_across_pages(tmp_path):
    import numpy as np

    from indexgate.gates import read_back
    from indexgate.store import connect

    class Seen:
        fields = ("doc_id",)

        def __init__(self):
            self.ids = []

        def add(self, pid, payload):
            self.ids.append((pid, payload["doc_id"]))

        def result(self):
            return sorted(self.ids)

    store = connect(path=tmp_path / "q")
    store.create("c", 2)
    ids = [f"00000000-0000-0000-0000-{i:012d}" for i in range(1, 1101)]
    store.upsert("c", ids, np.ones((len(ids), 2), np.float32), [{"doc_id": f"d{i}"} for i in range(len(ids))])
    seconds: dict = {}
    first, second = read_back(store, "c", [Seen(), Seen()], seconds, page=512)
    assert first == second == sorted((pid, f"d{i}") for i, pid in enumerate(ids))
    assert set(seconds) == {0, 1, "read"}
