"""The Python search API: an Index follows its alias, answers from one version and says which,
embeds with the embedder the served version pins, and refuses what does not fit."""

import numpy as np
import pytest

from fake_embedder import FakeEmbedder
from indexgate.errors import EmbedderMismatch, NotServing, QueryError
from indexgate.lifecycle.promotion import rollback
from indexgate.resources import models_loaded, resources
from indexgate.serving import Index
from indexgate.settings import load_settings
from indexgate.sync import run_sync
from serving_corpus import DOCS


def test_answers_from_the_live_version_and_follows_rollback_and_promotion(fake_settings, two_versions):
    first, second = two_versions
    res = resources(fake_settings)
    with Index.open("docs", fake_settings) as index:
        answer = index.search("backups run every night", k=2)
        assert answer.version == second == index.live_version
        assert answer.hits[0].doc_id == "backups.md" and len(answer.hits) == 2
        assert {h.version for h in answer.hits} == {second}
        assert index.search("canteen serves lunch", k=1).hits[0].doc_id == "canteen.md"

        rollback(res.store, res.registry, "docs", by="test")
        answer = index.search("canteen serves lunch", k=3)  # the same object, no reopen
        assert answer.version == first and {h.version for h in answer.hits} == {first}
        assert "canteen.md" not in {h.doc_id for h in answer.hits}

        rollback(res.store, res.registry, "docs", to=second, by="test")
        assert index.search("canteen serves lunch", k=1).hits[0].doc_id == "canteen.md"
        assert answer.as_dict()["version"] == first and answer.as_dict()["hits"][0]["version"] == first


class _MovesTheAlias(FakeEmbedder):
    """The fake embedder (same fingerprint), which rolls the alias back while it embeds the first
    query: the alias moves after the search started and before the store is asked. With
    ``drop``, the version it moved away from is removed too (as gc may do)."""

    def __init__(self, res, drop=False):
        super().__init__()
        self.res, self.drop, self.moved = res, drop, False

    def embed_queries(self, texts):
        if not self.moved:
            self.moved = True
            event = rollback(self.res.store, self.res.registry, "docs", by="test")
            if self.drop:
                self.res.store.drop(f"docs__{event.from_version}")
        return super().embed_queries(texts)


def test_an_answer_comes_from_the_version_served_when_the_search_started(fake_settings, two_versions):
    first, second = two_versions
    res = resources(fake_settings)
    index = Index.open("docs", fake_settings, embedder=_MovesTheAlias(res))
    answer = index.search("canteen serves lunch", k=3)
    assert index.live_version == first  # the alias moved during the search...
    assert answer.version == second and {h.version for h in answer.hits} == {second}  # ...which still served second
    assert answer.hits[0].doc_id == "canteen.md"
    assert index.search("canteen serves lunch", k=3).version == first  # the next one follows it


def test_a_version_removed_under_a_search_is_searched_again_where_the_alias_points(fake_settings, two_versions):
    first, _ = two_versions
    index = Index.open("docs", fake_settings, embedder=_MovesTheAlias(resources(fake_settings), drop=True))
    answer = index.search("canteen serves lunch", k=3)
    assert answer.version == first and {h.version for h in answer.hits} == {first}


def test_queries_are_embedded_by_the_model_the_served_version_pins(fake_settings, two_versions, write_corpus,
                                                                   tmp_path):
    _, second = two_versions
    # The reader's own settings name another model: the version's manifest decides, not them.
    reader = fake_settings.model_copy(update={"embedder": fake_settings.embedder.model_copy(update={"model": "other"})})
    index = Index.open("docs", reader)
    assert index.search("backups run every night", k=1).hits[0].doc_id == "backups.md"
    assert index.resolve().fingerprint == FakeEmbedder().fingerprint.id

    # A version built by another model is promoted: the index switches to that model by itself.
    other = load_settings(home=str(fake_settings.home), embedder={"kind": "fake", "model": "other"})
    res = resources(other)
    root = write_corpus({**DOCS, "new.md": "Bicycles are parked in the basement.\n"}, root=tmp_path / "c2")
    plan, outcome = run_sync(res, "docs", root)
    assert outcome.action == "promoted"
    served = index.resolve()
    assert served.version == plan.version and served.fingerprint == res.embedder.fingerprint.id != FakeEmbedder().fingerprint.id
    assert index.search("bicycles parked in the basement", k=1).hits[0].doc_id == "new.md"


