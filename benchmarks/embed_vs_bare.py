"""Benchmark: IndexGate's embedder against the bare ONNX file, on the same texts, fresh processes.

    .venv/bin/python benchmarks/embed_vs_bare.py [--documents 100] [--rounds 3] [--quality] [--sync]
        [--quality-nice N ...]

Issue 21 asks that a full sync cost at most 1.2x the bare model (load + encode). This isolates
the embedding part of that ratio. It writes the corpus of ``benchmarks/incremental_sync.py``,
snapshots, parses and chunks it once (a throw-away state folder), and takes the distinct texts a
full sync embeds (embed prefix, then text, table order). Then, per round, interleaved, each a new
process:

- ``bare``: ``benchmarks/peers.py``'s bare ONNX script (onnxruntime and the model's tokenizer
  alone, batches of 32 sorted by length: sentence-transformers' default), on the ONNX file
  IndexGate embeds with;
- ``indexgate``: the configured embedder (the defaults: the ``onnx`` backend), its model load,
  then ``embed_documents`` on calls of 256 texts, as ``embed_chunks`` makes them;
- with ``--quality``, also ``indexgate+quality``: the same, with the quality worker started (its
  Great Expectations import: seconds of CPU) as the embedding starts. In a sync it starts with
  the snapshot and imports while the sync parses, chunks and embeds.
- with ``--sync``, also ``sync``: ``indexgate sync --json`` of the whole corpus from empty, with its
  default gates (a new state folder each round; the user's ONNX export is reused). Its line says
  where the CPU went, process by process: the sync's own process, the quality worker, the parse
  worker and any other (the guardian, multiprocessing's resource tracker). They are told apart by
  the libraries each maps (scipy: the quality worker; lxml: the parse worker), sampled from
  ``/proc`` every 0.2 s, so a worker's last 0.2 s may be missed. The sync's own process is read
  once it has exited, before it is reaped: exact. Its ratio is over the bare script's load +
  encode of the same round (issue 21's target: at most 1.2x).
- with ``--sync --quality-nice N ...``, one such sync per niceness of the quality worker
  (``INDEXGATE_LIFECYCLE__QUALITY_NICE``) instead, interleaved in each round.

Each line gives the model load, the encode, the CPU seconds of the process and its children (the
quality worker's included) and the peak RSS of the largest of them, and the load
average when it started (the machine is shared: read the figures by it). The end prints the
medians, and the largest difference between IndexGate's vectors and the bare script's
(a first, untimed run of the bare script saves its vectors: ``peers.py peer bare-onnx ... OUT.npy``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

# Prepares the texts: snapshot, plan, parse and chunk in a throw-away state; the distinct texts
# of the chunks table, in table order, as embed_chunks sends them. Prints the ONNX file too.
PREPARE = """
import json, sys
import pyarrow.parquet as pq
from indexgate.resources import resources
from indexgate.settings import load_settings
from indexgate.sync import chunk, parse, plan, snapshot
res = resources(load_settings(home=sys.argv[1]))
snap = snapshot(sys.argv[2], res.settings)
planned = plan(res, "texts", snap, False, False)
parse(res, planned, sys.argv[2], snap)
chunk(res, planned, True)
rows = pq.read_table(planned.chunks_path, columns=["text_hash", "embed_prefix", "text"]).to_pylist()
texts = list({r["text_hash"]: (r["embed_prefix"] or "") + r["text"] for r in rows}.values())
open(sys.argv[3], "w", encoding="utf-8").write(json.dumps(texts))
print(json.dumps({"texts": len(texts), "onnx_file": str(res.embedder.model_file), "model": str(res.embedder.folder)}))
"""

# IndexGate's embedder alone: built as resources() builds it, loaded, then embed_documents on
# calls of 256 texts (embed_chunks' batches). Optionally the quality worker starts with the encode.
INDEXGATE = """
import json, resource, sys, time
started = time.perf_counter()
import numpy as np
from indexgate.embedding import make_embedder
from indexgate.settings import load_settings
imported = time.perf_counter()
settings = load_settings(home=sys.argv[1])
embedder = make_embedder(settings.embedder, settings.models_folder)
embedder.model
loaded = time.perf_counter()
texts = json.load(open(sys.argv[2], encoding="utf-8"))
if sys.argv[4] == "quality":
    from indexgate.quality import warm_up
    warm_up()
