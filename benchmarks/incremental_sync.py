"""Benchmark: a full sync of 100 documents against a sync after 1 of them (1%) changed.

    .venv/bin/python benchmarks/incremental_sync.py [--documents 100] [--repeat 9] [--fulls 3]
                                                    [--pause 6] [--library | --heartbeats]
    .venv/bin/python benchmarks/incremental_sync.py --shell --documents 10000 --repeat 2 --seed-cache
    .venv/bin/python benchmarks/incremental_sync.py --shell --documents 300 --repeat 1 --bare

Everything runs in one warm Python process: the model is loaded once first (timed apart), and a
tiny warm-up sync starts Prefect's temporary API server and the quality worker (timed apart).
Then it times, with ``time.perf_counter`` around the call:

- full sync (``--fulls`` times, each in a fresh state folder: empty embedding cache, no live
  version): ``indexgate_flows.sync.sync(...)`` over N generated Markdown documents of 2-4 KB: snapshot,
  parse, chunk, embed, load into a new Qdrant collection, every gate (integrity, quarantine,
  Great Expectations suites with Data Docs), promotion, smoke check, HTML report, gc, report
  artifact;
- 1%-changed sync (``--repeat`` times, in the first state folder): the same call after 1% of the
  documents (at least one; one of the default 100) got one more paragraph each (every step
  again, with the unchanged documents' rows carried from the live version and their vectors
  from the cache).

Each timed sync starts ``--pause`` seconds after the previous one ended: the temporary API
writes a run's task runs and events in batches every 5 s (``flows/runtime.py``), and syncs of
one alias are hours apart, not back to back. The two kinds alternate: each full sync is followed by
its share of the 1%-changed syncs (F I I I F I I I F I I I with the defaults), so that a machine
that gets faster or slower during the run weighs on both figures alike; every full sync reads an
unedited copy of the corpus, so the later ones do not sync the paragraphs added meanwhile. The
ratio is the median 1%-changed sync over the mean full sync.

The flow runs as ``indexgate sync`` runs it (:func:`indexgate_flows.runtime.flow_runs`, entered once for
the process as the command does: no flow-run heartbeats against the temporary API, batched
server writes); ``--heartbeats`` keeps Prefect's default heartbeats on. ``--library`` times the
library's runner alone (:func:`indexgate.sync.run_sync`: the flow's steps in its order, no Prefect,
no report). The per-step timings printed come from the versions' manifests. Target:
the 1%-changed sync costs at most 5% of the full one.

``--shell`` runs each sync in a fresh process instead, as a shell or cron would: a ``python -c``
of :func:`indexgate.sync.run_sync` (what `indexgate sync` runs without a Prefect API), timed from
outside. A full sync from empty, then ``--repeat`` 1%-changed syncs (1% of the files edited, one
deleted, one added, as ``benchmarks/peers.py`` changes them). Each line shows the process's peak
RSS (``VmHWM``) and the largest of it and its children (``wait4``): memory that stays flat from
1,000 to 10,000 documents is bounded by batch sizes, not by the corpus. ``--seed-cache`` first
caches a vector for every chunk text of the corpus, in a process of its own, so that the full
sync embeds nothing: deterministic unit vectors drawn from a generator seeded by the text's hash,
not the model's vectors. The 1%-changed syncs embed their new texts with the model, unless
``--seed-changes``: then the texts of each change's edited and added documents are seeded the
same way before that sync (in a process of its own, not timed), so that neither kind of sync
loads the model and the ratio compares like with like. Both ratios are printed: from outside
(process start and imports included) and of ``run_sync`` alone. ``--bare``
(without ``--seed-cache``) runs the bare model after the full sync, in a fresh process, on the
distinct texts that sync embedded: the full sync's resources and run_sync against the model's load
and encode (issue 21: at most 1.2x). The bare model runs on the backend the sync embedded with: for
``onnx`` (the default) and ``onnx-int8``, ``benchmarks/peers.py``'s bare ONNX script on the same
exported file (onnxruntime and the tokenizer alone); for ``torch``, sentence-transformers.

run_sync overlaps stages (docs/design.md#stages-that-overlap). In the steps printed from the
manifest, ``embed`` and ``load`` are then busy seconds, ``load_waited`` the load's waits for
vectors, ``embed_load_wall`` the two steps' wall time together, and ``model_load_overlapped``
the model's load beside parse and chunk (in no step's wall time).

On a virtual machine, each sync's line also shows the CPU time the hypervisor took from the
machine meanwhile (``steal`` in ``/proc/stat``, summed over the cores), and the end the share of
the syncs' core time it was: a figure to read the times by, not one they are corrected with.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Logs at the CLI's level (INFO: every record is made and sent to the API, as in `indexgate sync`);
# only the console shows no more than warnings, so the figures stay readable.
os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
from indexgate.cli import offline_environment  # noqa: E402  (the CLI's defaults: offline, 90 s API start-up)

offline_environment()

TOPICS = ["expense reports", "parental leave", "database failover", "certificate rotation", "route planning",
          "customs declarations", "warehouse safety", "carrier onboarding", "incident response", "data retention",
          "remote work", "travel bookings", "password resets", "invoice disputes", "fleet maintenance"]
SUBJECTS = ["The operations team", "Each depot manager", "The on-call engineer", "Finance", "A new employee",
            "The customer support desk", "Every carrier", "The security office", "The planning group", "Legal"]
VERBS = ["reviews", "approves", "documents", "escalates", "archives", "checks", "updates", "reports", "schedules",
         "verifies"]
OBJECTS = ["the weekly capacity forecast", "all open incidents", "the pallet inventory", "signed delivery notes",
           "the quarterly audit trail", "outstanding purchase orders", "driver rest periods", "backup restore tests",
           "temperature logs of cold-chain loads", "access requests for the routing system"]
TAILS = ["within {n} business days", "before {n}:00 UTC", "at least every {n} weeks", "for shipments above {n} kg",
         "unless the budget exceeds {n} thousand euros", "and keeps the record for {n} months",
         "using the template in section {n}", "after {n} failed attempts"]


def cpu_steal() -> float | None:
    """Seconds of CPU time the hypervisor has taken from this (virtual) machine since boot, summed
    over its cores: the ``steal`` column of ``/proc/stat`` (Linux). None where there is none."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def make_document(rng: random.Random, i: int) -> str:
    """A Markdown policy-like document of 2-4 KB: headings and paragraphs of varied sentences."""
    topic = TOPICS[i % len(TOPICS)]
    target = rng.randint(2048, 4096)
    parts = [f"# {topic.title()} procedure {i:03d}\n"]
    section = 0
    while sum(len(p) for p in parts) < target:
        if rng.random() < 0.25:
            section += 1
            parts.append(f"\n## {section}. {rng.choice(TOPICS).capitalize()}\n")
        sentences = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} "
                     f"{rng.choice(TAILS).format(n=rng.randint(2, 90))}." for _ in range(rng.randint(3, 6))]
        parts.append("\n" + " ".join(sentences) + "\n")
    return "".join(parts)[:target].rstrip() + "\n"


