"""Each data-quality expectation passes on good data and fails on data built to break it."""

from __future__ import annotations

import numpy as np
import pytest

from indexgate.hashing import sha256_text
from indexgate.quality import validate_version
from indexgate.settings import QualityConfig


def _validate(version, cache, config=QualityConfig(), dimension=16):
    result = validate_version(version.documents_path, version.chunks_path, cache, dimension=dimension,
                              normalized=True, max_tokens=8, config=config, folder=version.folder)
    return result, {c.gate for c in result.checks if not c.success}


def test_an_empty_version_of_an_empty_source_passes(version):
    _docs_empty(version)
    cache = version.write()
    result = validate_version(version.documents_path, version.chunks_path, cache, dimension=16, normalized=True,
                              max_tokens=8, config=QualityConfig(), folder=version.folder, source_empty=True)
    assert [c.gate for c in result.checks if not c.success] == []
    assert "quality.chunks.duplicate_share" not in {c.gate for c in result.checks}


def test_good_version_passes_every_expectation_and_writes_data_docs(version):
    result, failed = _validate(version, version.write())
    assert failed == set()
    assert {c.suite for c in result.checks} == {"documents", "chunks", "embeddings"}
    assert len(result.checks) == 15
    page = version.folder / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    assert result.data_docs == str(page) and page.is_file()
    assert "chunks" in page.read_text() and "embeddings" in page.read_text()
    # Built once, after every suite ran: a validation page per suite, each linked from the index.
    pages = sorted(page.parent.glob("validations/*/*/*/*.html"))
    assert sorted(p.relative_to(page.parent / "validations").parts[0] for p in pages) == ["chunks", "documents",
                                                                                         "embeddings"]
    assert all(str(p.relative_to(page.parent)) in page.read_text() for p in pages)


def _set_text(row, text):
    row.update(text=text, text_hash=sha256_text(text))


def _docs_empty(v):
    v.documents, v.chunks = [], []


def _docs_dup(v):
    v.documents.append(dict(v.documents[0]))


def _docs_blank(v):
    v.documents.append({**v.documents[0], "doc_id": "blank.md", "text": " \n\t "})


def _docs_unsupported(v):
    v.documents.append({**v.documents[0], "doc_id": "archive.zip"})


def _chunks_dup(v):
    v.chunks.append(dict(v.chunks[0]))


def _chunks_too_long(v):
    v.chunks[1]["n_tokens"] = 9


def _chunks_zero_tokens(v):
    v.chunks[1]["n_tokens"] = 0


def _chunks_blank(v):
    # a real span of white space in a real document: only the blank-chunk check can object
    doc = v.documents[0]
    start = doc["text"].index("\n\n")
    v.chunks.append({**v.chunks[0], "chunk_id": "blank", "start": start, "end": start + 2, "n_tokens": 1,
                     "text": "\n\n", "text_hash": sha256_text("\n\n")})


def _chunks_duplicated_text(v):
    # a second copy of a document under another name: half the chunk texts repeat
    copies = []
    for doc in v.documents:
        copy = {**doc, "doc_id": "copy/" + doc["doc_id"]}
        copies.append(copy)
        v.chunks += [{**c, "chunk_id": "copy-" + c["chunk_id"], "doc_id": copy["doc_id"]}
                     for c in v.chunks if c["doc_id"] == doc["doc_id"]]
    v.documents += copies


def _chunks_past_end(v):
    last = max((c for c in v.chunks if c["doc_id"] == v.documents[0]["doc_id"]), key=lambda c: c["end"])
    last["end"] += 5


def _chunks_unknown_doc(v):
    v.chunks[0]["doc_id"] = "gone.md"


def _chunks_text_differs(v):
    _set_text(v.chunks[2], v.chunks[2]["text"].upper())


