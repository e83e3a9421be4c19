"""A stateful property test of the version lifecycle (library calls, fake embedder, embedded
Qdrant in a temporary folder, no Prefect).

Hypothesis runs random sequences of: add / edit / delete a document, sync (reconcile, build,
gate, promote, smoke check, gc), rollback (to the previous promoted version or to any retained
one), gc, a run that dies half-way through loading its shadow (sometimes leaving a damaged
one), and a stray collection. A simple model says which document set each version holds, which
version the alias serves and which promoted versions are retained. After every step, a search
through the alias must return exactly the chunks of the documents the model says are live, all
from the live version, and the live version and the rollback target must still exist. A sync
that would rebuild a version rolled back from must be held (then it is released), and only then.
"""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from indexgate import resources as resources_module
from indexgate.lifecycle import retention
from indexgate.errors import StoreError, VersionHeld
from indexgate.lifecycle.holds import release
from indexgate.lifecycle.promotion import live_version, rollback
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.store.load import point_payload
from indexgate.sync import build_shadow, run_sync

NAMES = ["a.md", "b.txt", "c/d.md", "e.md"]
WORDS = ["ship", "train", "leave", "policy", "backup", "night", "route", "badge", "cost", "audit"]


class Lifecycle(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="indexgate-machine-"))
        self.root = self.tmp / "corpus"
        self.root.mkdir()
        self.settings = None
        self.docs: dict[str, str] = {}          # the source folder now
        self.contents: dict[str, dict] = {}     # version -> the documents it was built from
        self.live: str | None = None
        self.promotions: list[str] = []         # versions in the order they were promoted
        self.retained: set[str] = set()         # promoted versions whose collection should exist
        self.held: set[str] = set()             # versions rolled back from and not served or released since
        self.edits = 0

    @initialize(keep=st.integers(0, 2))
    def configure(self, keep):
        self.keep_promoted = keep
        self.settings = load_settings(home=str(self.tmp / "state"), embedder={"kind": "fake", "model": "fake"},
                                      lifecycle={"keep_promoted": keep},
                                      # The lifecycle is under test here, not the data-quality suites
                                      # (tested on their own): they would add seconds to every sync.
                                      gates={"modes": {"quality": "off"}})
        self.res = resources(self.settings)

    def teardown(self):
        if self.settings is not None:
            resources_module.release(self.settings)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- the model -------------------------------------------------------------------------
    def previous(self) -> str | None:
        promoted = self.promotions
        if self.live in promoted:
            promoted = promoted[: len(promoted) - 1 - promoted[::-1].index(self.live)]
        return next((v for v in reversed(promoted) if v != self.live and v in self.retained), None)

    def collect(self) -> None:
        keep = {self.live, self.previous()}
        recent: list[str] = []
        for v in reversed(self.promotions):
            if v != self.live and v not in recent:
                recent.append(v)
        keep |= set(recent[: self.keep_promoted])
        self.retained &= keep

    def _write(self, name: str, words: list[str]) -> None:
        # A token unique to the document and edit keeps every chunk text distinct.
        self.edits += 1
        text = f"{name.replace('/', ' ')} edit{self.edits} " + " ".join(words) + "\n"
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.docs[name] = text

    # -- rules -----------------------------------------------------------------------------
    @rule(name=st.sampled_from(NAMES), words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=12))
    def add_or_edit(self, name, words):
        self._write(name, words)

    @precondition(lambda self: self.docs)
    @rule(data=st.data())
    def delete(self, data):
        name = data.draw(st.sampled_from(sorted(self.docs)))
        (self.root / name).unlink()
        del self.docs[name]

    @precondition(lambda self: self.docs)
    @rule()
    def sync(self):
        res = self.res
        held = {v for v in self.held if self.contents[v] == self.docs}
        # The model deletes documents on purpose: a mass delete is allowed.
        try:
            plan, outcome = run_sync(res, "docs", self.root, by="machine", allow_mass_delete=True)
        except VersionHeld:
            # the source is back to a version rolled back from: held until released
            assert held, "a sync was held although the model holds no version of these documents"
            [version] = held  # one version per document set
            release(res.registry, "docs", version, by="machine")
            self.held.discard(version)
            plan, outcome = run_sync(res, "docs", self.root, by="machine", allow_mass_delete=True)
        else:
            assert not held, "a sync was not held although it rebuilds a version rolled back from"
        if outcome.action == "unchanged":
            assert self.live is not None and self.contents[self.live] == self.docs
        else:
            assert outcome.action == "promoted", outcome.reason
            self.contents[plan.version] = dict(self.docs)
            self.live = plan.version
            self.promotions.append(plan.version)
            self.retained.add(plan.version)
        self.collect()

    @rule()
    def rollback_to_previous(self):
        expected = self.previous()
        if expected is None:
            try:
                rollback(self.res.store, self.res.registry, "docs", by="machine")
            except StoreError:
                return
            raise AssertionError("rollback succeeded but the model has no retained earlier version")
        event = rollback(self.res.store, self.res.registry, "docs", by="machine")
        assert event.to_version == expected
        self.held = (self.held | {self.live}) - {expected}
        self.live = expected

    @precondition(lambda self: len(self.retained - {self.live}) > 0)
    @rule(data=st.data())
    def rollback_to_retained(self, data):
        target = data.draw(st.sampled_from(sorted(self.retained - {self.live})))
        assert rollback(self.res.store, self.res.registry, "docs", to=target, by="machine").to_version == target
        self.held = (self.held | {self.live}) - {target}
        self.live = target

    @rule()
    def gc(self):
        retention.gc(self.res, "docs")
        self.collect()

    @precondition(lambda self: self.docs and all(c != self.docs for c in self.contents.values()))
    @rule(n=st.integers(0, 3), damage=st.booleans())
    def die_while_loading(self, n, damage):
        """A run builds the current source and is killed after upserting n points."""
        res = self.res
        plan = build_shadow(res, "docs", self.root, load=False, allow_mass_delete=True)  # deletes on purpose
        rows = pq.read_table(plan.chunks_path).to_pylist()[:n]
        res.store.create(plan.collection, res.embedder.dimension)
        if rows:
            vectors = res.cache.get_many(r["text_hash"] for r in rows)
            # The payloads the real load writes (access groups included), as a killed load leaves them.
            groups = {d["doc_id"]: d.get("groups", []) for d in res.registry.load("docs", plan.version).documents}
            res.store.upsert(plan.collection, [r["point_id"] for r in rows],
                             np.stack([vectors[r["text_hash"]] for r in rows]),
                             [point_payload(r, plan.version, groups[r["doc_id"]]) for r in rows])
        if damage:
            res.store.upsert(plan.collection, ["00000000-0000-0000-0000-0000000000ff"],
                             np.ones((1, res.embedder.dimension)), [{"version": "stray"}])

    @rule()
    def stray_collection(self):
        self.res.store.create("docs__0000000000ff", self.res.embedder.dimension)

    # -- what must always hold --------------------------------------------------------------
    @invariant()
    def alias_serves_exactly_the_live_documents(self):
        store = self.res.store
        assert live_version(store, "docs") == self.live
        if self.live is None:
            return
        live_docs = self.contents[self.live]
        queries = self.res.embedder.embed_queries(WORDS[:4] + ["edit1"])
        seen = set()
        for hits in store.search_many("docs", queries, 50):
            assert hits
            for h in hits:
                assert h.version == self.live
                assert h.doc_id in live_docs and live_docs[h.doc_id][h.start:h.end] == h.text
                seen.add(h.doc_id)
        assert seen == set(live_docs)  # every live document is served, and nothing else

    @invariant()
    def live_and_rollback_target_are_retained(self):
        for version in (self.live, self.previous()):
            if version is not None:
                assert self.res.store.exists(f"docs__{version}")
        promoted_in_store = {v for v in self.contents if self.res.store.exists(f"docs__{v}")}
        assert promoted_in_store >= self.retained


Lifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
TestLifecycle = Lifecycle.TestCase