def write_corpus(folder: Path, n: int) -> None:
    rng = random.Random(20240601)
    for i in range(n):
        path = folder / f"{TOPICS[i % len(TOPICS)].replace(' ', '-')}/doc-{i:03d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(make_document(rng, i), encoding="utf-8")


def run_library(source: str, alias: str, settings) -> dict:
    from dataclasses import asdict

    from indexgate.quality import wait_data_docs
    from indexgate.resources import resources
    from indexgate.sync import run_sync

    # The library's runner: the flow's steps in its order (gates and GX suites included), no Prefect.
    plan, outcome = run_sync(resources(settings), alias, source, by="benchmark")
    wait_data_docs(plan.workdir)  # as the flow's report does: the sync ends with its Data Docs written
    return asdict(outcome)


# One sync in a fresh process (``--shell``): what `indexgate sync` runs without a Prefect API
# (indexgate.sync.run_sync), then its Data Docs. It prints one JSON line: the seconds inside, the
# version's manifest timings and counts, and the process's own peak RSS (VmHWM).
SHELL_SYNC = """
import json, sys, time
started = time.perf_counter()
from indexgate.quality import wait_data_docs
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import run_sync
imported = time.perf_counter()

def memory():
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    return int(status["VmRSS"].split()[0]) // 1024, int(status["VmHWM"].split()[0]) // 1024

# After each step of SYNC_STEPS: its seconds, this process's RSS and its peak RSS so far (MiB).
trace = []
res = resources(load_settings(home=sys.argv[1], cache_dir=sys.argv[2]))
loaded = time.perf_counter()
plan, outcome = run_sync(res, "bench", sys.argv[3], by="benchmark", confirm_budget=True,
                         after_step=lambda name, seconds: trace.append((name, round(seconds, 2), *memory())))
wait_data_docs(plan.workdir)
done = time.perf_counter()
m = res.registry.load("bench", plan.version)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"action": outcome.action, "reason": outcome.reason, "imports": imported - started,
                  "load": loaded - imported, "sync": done - loaded, "timings": m.timings, "counts": m.counts,
                  "embedded": m.embedding.get("embedded"), "hwm_kib": hwm, "trace": trace}))
"""

