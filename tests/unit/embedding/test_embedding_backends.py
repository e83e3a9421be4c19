"""The onnx backends against sentence-transformers on real texts, and the lazy embedder.

Real parts: the packaged model, exported here once (module fixture), run by onnxruntime. The
reference for the onnx file is sentence-transformers' own tokenizer, Pooling and Normalize modules
around the same file: its own onnx backend needs optimum-onnx, which does not install next to
transformers 5 (docs/configuration.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from indexgate.embedding import sentence_transformers as st
from indexgate.embedding.device import place
from indexgate.errors import ConfigError
from indexgate.settings import EmbedderConfig

# Real documents: the shared chunking-eval set where the checkout has it, else the project's own corpus.
_ROOT = Path(__file__).resolve().parents[3]
_EVAL = _ROOT.parent / "shared" / "datasets" / "chunking-eval" / "docs"
DOCS = _EVAL if _EVAL.is_dir() else _ROOT / "data" / "corpus"
# The torch backend's fingerprint id on main before backends existed: existing indexes keep it.
TORCH_ID = "4dcf789e85c1d331"


def chunk_texts(n: int) -> list[str]:
    """``n`` texts of the chunking-eval documents, 200-token windows, as a sync cuts them."""
    from indexgate.chunking import TokenWindowChunker

    tokenizer = st.SentenceTransformerEmbedder(EmbedderConfig()).tokenizer
    texts = []
    for path in sorted(p for p in DOCS.rglob("*") if p.suffix in (".md", ".txt")):
        texts += [c.text for c in TokenWindowChunker(tokenizer, size=200).chunk(path.name, path.read_text())[:n // 5 + 1]]
    return texts[:n]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def torch_embedder(models):
    return st.SentenceTransformerEmbedder(EmbedderConfig(backend="torch"), models)


@pytest.fixture(scope="module")
def onnx_embedder(models):
    return st.SentenceTransformerEmbedder(EmbedderConfig(backend="onnx"), models)


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return chunk_texts(40) + ["", "Ünïcödé café – naïve", "x " * 400]  # empty, accents, truncated


def test_the_torch_fingerprint_id_is_the_one_before_backends(torch_embedder):
    assert torch_embedder.fingerprint.id == TORCH_ID
    assert set(torch_embedder.fingerprint.as_dict()) == {"model", "weights_sha256", "dimension", "normalize",
                                                          "max_seq_length", "query_prefix", "document_prefix", "id"}


def test_onnx_vectors_are_sentence_transformers_own_on_the_same_file(onnx_embedder, texts):
    import onnxruntime
    import torch
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(onnx_embedder.folder), device="cpu")
    session = onnxruntime.InferenceSession(str(onnx_embedder.model_file), providers=["CPUExecutionProvider"])
    features = reference.tokenize(texts)
    feed = {i.name: features[i.name].numpy() for i in session.get_inputs()}
    features["token_embeddings"] = torch.from_numpy(session.run(None, feed)[0])
    for module in list(reference)[1:]:  # sentence-transformers' own Pooling and Normalize
        features = module(features)
    expected = features["sentence_embedding"].numpy()
    assert np.abs(onnx_embedder.embed_documents(texts) - expected).max() < 1e-5


def test_onnx_vectors_match_the_torch_backend(onnx_embedder, torch_embedder, texts):
    a, b = onnx_embedder.embed_documents(texts), torch_embedder.embed_documents(texts)
    assert (a * b).sum(axis=1).min() > 0.9999
    assert onnx_embedder.fingerprint.id != torch_embedder.fingerprint.id  # another version, never a mix
    # the same tokens: chunks (and their ids) do not depend on the backend
    assert (onnx_embedder.tokenizer.max_tokens, onnx_embedder.tokenizer.fingerprint) == \
        (torch_embedder.tokenizer.max_tokens, torch_embedder.tokenizer.fingerprint)


def test_onnxruntime_threads_sleep_while_they_wait(onnx_embedder):
    # Spinning threads would hold the core the quality worker needs during the embed step (onnx.SESSION_CONFIG).
    options = onnx_embedder.model.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_int8_is_close_but_another_vector_space(models, onnx_embedder, texts):
    int8 = st.SentenceTransformerEmbedder(EmbedderConfig(backend="onnx-int8"), models)
    cosines = (int8.embed_documents(texts) * onnx_embedder.embed_documents(texts)).sum(axis=1)
    assert cosines.min() > 0.9 and cosines.mean() > 0.97
    assert int8.fingerprint.model_file_sha256 not in ("", onnx_embedder.fingerprint.model_file_sha256)
    assert len({int8.fingerprint.id, onnx_embedder.fingerprint.id, TORCH_ID}) == 3


def test_the_fingerprint_follows_the_exported_file(models, onnx_embedder):
    with open(onnx_embedder.model_file, "ab") as fh:  # a re-export that came out different
        fh.write(b"\0")
    try:
        again = st.SentenceTransformerEmbedder(EmbedderConfig(backend="onnx"), models)
        assert again.fingerprint.model_file_sha256 != onnx_embedder.fingerprint.model_file_sha256
        assert again.fingerprint.id != onnx_embedder.fingerprint.id
    finally:
        with open(onnx_embedder.model_file, "r+b") as fh:
            fh.truncate(fh.seek(0, 2) - 1)


def test_the_fast_tokenizer_gives_the_model_tokenizers_offsets():
    from sentence_transformers import SentenceTransformer

    fast = st.SentenceTransformerEmbedder(EmbedderConfig()).tokenizer
    model = SentenceTransformer(str(st.resolve_model(st.PACKAGED)[1]), device="cpu")
    before = st.HFTokenizer(model.tokenizer, fast.max_tokens, fast.fingerprint)  # the chunkers' tokenizer until now
    assert isinstance(fast, type(fast)) and not isinstance(fast, st.HFTokenizer)
    for path in sorted(p for p in DOCS.rglob("*") if p.suffix in (".md", ".txt")):
        text = path.read_text()
        assert fast.offsets(text) == before.offsets(text), path.name


def test_a_second_start_reads_the_record_loads_nothing_and_hashes_nothing(models, torch_embedder):
    script = f"""
