"""The GX speed-up of :func:`indexgate.quality.gx._build_configuration_once`: fewer configuration
builds, the same kwargs as Great Expectations computes them."""

from __future__ import annotations

import pytest

from indexgate.quality import gx as quality_gx
from indexgate.quality.suites import chunks_suite, documents_suite, embeddings_suite
from indexgate.settings import QualityConfig

great_expectations = pytest.importorskip("great_expectations")


def _expectations():
    """One GX expectation per spec of IndexGate's suites (every class and kwargs shape they use)."""
    config = QualityConfig()
    suites = (documents_suite(config, [".md", ".txt"]), chunks_suite(config, 256),
              embeddings_suite(config, 384, normalized=True, measurable_collapse=True))
    return [getattr(great_expectations.expectations, s.expectation)(**s.kwargs, meta={"indexgate": s.name})
            for suite in suites for s in suite.specs]


@pytest.fixture(scope="module")
def patched():
    quality_gx._build_configuration_once()
    cls = great_expectations.expectations.Expectation
    assert getattr(cls.configuration.fget, "_indexgate_once", False)
    return cls


@pytest.fixture
def gx_alone(patched, monkeypatch):
    """Great Expectations as it is, for the duration of a test: a function that runs a call with
    GX's own configuration property and lookups restored."""
    def call(fn, *args):
        with monkeypatch.context() as m:
            m.setattr(patched, "configuration", property(patched.configuration.fget.__wrapped__))
            for name in quality_gx._LOOKUPS:
                m.setattr(patched, name, getattr(patched, name).__wrapped__)
            return fn(*args)
    return call


def test_the_kwargs_lookups_return_what_great_expectations_computes(patched, gx_alone):
    for expectation in _expectations():
        for name in ("_get_runtime_kwargs", "_get_success_kwargs", "_get_domain_kwargs"):
            ours = getattr(expectation, name)()
            assert ours == gx_alone(lambda: getattr(expectation, name)()), (type(expectation).__name__, name)
        for key in ("column", "mostly", "result_format", "value_set", "min_value"):
            assert expectation._get_success_kwarg(key) == gx_alone(expectation._get_success_kwarg, key)
        assert expectation._get_runtime_kwargs({"result_format": "COMPLETE"})["result_format"]["result_format"] \
            == "COMPLETE"


def test_a_lookup_builds_the_configuration_once(gx_alone, monkeypatch):
    expectation = great_expectations.expectations.ExpectColumnValuesToBeBetween(column="n", min_value=1,
                                                                                 max_value=9)
    built = []
    cls = type(expectation)
    original = cls.dict

    def counting_dict(self, *args, **kwargs):
        built.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "dict", counting_dict)  # .configuration starts with self.dict()
    runtime = expectation._get_runtime_kwargs()
    assert runtime["column"] == "n" and runtime["min_value"] == 1 and runtime["max_value"] == 9
    assert len(built) == 1
    built.clear()
    assert gx_alone(lambda: expectation._get_runtime_kwargs()) == runtime
    assert len(built) > 5  # GX alone: a build per key looked up (the cost this removes)


def test_outside_a_lookup_each_read_is_a_new_configuration(patched):
    expectation = great_expectations.expectations.ExpectColumnValuesToBeUnique(column="doc_id")
    first, second = expectation.configuration, expectation.configuration
    assert first is not second and first == second
    first.kwargs["column"] = "changed"  # a caller editing its copy changes no later read
    assert expectation.configuration.kwargs["column"] == "doc_id"
    assert expectation._get_domain_kwargs()["column"] == "doc_id"


def test_applying_it_twice_changes_nothing(patched):
    lookup = patched._get_runtime_kwargs
    quality_gx._build_configuration_once()
    assert patched._get_runtime_kwargs is lookup