# Seeds the embedding cache (``--seed-cache``) in a fresh process: snapshot, plan, parse and chunk
# the corpus in a throw-away state folder, then cache a vector for every chunk text the cache lacks.
# The vectors are not the model's: a unit vector drawn from a generator seeded by the text's hash,
# so the same text always gets the same vector. The timed syncs then embed only what they add.
SEED_CACHE = """
import sys, numpy as np, pyarrow.parquet as pq
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import chunk, parse, plan, snapshot
res = resources(load_settings(home=sys.argv[1], cache_dir=sys.argv[2]))
snap = snapshot(sys.argv[3], res.settings)
planned = plan(res, "seed", snap, False, False)
parse(res, planned, sys.argv[3], snap)
chunk(res, planned, True)
hashes = res.cache.missing(pq.read_table(planned.chunks_path, columns=["text_hash"]).column(0).to_pylist())
for first in range(0, len(hashes), 4096):
    part = hashes[first:first + 4096]
    vectors = np.stack([np.random.default_rng(int(h[:16], 16)).standard_normal(res.embedder.dimension)
                        for h in part]).astype(np.float32)
    res.cache.put_many(part, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
print(len(hashes))
"""

# The bare model (``--bare``) in a fresh process: the distinct texts the full sync embedded (its
# chunks table: embed prefix, then text), loaded and encoded as the embedder does (batches of 32,
# normalised), with no sync around it.
BARE_MODEL = """
import json, sys, time
started = time.perf_counter()
import pyarrow.parquet as pq
from sentence_transformers import SentenceTransformer
from indexgate.embedding.sentence_transformers import resolve_model
imported = time.perf_counter()
model = SentenceTransformer(str(resolve_model("packaged:all-MiniLM-L6-v2")[1]), device="cpu")
loaded = time.perf_counter()
rows = pq.read_table(sys.argv[1], columns=["text_hash", "embed_prefix", "text"]).to_pylist()
texts = list({r["text_hash"]: (r["embed_prefix"] or "") + r["text"] for r in rows}.values())
read = time.perf_counter()
model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
done = time.perf_counter()
print(json.dumps({"imports": imported - started, "load": loaded - imported, "encode": done - read, "texts": len(texts)}))
"""