import json, sys
from pathlib import Path
import indexgate.hashing, indexgate.embedding.sentence_transformers as st
hashed = []
real = st.sha256_file
st.sha256_file = lambda p: hashed.append(str(p)) or real(p)
from indexgate.settings import EmbedderConfig
for backend in ("torch", "onnx"):
    e = st.SentenceTransformerEmbedder(EmbedderConfig(backend=backend), Path({str(models)!r}))
    assert e._model is None
    e.tokenizer.offsets("a few words")
print(json.dumps({{"hashed": hashed, "modules": sorted(m for m in ("torch", "transformers", "sentence_transformers")
                                                     if m in sys.modules)}}))
"""
    st.SentenceTransformerEmbedder(EmbedderConfig(backend="onnx"), models)  # both records exist now
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == {"hashed": [], "modules": []}


def test_weights_load_on_the_first_embed_only(models):
    embedder = st.SentenceTransformerEmbedder(EmbedderConfig(backend="onnx"), models)
    assert embedder._model is None
    embedder.embed_queries(["one query"])
    assert embedder._model is not None


def test_an_unsupported_module_layout_is_refused_in_one_line(tmp_path, models):
    source = st.resolve_model(st.PACKAGED)[1]
    for name in ("config.json", "sentence_bert_config.json", "tokenizer.json", "model.safetensors"):
        (tmp_path / name).symlink_to(source / name)
    (tmp_path / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]))
    with pytest.raises(ConfigError) as err:
        st.SentenceTransformerEmbedder(EmbedderConfig(model=str(tmp_path), backend="onnx"), models)
    assert str(err.value) == (f"embedding model {tmp_path.name}: the onnx backends support Transformer -> Pooling"
                              " [-> Normalize], not Transformer -> Pooling -> Dense")


def test_device_auto():
    # No GPU here: the real probes say no, and a probe that says yes shows the choice made with one.
    assert place("auto", "torch") == place("cpu", "torch") == place("auto", "onnx")
    assert place("auto", "torch").device == "cpu"
    yes = lambda: True  # noqa: E731
    assert (place("auto", "torch", yes).device, place("auto", "torch", yes).precision) == ("cuda", "float16")
    assert (place("auto", "onnx", yes).device, place("auto", "onnx", yes).precision) == ("cuda", "float32")
    assert place("auto", "onnx-int8", yes).device == "cpu"
    assert place("cuda", "torch").precision == "float32"  # a named device stays as before


def test_a_version_recorded_before_backends_is_served_by_torch(tmp_path):
    """Its manifest's config has no backend. Read with today's default (onnx), its queries would
    be embedded in another vector space: the pinned embedder must be torch, with the recorded id."""
    from indexgate.resources import pinned_embedder
    from indexgate.settings import load_settings

    old = EmbedderConfig(backend="torch").model_dump(mode="json")
    del old["backend"]
    embedder = pinned_embedder(load_settings(home=tmp_path), {"id": TORCH_ID, "model": "all-MiniLM-L6-v2", "config": old})
    assert embedder.config.backend == "torch" and embedder.fingerprint.id == TORCH_ID
    assert EmbedderConfig().backend == "onnx"  # what the missing key would have meant otherwise
