"""Embedder kinds (indexgate.embedding.kinds): a program registers its own in its process."""

from __future__ import annotations

import pytest

from indexgate.embedding import make_embedder
from indexgate.embedding.kinds import _FACTORIES, embedder_kinds, register_embedder
from indexgate.errors import ConfigError
from indexgate.settings import EmbedderConfig, load_settings


@pytest.fixture
def own_kind():
    built = []
    register_embedder("mine", lambda config: built.append(config.model) or f"embedder of {config.model}")
    yield built
    _FACTORIES.pop("mine")


def test_a_registered_kind_is_accepted_and_builds_its_embedder(own_kind):
    settings = load_settings(embedder={"kind": "mine", "model": "m1"})
    assert make_embedder(settings.embedder) == "embedder of m1" and own_kind == ["m1"]
    assert embedder_kinds()[0] == "sentence-transformers" and "mine" in embedder_kinds()


def test_an_unknown_kind_is_refused_with_the_kinds_this_process_knows(own_kind):
    with pytest.raises(ConfigError, match=r"embedder.kind: unknown embedder kind 'mne' \(did you mean 'mine'\?\);"
                                          r" valid: sentence-transformers, fake, mine$"):
        load_settings(embedder={"kind": "mne"})


def test_the_built_in_kind_cannot_be_replaced():
    with pytest.raises(ValueError, match="built in"):
        register_embedder("sentence-transformers", lambda config: None)


def test_a_config_made_elsewhere_with_an_unknown_kind_is_one_config_error():
    """A config object that skipped validation (built by model_construct) still fails with one line."""
    config = EmbedderConfig.model_construct(kind="gone", model="m")
    with pytest.raises(ConfigError, match="embedder.kind: unknown embedder kind 'gone'"):
        make_embedder(config)