# The bare ONNX file (``--bare`` when the sync embedded with an ONNX backend): peers.py's own bare
# script (``peers.py peer bare-onnx TEXTS MODEL FILE``) on the texts the parent wrote, the same
# exported file the sync embedded with. Its seconds are renamed to BARE_MODEL's keys.
BARE_ONNX = """
import contextlib, io, json, sys
sys.path.insert(0, sys.argv[1])
from peers import peer_main
with contextlib.redirect_stdout(io.StringIO()) as printed:
    peer_main(["bare-onnx", *sys.argv[2:]])
out = json.loads(printed.getvalue().strip().splitlines()[-1].removeprefix("PEER-RESULT "))
print(json.dumps({"imports": out["imports_s"], "load": out["load_s"], "encode": out["encode_s"], "texts": out["texts"]}))
"""


def bare_model(chunks: Path, state: Path) -> tuple[str, float, dict, float]:
    """The bare model on the distinct texts of ``chunks``, in a fresh process, on the backend the
    sync embedded with: (what ran, seconds from outside, its JSON, CPU seconds)."""
    import json

    import pyarrow.parquet as pq

    from indexgate.embedding import make_embedder
    from indexgate.settings import load_settings

    settings = load_settings(home=str(state))  # as SHELL_SYNC's settings, in the same folder
    if settings.embedder.backend != "torch":
        embedder = make_embedder(settings.embedder, settings.models_folder)  # reads the model record only
        rows = pq.read_table(chunks, columns=["text_hash", "embed_prefix", "text"]).to_pylist()
        texts = chunks.parent / "bare-texts.json"
        texts.write_text(json.dumps(list({r["text_hash"]: (r["embed_prefix"] or "") + r["text"] for r in rows}.values())),
                         encoding="utf-8")
        seconds, _, out, cpu = fresh_process(BARE_ONNX, str(Path(__file__).resolve().parent), str(texts),
                                             str(embedder.folder), str(embedder.model_file))
        return "bare ONNX file (onnxruntime alone)", seconds, json.loads(out), cpu
    seconds, _, out, cpu = fresh_process(BARE_MODEL, str(chunks))
    return "bare model (sentence-transformers)", seconds, json.loads(out), cpu


def fresh_process(code: str, *args: str) -> tuple[float, int, str, float]:
    """Run ``python -c code args`` in a new process, as a shell would; (seconds from outside, peak
    RSS in KiB of the process or its largest child, what it printed last, CPU seconds of the
    process and the children it waited for). On a shared machine the CPU seconds move less than
    the wall-clock ones: they do not count the time other processes held the cores."""
    import subprocess

    started = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))})
    out = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"a benchmark process failed (exit code {child.returncode}); its stderr is above")
    return seconds, usage.ru_maxrss, out.strip().splitlines()[-1], usage.ru_utime + usage.ru_stime


