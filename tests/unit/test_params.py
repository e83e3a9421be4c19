"""Typed entry-point parameters: the schema's alias rule is the library's, and overrides map to settings."""

import itertools
import re

import pytest
from pydantic import TypeAdapter, ValidationError

from indexgate.errors import ConfigError
from indexgate.params import ALIAS_PATTERN, AliasName, Overrides
from indexgate.settings import load_settings
from indexgate.lifecycle.versioning import validate_alias


def _library_accepts(name: str) -> bool:
    try:
        validate_alias(name)
        return True
    except ConfigError:
        return False


def test_the_schema_pattern_accepts_exactly_the_aliases_the_library_accepts():
    pattern = re.compile(ALIAS_PATTERN)
    names = ["".join(t) for n in range(1, 7) for t in itertools.product("a-_", repeat=n)]
    names += ["docs", "Docs-2", "a" * 64, "a" * 65, "docs__v1", "bad alias", "x.y", "é", ""]
    disagree = [n for n in names if (bool(pattern.match(n)) and len(n) <= 64) != _library_accepts(n)]
    assert disagree == []
    assert len([n for n in names if _library_accepts(n)]) > 20  # both accept some and refuse some


@pytest.mark.parametrize("bad", ["bad alias", "docs__v1", "-docs", "docs_", "a" * 65, ""])
def test_a_bad_alias_fails_type_validation_with_the_field_named(bad):
    with pytest.raises(ValidationError) as err:
        TypeAdapter(AliasName).validate_python(bad)
    assert err.value.errors()[0]["type"] in ("string_pattern_mismatch", "string_too_long")


def test_overrides_go_over_the_config_file(tmp_path):
    config = tmp_path / "winner.yaml"
    config.write_text("chunking: {strategy: recursive, chunk_size: 120, chunk_overlap: 20}\n")
    settings = load_settings(config, **Overrides(chunk_size=64, embedder_model="/models/other").settings())
    assert settings.chunking.strategy == "recursive" and settings.chunking.chunk_size == 64
    assert settings.chunking.chunk_overlap == 20 and settings.embedder.model == "/models/other"
    assert Overrides().settings() == {}


def test_overrides_refuse_impossible_values():
    with pytest.raises(ValidationError):
        Overrides(chunk_size=0)
    with pytest.raises(ValidationError):
        Overrides(strategy="words")