begin = time.perf_counter()
vectors = np.concatenate([embedder.embed_documents(texts[i:i + 256]) for i in range(0, len(texts), 256)])
done = time.perf_counter()
np.save(sys.argv[3], vectors)
usage = resource.getrusage(resource.RUSAGE_SELF)
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM"))
print(json.dumps({"imports_s": imported - started, "load_s": loaded - imported, "encode_s": done - begin,
                  "cpu_s": usage.ru_utime + usage.ru_stime, "hwm_mib": hwm // 1024, "texts": len(texts)}))
"""


def child(args: list[str], cwd: Path) -> tuple[float, dict, float, int]:
    """Run ``python args`` in a new process in ``cwd`` (no indexgate.yaml there: the defaults);
    (seconds from outside, the JSON of its last line, CPU seconds, peak RSS in MiB)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True, cwd=cwd, env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"a benchmark process failed: {args[:2]}")
    last = out.strip().splitlines()[-1].removeprefix("PEER-RESULT ") if out.strip() else "{}"
    return seconds, json.loads(last), usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024


def _stat(pid: int) -> tuple[str, list[int]] | None:
    """(state, [utime, stime]) in clock ticks from /proc/PID/stat; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            text = fh.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], [int(fields[11]), int(fields[12])]


def _role(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/maps") as fh:
            maps = fh.read()
    except OSError:
        return "other"
    return "quality worker" if "/scipy/" in maps else "parse worker" if "/lxml/" in maps else "other"


def sync_child(corpus: Path, state: Path, cwd: Path, nice: int | None = None) -> tuple[float, dict, dict[str, float]]:
    """One ``indexgate sync --json`` in a new process: (seconds from outside, its JSON, CPU
    seconds by process role: ``main``, ``quality worker``, ``parse worker``, ``other``). ``nice``:
    the quality worker's niceness (``lifecycle.quality_nice``; None: the default)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "HF_HUB_OFFLINE": "1", "PREFECT_HOME": str(cwd / "prefect"),
           **({"INDEXGATE_LIFECYCLE__QUALITY_NICE": str(nice)} if nice is not None else {})}
    cmd = [str(Path(sys.executable).parent / "indexgate"), "sync", "--state-dir", str(state), "--source", str(corpus),
           "--alias", "bench", "--json"]
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, cwd=cwd, env=env)
        children: dict[int, tuple[str, int]] = {}  # pid -> (role, last CPU ticks seen)
        while (own := _stat(proc.pid)) is not None and own[0] != "Z":
            try:
                with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as fh:
                    pids = [int(p) for p in fh.read().split()]
            except OSError:
                pids = []
            for pid in pids:
                ticks = _stat(pid)
                if ticks is not None:
                    # A worker maps its libraries as it imports them: looked up again until it has.
                    role = children[pid][0] if pid in children and children[pid][0] != "other" else _role(pid)
                    children[pid] = (role, sum(ticks[1]))
            time.sleep(0.2)
        proc.wait()
        seconds = time.perf_counter() - started
        if proc.returncode or own is None:
            raise SystemExit(f"indexgate sync failed ({proc.returncode})")
        out.seek(0)
        result = json.loads(out.read())
    cpu = {"main": sum(own[1]) / hz, "quality worker": 0.0, "parse worker": 0.0, "other": 0.0}
    for role, ticks in children.values():
        cpu[role] += ticks / hz
    return seconds, result, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quality", action="store_true", help="also run the embedder with the quality worker starting")
    parser.add_argument("--sync", action="store_true",
                        help="also run a full `indexgate sync` of the corpus, with its CPU process by process")
    parser.add_argument("--quality-nice", type=int, nargs="+", metavar="N",
                        help="with --sync: one sync per niceness of the quality worker, interleaved")
    args = parser.parse_args()
    from incremental_sync import write_corpus

    work = Path(tempfile.mkdtemp(prefix="indexgate-embed-vs-bare-"))
    corpus, texts = work / "corpus", work / "texts.json"
    write_corpus(corpus, args.documents)
    _, prep, _, _ = child(["-c", PREPARE, str(work / "state"), str(corpus), str(texts)], work)
    print(f"{args.documents} documents, {prep['texts']} distinct texts; ONNX file {prep['onnx_file']}")
    import numpy as np

    child([str(BENCH / "peers.py"), "peer", "bare-onnx", str(texts), prep["model"], prep["onnx_file"],
           str(work / "bare.npy")], work)  # once, untimed: the bare script's vectors, for the comparison
    # Each sync mode and the quality worker's niceness it runs with (None: the default).
    syncs = {f"sync nice {n}": n for n in args.quality_nice} if args.quality_nice else {"sync": None}
    modes = ["bare", "indexgate", *(["indexgate+quality"] if args.quality else []), *(syncs if args.sync else [])]
    results: dict[str, list[dict]] = {m: [] for m in modes}
    for round_ in range(args.rounds):
        for mode in modes:
            load = os.getloadavg()[0]
            if mode in syncs:
                state = work / f"sync-{round_}"
                seconds, out, cpu = sync_child(corpus, state, work, syncs[mode])
                shutil.rmtree(state, ignore_errors=True)
                bare = results["bare"][-1]
                row = {"outside_s": seconds, "load_s": 0.0, "encode_s": seconds, "cpu_s": sum(cpu.values()),
                       "hwm_mib": 0, "loadavg": load, "cpu": cpu, "embed_s": out["seconds"].get("embed", 0.0)}
                results[mode].append(row)
                print(f"round {round_ + 1} {mode:<18} outside {seconds:6.2f} s"
                      f" ({seconds / (bare['load_s'] + bare['encode_s']):.2f}x the bare load + encode),"
                      f" embed step {row['embed_s']:6.2f} s, CPU {row['cpu_s']:6.2f} s: "
                      + ", ".join(f"{role} {value:.2f}" for role, value in cpu.items())
                      + f"; load average {load:.2f}", flush=True)
                continue
            if mode == "bare":
                cmd = [str(BENCH / "peers.py"), "peer", "bare-onnx", str(texts), prep["model"], prep["onnx_file"]]
                seconds, out, cpu, hwm = child(cmd, work)
            else:
                cmd = ["-c", INDEXGATE, str(work / "state"), str(texts), str(work / "indexgate.npy"),
                       "quality" if mode.endswith("quality") else "-"]
                seconds, out, cpu, hwm = child(cmd, work)
            row = {"outside_s": seconds, "load_s": out["load_s"], "encode_s": out["encode_s"], "cpu_s": cpu,
                   "hwm_mib": hwm, "loadavg": load}
            results[mode].append(row)
            print(f"round {round_ + 1} {mode:<18} load {row['load_s']:5.2f} s, encode {row['encode_s']:6.2f} s,"
                  f" outside {seconds:6.2f} s, CPU {cpu:6.2f} s (with children), peak RSS {hwm:4d} MiB;"
                  f" load average {load:.2f}", flush=True)
    print()
    base = statistics.median(r["load_s"] + r["encode_s"] for r in results["bare"])
    for mode, rows in results.items():
        if mode in syncs:
            roles = rows[0]["cpu"]
            print(f"{mode:<18} median outside {statistics.median(r['outside_s'] for r in rows):6.2f} s"
                  f" ({statistics.median(r['outside_s'] for r in rows) / base:.2f}x),"
                  f" CPU {statistics.median(r['cpu_s'] for r in rows):6.2f} s: "
                  + ", ".join(f"{role} {statistics.median(r['cpu'][role] for r in rows):.2f}" for role in roles))
            continue
        inner = statistics.median(r["load_s"] + r["encode_s"] for r in rows)
        print(f"{mode:<18} median load + encode {inner:6.2f} s ({inner / base:.2f}x the bare script),"
              f" CPU {statistics.median(r['cpu_s'] for r in rows):6.2f} s,"
              f" peak RSS {statistics.median(r['hwm_mib'] for r in rows):5.0f} MiB")
    diff = np.abs(np.load(work / "indexgate.npy") - np.load(work / "bare.npy")).max()
    print(f"largest difference between IndexGate's vectors and the bare script's: {diff:.2e}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