def change_one_percent(corpus: Path, n: int, round_: int) -> list[Path]:
    """Edit 1% of the documents (at least one: a paragraph more each), delete one, add one, as
    ``benchmarks/peers.py`` does. Returns the files edited and the one added."""
    files = sorted(corpus.rglob("*.md"))
    changed = max(1, round(n / 100))
    for path in files[n // 2: n // 2 + changed]:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"\nThe planning group verifies the revised cut-off times before {16 + round_ % 8}:00 UTC.\n")
    files[0].unlink()
    added = corpus / "added" / f"doc-{round_}.md"
    added.parent.mkdir(parents=True, exist_ok=True)
    added.write_text(make_document(random.Random(round_), n + round_), encoding="utf-8")
    return [*files[n // 2: n // 2 + changed], added]


def seed_changes(work: Path, corpus: Path, cache: Path, files: list[Path], round_: int) -> tuple[int, float]:
    """``--seed-changes``: cache vectors for the chunk texts of ``files`` (the documents a 1% change
    edited or added), as ``--seed-cache`` does for the corpus, in a process of its own. The files
    are copied under their own relative paths into a folder of their own, so the seeding process
    parses and chunks only them: a document's chunks depend on that document alone. Returns (texts
    seeded, seconds)."""
    import shutil

    folder = work / f"changes-{round_}"
    for path in files:
        target = folder / path.relative_to(corpus)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    seconds, _, seeded, _ = fresh_process(SEED_CACHE, str(work / f"seed-state-{round_}"), str(cache), str(folder))
    return int(seeded), seconds


def shell(args) -> int:
    """``--shell``: a full sync and a 1%-changed sync, each in a fresh process (module docstring)."""
    import json

    work = Path(tempfile.mkdtemp(prefix="indexgate-bench-shell-"))
    corpus, state, cache = work / "corpus", work / "state", work / "cache"
    write_corpus(corpus, args.documents)
    size = sum(p.stat().st_size for p in corpus.rglob("*.md"))
    print(f"corpus: {args.documents} Markdown documents, {size / 1024:.0f} KiB, in {corpus}")
    if args.seed_cache:
        seconds, _, seeded, _ = fresh_process(SEED_CACHE, str(work / "seed-state"), str(cache), str(corpus))
        print(f"embedding cache seeded with {seeded} deterministic vectors keyed by text hash (not the model's)"
              f" in {seconds:.1f} s: the full sync embeds nothing")
    rows = []
    for label in ("full", *(["1% changed"] * args.repeat)):
        if label != "full":
            edited = change_one_percent(corpus, args.documents, len(rows))
            if args.seed_changes:
                seeded, seconds = seed_changes(work, corpus, cache, edited, len(rows))
                print(f"{'':<11} seeded {seeded} vectors for the texts of the {len(edited)} edited and added"
                      f" documents in {seconds:.1f} s (not timed): this sync embeds nothing")
        time.sleep(args.pause)
        outside, tree_kib, line, cpu = fresh_process(SHELL_SYNC, str(state), str(cache), str(corpus))
        result = json.loads(line)
        if result["action"] != "promoted":
            raise SystemExit(f"the {label} sync was {result['action']}: {result['reason']}")
        rows.append((label, outside, tree_kib, result))
        steps = ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in result["timings"].items())
        print(f"{label:<11} {outside:7.2f} s from outside (imports {result['imports']:.2f}, resources"
              f" {result['load']:.2f}, run_sync {result['sync']:.2f}); chunks {result['counts'].get('chunks')},"
              f" embedded {result['embedded']}; peak RSS {result['hwm_kib'] / 1024:.0f} MiB (the sync's process),"
              f" {tree_kib / 1024:.0f} MiB (largest of it and its children); CPU {cpu:.1f} s\n{'':<11} steps (s): {steps}")
        print(f"{'':<11} step: seconds, RSS after, peak RSS so far (MiB): "
              + "; ".join(f"{name} {sec:.2f} {rss} {peak}" for name, sec, rss, peak in result["trace"]))
        if label == "full" and args.bare:
            chunks = next(state.rglob("chunks.parquet"))  # the one version so far
            what, bare_s, bare, bare_cpu = bare_model(chunks, state)
            work_s = result["load"] + result["sync"]  # resources (model load included) and run_sync
            print(f"{what}: {bare['texts']} texts, imports {bare['imports']:.2f} s, load {bare['load']:.2f} s,"
                  f" encode {bare['encode']:.2f} s; full sync (resources + run_sync) / (load + encode):"
                  f" {work_s / (bare['load'] + bare['encode']):.2f}x (target at most 1.2x); embed step / encode:"
                  f" {result['timings'].get('embed_s', 0) / bare['encode']:.2f}x\n{'':<11} from outside: {outside:.1f} s against"
                  f" {bare_s:.1f} s ({outside / bare_s:.2f}x); CPU {cpu:.1f} s against {bare_cpu:.1f} s ({cpu / bare_cpu:.2f}x)")
    if len(rows) < 2:
        return 0
    full = rows[0][1]
    incremental = statistics.median(r[1] for r in rows[1:])
    print(f"\n1%-changed / full: {incremental:.2f} / {full:.2f} s = {incremental / full:.1%} (target at most 5%)")
    inside = statistics.median(r[3]["sync"] for r in rows[1:])
    print(f"run_sync alone (no process start, imports or resources): {inside:.2f} / {rows[0][3]['sync']:.2f} s"
          f" = {inside / rows[0][3]['sync']:.1%}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=9, help="1%%-changed syncs to time (default 9)")
    parser.add_argument("--fulls", type=int, default=3, help="full syncs to time, each in a fresh state (default 3)")
    parser.add_argument("--pause", type=float, default=6.0, help="seconds between timed syncs (default 6)")
    parser.add_argument("--library", action="store_true", help="time the library steps alone, without Prefect")
    parser.add_argument("--heartbeats", action="store_true",
                        help="keep Prefect's flow-run heartbeats on against the temporary API (Prefect's default;"
                             " the CLI switches them off there, see flows/runtime.py)")
    parser.add_argument("--shell", action="store_true",
                        help="a full and --repeat 1%%-changed syncs, each in a fresh process (run_sync), with peak RSS")
    parser.add_argument("--seed-cache", action="store_true",
                        help="with --shell: seed the embedding cache with deterministic vectors first")
    parser.add_argument("--seed-changes", action="store_true",
                        help="with --shell --seed-cache: seed the 1%%-changed syncs' new texts too (not timed), so"
                             " that no timed sync embeds with the model")
    parser.add_argument("--bare", action="store_true",
                        help="with --shell: after the full sync, the bare model on its texts in a fresh process")
    args = parser.parse_args()
    if args.seed_changes and not (args.shell and args.seed_cache):
        parser.error("--seed-changes needs --shell and --seed-cache")
    if args.shell:
        return shell(args)
    if args.repeat < 1 or args.fulls < 1 or args.documents < 2:
        parser.error("--repeat and --fulls must be at least 1, --documents at least 2")

    from indexgate.resources import resources
    from indexgate.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="indexgate-bench-"))
    os.environ.setdefault("PREFECT_HOME", str(work / "prefect"))
    corpus, original, warm = work / "corpus", work / "original", work / "warm"
    states = [work / f"state-{i}" for i in range(args.fulls)]
    write_corpus(corpus, args.documents)  # edited by the 1%-changed syncs
    write_corpus(original, args.documents)  # the same documents, never edited: for the later full syncs
    (warm / "a.md").parent.mkdir(parents=True)
    (warm / "a.md").write_text("# Warm-up\n\nA tiny document that starts the machinery.\n")
    size = sum(p.stat().st_size for p in corpus.rglob("*.md"))
    changed = max(1, round(args.documents / 100))  # documents edited before each 1%-changed sync
    print(f"corpus: {args.documents} Markdown documents, {size / 1024:.0f} KiB ({size / args.documents / 1024:.1f} KiB"
          f" each on average), in {corpus}; {changed} of them edited before each 1%-changed sync")

    started = time.perf_counter()
    res = [resources(load_settings(home=str(state))) for state in states]  # what the flow loads: reused
    print(f"model load (embedder, tokenizer, embedded Qdrant, cache index): {time.perf_counter() - started:.2f} s")

    if args.library:
        runtime = nullcontext()

        def sync_once(source: str, alias: str, state: Path) -> dict:
            return run_library(source, alias, load_settings(home=str(state)))
        mode = "the library's runner (indexgate.sync.run_sync, no Prefect, no report)"
    else:
        from indexgate_flows.runtime import flow_runs
        from indexgate_flows.sync import sync as sync_flow

        runtime = nullcontext() if args.heartbeats else flow_runs()  # as `indexgate sync` runs it

        def sync_once(source: str, alias: str, state: Path) -> dict:
            return sync_flow(source=source, alias=alias, state_dir=str(state))
        mode = ("the sync flow (indexgate_flows.sync.sync, Prefect temporary API, flow-run heartbeats "
                f"{'on' if args.heartbeats else 'off as in `indexgate sync`'})")

    stolen: dict[str, float] = {}  # steal seconds during each timed sync, by the sync's label

    def timed(source: str, state: Path, label: str) -> tuple[float, str]:
        """Seconds of one sync and what its manifest says (read now: gc retires old versions)."""
        time.sleep(args.pause)
        steal = cpu_steal()
        started = time.perf_counter()
        outcome = sync_once(source, "bench", state)
        seconds = time.perf_counter() - started
        if steal is not None:
            stolen[label] = cpu_steal() - steal
        if outcome["action"] != "promoted":
            raise SystemExit(f"the benchmark's sync was {outcome['action']}: {outcome['reason']}")
        m = res[states.index(state)].registry.load("bench", outcome["version"])
        steps = ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in m.timings.items())
        return seconds, (f"documents {m.counts['documents']} (parsed {m.changes.get('documents_parsed')}), chunks"
                         f" {m.counts['chunks']} (carried {m.changes.get('chunks_carried')}), embedded"
                         f" {m.embedding['embedded']}, reused {m.embedding['reused']}\n{'':<18} steps (s): {steps}")

    victims = sorted(corpus.rglob("*.md"))

    def incremental(i: int) -> tuple[float, str]:
        first = args.documents // 2 + 7 * changed * i
        for k in range(changed):  # consecutive documents: distinct
            with open(victims[(first + k) % args.documents], "a", encoding="utf-8") as fh:
                fh.write(f"\nThe planning group verifies the revised cut-off times before {16 + i % 8}:00 UTC.\n")
        return timed(str(corpus), states[0], f"1%-changed sync {i + 1}")

    with runtime:
        started = time.perf_counter()
        sync_once(str(warm), "warmup", states[0])
        print(f"warm-up sync of 1 tiny document (starts Prefect's API when used): {time.perf_counter() - started:.2f} s")
        # F I I I F I I I ... (module docstring). The first full sync (of the corpus, not edited yet)
        # makes the live version that the 1%-changed syncs of the same folder start from.
        fulls, incrementals, rows = [], [], []
        for f, state in enumerate(states):
            fulls.append(timed(str(corpus if f == 0 else original), state, f"full sync {f + 1}"))
            rows.append((f"full sync {f + 1}", *fulls[-1]))
            for i in range(args.repeat * f // args.fulls, args.repeat * (f + 1) // args.fulls):
                incrementals.append(incremental(i))
                rows.append((f"1%-changed sync {i + 1}", *incrementals[-1]))

    print(f"\ntimed: {mode}, whole call, warm process, {args.pause:g} s pause before each, in this order\n")
    for label, seconds, summary in rows:
        steal = f"   (steal {stolen[label]:.2f} s)" if label in stolen else ""
        print(f"{label:<18} {seconds:7.2f} s   {summary}{steal}")
    full_s = statistics.mean(s for s, _ in fulls)
    times = sorted(s for s, _ in incrementals)
    incremental_s = statistics.median(times)
    ratio = incremental_s / full_s
    verdict = "met" if ratio <= 0.05 else "MISSED"
    print(f"\nfull sync: mean {full_s:.2f} s of {len(fulls)} ({', '.join(f'{s:.2f}' for s, _ in fulls)})")
    print(f"1%-changed sync: median {incremental_s:.2f} s of {len(times)} (min {times[0]:.2f}, max {times[-1]:.2f})")
    print(f"ratio median 1%-changed / mean full: {ratio:.3f} ({ratio:.1%}; target at most 5%: {verdict})")
    if stolen:
        cores = os.cpu_count() or 1
        for kind, timed_syncs in (("full", fulls), ("1%-changed", incrementals)):
            labels = [k for k in stolen if k.startswith(kind)]
            share = sum(stolen[k] for k in labels) / (sum(s for s, _ in timed_syncs) * cores)
            print(f"steal during the {kind} syncs: {sum(stolen[k] for k in labels):.2f} s, {share:.1%} of their"
                  f" {cores} cores' time (CPU time the hypervisor gave to other machines; /proc/stat)")
    from indexgate import resources as shared

    shared.reset()  # close embedded Qdrant now, not during interpreter shutdown
    return 0


if __name__ == "__main__":
    sys.exit(main())