def test_an_embedder_or_vectors_of_another_model_are_refused(fake_settings, two_versions):
    _, second = two_versions
    stranger = FakeEmbedder(model="fake-bag-of-words:stranger")
    with pytest.raises(EmbedderMismatch, match=f"not the one version {second} of 'docs' was embedded by"):
        Index.open("docs", fake_settings, embedder=stranger).search("backups")

    index = Index.open("docs", fake_settings)
    vector = stranger.embed_queries(["backups run every night"])[0]
    with pytest.raises(EmbedderMismatch, match="the query vector comes from embedder"):
        index.search_vector(vector, 2, fingerprint=stranger.fingerprint)
    answer = index.search_vector(vector, 2, fingerprint=FakeEmbedder().fingerprint)  # the same vectors, its model
    assert answer.version == second and answer.hits[0].doc_id == "backups.md" and answer.query is None


def test_a_version_whose_pinned_model_cannot_be_loaded_is_an_error(fake_settings, two_versions):
    _, second = two_versions
    res = resources(fake_settings)
    manifest = res.registry.load("docs", second)
    manifest.embedder = {**manifest.embedder, "id": "not-the-real-fingerprint"}
    res.registry.save(manifest)
    with pytest.raises(EmbedderMismatch, match="loading its config here gives fingerprint"):
        Index.open("docs", fake_settings).search("backups")


def test_a_missing_alias_or_unreadable_version_fails_before_any_model_loads(fake_settings, two_versions):
    _, second = two_versions
    loaded = models_loaded()
    with pytest.raises(NotServing, match="alias 'nothing' does not exist; run `indexgate sync --alias nothing`"):
        Index.open("nothing", fake_settings).search("backups")
    res = resources(fake_settings)
    manifest_file = res.registry.version_dir("docs", second) / "manifest.json"
    manifest_file.rename(manifest_file.with_suffix(".away"))
    with pytest.raises(NotServing, match=f"version {second} of alias 'docs' has no manifest"):
        Index.open("docs", fake_settings).search("backups")
    assert models_loaded() == loaded


def test_bounds_on_k_and_the_query(fake_settings, two_versions):
    settings = fake_settings.model_copy(update={"api": fake_settings.api.model_copy(update={"max_k": 3,
                                                                                           "max_query_chars": 20})})
    index = Index.open("docs", settings)
    for text, k, message in (("backups", 4, "k must be a whole number from 1 to 3"), ("backups", 0, "from 1 to 3"),
                             ("   ", 2, "the query is empty"), ("x" * 21, 2, "the query has 21 characters; at most 20")):
        with pytest.raises(QueryError, match=message):
            index.search(text, k)
    with pytest.raises(QueryError, match="from 1 to 3"):
        index.search_vector(np.zeros(64), 4, fingerprint="x")
    assert len(index.search("x" * 20, 3).hits) == 3


def test_a_closed_index_refuses_searches(fake_settings, two_versions):
    with Index.open("docs", fake_settings) as index:
        index.search("backups")
    with pytest.raises(Exception, match="the index of alias 'docs' is closed"):
        index.search("backups")


def test_threads_sharing_one_index_through_swaps_get_whole_answers(fake_settings, two_versions):
    import threading

    first, second = two_versions
    res = resources(fake_settings)
    index = Index.open("docs", fake_settings)
    stop, answers, errors = threading.Event(), [], []

    def reader():
        while not stop.is_set():
            try:
                answers.append(index.search("canteen serves lunch", k=3))
            except Exception as exc:  # noqa: BLE001 - counted, the test fails on any
                errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        for to in (first, second) * 3:
            seen = len(answers)
            rollback(res.store, res.registry, "docs", to=to, by="test")
            while len(answers) < seen + 8 and not errors:
                threading.Event().wait(0.005)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not errors
    assert {a.version for a in answers} == {first, second}
    assert all(a.hits and {h.version for h in a.hits} == {a.version} for a in answers)
