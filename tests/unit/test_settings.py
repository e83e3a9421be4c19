"""Settings precedence and validation."""

import pytest

from indexgate.errors import ConfigError
from indexgate.settings import load_settings


def test_precedence_file_then_env_then_overrides(tmp_path, monkeypatch):
    config = tmp_path / "c.yaml"
    config.write_text("chunking: {chunk_size: 111, chunk_overlap: 5}\ngates: {k: 7, min_mrr: 0.2}\n")
    s = load_settings(config)
    assert (s.chunking.chunk_size, s.chunking.chunk_overlap, s.gates.k, s.gates.min_mrr) == (111, 5, 7, 0.2)
    monkeypatch.setenv("INDEXGATE_CHUNKING__CHUNK_SIZE", "150")
    s = load_settings(config)
    assert s.chunking.chunk_size == 150 and s.chunking.chunk_overlap == 5
    s = load_settings(config, chunking={"chunk_size": 64, "chunk_overlap": None})
    assert s.chunking.chunk_size == 64 and s.chunking.chunk_overlap == 5


def test_home_from_env_and_override(tmp_path, monkeypatch):
    monkeypatch.setenv("INDEXGATE_HOME", str(tmp_path / "a"))
    assert load_settings().home == tmp_path / "a"
    assert load_settings(home=str(tmp_path / "b")).home == tmp_path / "b"
    assert load_settings().qdrant_folder == tmp_path / "a" / "qdrant"


def test_qdrant_url_without_prefix(monkeypatch):
    monkeypatch.setenv("QDRANT_URL", "http://127.0.0.1:6333")
    monkeypatch.setenv("QDRANT_API_KEY", "secret")
    s = load_settings()
    assert s.qdrant_url == "http://127.0.0.1:6333"
    assert s.qdrant_api_key.get_secret_value() == "secret"
    assert "secret" not in repr(s)


@pytest.mark.parametrize("yaml_text,message", [
    ("chunking: {chunk_size: 10, chunk_overlap: 10}", "chunk_overlap"),
    ("gates: {min_span_recall: 1.5}", "min_span_recall"),
    ("chunking: {chunk_sise: 10}", "chunk_sise"),
    ("- a list", "mapping"),
    ("a: [unclosed", "not valid YAML"),
])
def test_bad_config_gives_a_specific_error(tmp_path, yaml_text, message):
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_settings(config)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")