BREAKS = [  # (expectation broken, how, other checks that must also fail)
    # no chunks at all: the unique share of chunk texts is undefined and not checked
    pytest.param("documents.not_empty", _docs_empty, set(), id="no-documents"),
    pytest.param("documents.unique_ids", _docs_dup, set(), id="duplicate-document"),
    pytest.param("documents.non_empty_text", _docs_blank, set(), id="blank-document"),
    pytest.param("documents.supported_type", _docs_unsupported, set(), id="zip-document"),
    pytest.param("chunks.unique_ids", _chunks_dup, set(), id="duplicate-chunk"),
    pytest.param("chunks.token_count", _chunks_too_long, set(), id="chunk-over-model-maximum"),
    pytest.param("chunks.token_count", _chunks_zero_tokens, set(), id="chunk-without-tokens"),
    # the fake embedder gives blank text a zero vector, which the norm check catches too
    pytest.param("chunks.not_blank", _chunks_blank, {"embeddings.unit_norm"}, id="blank-chunk"),
    pytest.param("chunks.duplicate_share", _chunks_duplicated_text, set(), id="copied-documents"),
    pytest.param("chunks.offsets_inside_document", _chunks_past_end, {"chunks.text_matches_document"},
                 id="chunk-past-document-end"),
    pytest.param("chunks.offsets_inside_document", _chunks_unknown_doc, {"chunks.text_matches_document"},
                 id="chunk-of-unknown-document"),
    pytest.param("chunks.text_matches_document", _chunks_text_differs, set(), id="chunk-text-differs"),
]


@pytest.mark.parametrize("target,breaker,also", BREAKS)
def test_broken_tables_fail_exactly_their_expectation(version, target, breaker, also):
    breaker(version)
    _, failed = _validate(version, version.write())
    assert failed == {"quality." + target} | {"quality." + a for a in also}


def test_document_size_bounds(version):
    _, failed = _validate(version, version.write(), QualityConfig(max_document_chars=80))
    assert failed == {"quality.documents.size_bounds"}


def test_failed_check_names_the_failing_rows(version):
    _chunks_text_differs(version)
    result, _ = _validate(version, version.write())
    [check] = [c for c in result.checks if c.name == "text_matches_document"]
    assert check.unexpected == 1 and check.sample == (version.chunks[2]["chunk_id"],)
    [gate] = [g for g in result.gates() if g.name == "quality.chunks.text_matches_document"]
    assert gate.value == f"1/{len(version.chunks)} rows fail" and version.chunks[2]["chunk_id"] in gate.detail


def _fake_vectors(version):
    texts = list(dict.fromkeys(c["text"] for c in version.chunks))
    return version.embedder.embed_documents(texts)


def test_wrong_dimension(version):
    vectors = np.random.default_rng(1).standard_normal((len(version.chunks), 12)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    _, failed = _validate(version, version.write(vectors=vectors, dimension=12), dimension=16)
    assert failed == {"quality.embeddings.dimension"}


def test_missing_vector(version):
    cache = version.write()
    version.documents.append({**version.documents[0], "doc_id": "new.md", "text": "brand new words"})
    version.chunks.append({**version.chunks[0], "chunk_id": "new", "doc_id": "new.md", "text": "brand new words",
                           "text_hash": sha256_text("brand new words"), "start": 0, "end": 15, "n_tokens": 3})
    version.write_tables()  # the cache lacks the new text's vector
    result, failed = _validate(version, cache)
    assert failed == {"quality.embeddings.dimension", "quality.embeddings.finite"}
    [check] = [c for c in result.checks if c.name == "dimension"]
    assert check.sample == ("new",)


def test_non_finite_vector(version):
    vectors = _fake_vectors(version)
    vectors[3, 5] = np.nan
    _, failed = _validate(version, version.write(vectors=vectors))
    assert failed == {"quality.embeddings.finite"}


def test_vector_not_unit_norm(version):
    vectors = _fake_vectors(version)
    vectors[4] *= 2
    _, failed = _validate(version, version.write(vectors=vectors))
    assert failed == {"quality.embeddings.unit_norm"}


def test_collapsed_embeddings(version):
    base = np.ones(16, dtype=np.float32) / 4.0
    noise = np.random.default_rng(2).standard_normal((len(version.chunks), 16)).astype(np.float32) * 0.01
    vectors = base + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    result, failed = _validate(version, version.write(vectors=vectors))
    assert failed == {"quality.embeddings.not_collapsed"}
    [check] = [c for c in result.checks if c.name == "not_collapsed"]
    assert check.observed > 0.99


def test_document_texts_in_any_order(version):
    from indexgate.quality.frames import DocumentTexts

    version.write_tables()
    texts = DocumentTexts(version.documents_path)
    ids = [d["doc_id"] for d in version.documents]
    # forward (streaming), then backwards (filtered reads), then an unknown id
    for doc_id in ids + ids[::-1]:
        assert texts.get(doc_id) == next(d["text"] for d in version.documents if d["doc_id"] == doc_id)
    assert texts.get("nope.md") is None
