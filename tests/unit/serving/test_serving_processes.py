"""Readers and writers in different processes never block each other.

A reader in another process (an application on the Python API, `indexgate serve-api`, or
`indexgate search` run again and again) queries the alias in a loop while this process builds
versions and moves the alias through two promotions and a rollback. Zero errors; every answer
comes wholly from one version, which the alias served at some moment while that query ran (so
from the version it pointed at when the query started, the instant its pointer was read); and
each move is picked up without a restart.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from indexgate import resources
from indexgate.lifecycle.promotion import rollback
from indexgate.sync import run_sync
from serving_corpus import DOCS

INDEXGATE = str(Path(sys.executable).with_name("indexgate"))
QUERY = "canteen serves lunch"
# An application: one Index, queried in a loop until told to stop; one JSON line per query.
APPLICATION = """
import json, os, sys, time
from indexgate.serving import Index
from indexgate.settings import load_settings

state, log, stop = sys.argv[1:4]
with open(log, "a") as out:
    try:
        index = Index.open("docs", load_settings(home=state))
    except Exception as exc:
        out.write(json.dumps({"t0": time.monotonic_ns(), "t1": time.monotonic_ns(),
                              "error": f"open: {type(exc).__name__}: {exc}"}) + "\\n")
        sys.exit(1)
    while not os.path.exists(stop):
        t0 = time.monotonic_ns()
        try:
            a = index.search(%r, 3)
            rec = {"version": a.version, "hits": [h.version for h in a.hits]}
        except Exception as exc:
            rec = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps({"t0": t0, "t1": time.monotonic_ns(), **rec}) + "\\n")
        out.flush()
        time.sleep(0.005)
""" % QUERY


def _record(t0: int, body: dict | None, error: str | None = None) -> dict:
    if error is not None:
        return {"t0": t0, "t1": time.monotonic_ns(), "error": error}
    return {"t0": t0, "t1": time.monotonic_ns(), "version": body["version"], "hits": [h["version"] for h in body["hits"]]}


class Reader:
    """A reader in another process; ``records()`` lists its queries so far (CLOCK_MONOTONIC is
    one clock for every process of the machine, so their times compare with this process's)."""

    def __init__(self, kind: str, state: Path, workdir: Path):
        self.kind, self.state, self.workdir = kind, state, workdir
        self.stop_file = workdir / "stop"
        self.log = workdir / "reader.jsonl"
        self._records: list[dict] = []
        self._stop = threading.Event()
        self._thread = self.proc = None
        env = {**os.environ, "INDEXGATE_HOME": str(state)}
        if kind == "python":
            self.proc = subprocess.Popen([sys.executable, "-c", APPLICATION, str(state), str(self.log),
                                          str(self.stop_file)], env=env, stderr=open(workdir / "stderr", "w"))
        elif kind == "http":
            self.proc = subprocess.Popen([INDEXGATE, "serve-api", "--alias", "docs", "--port", "0"], env=env,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self._thread = threading.Thread(target=self._http_loop, daemon=True)
            self._thread.start()
        else:
            self._thread = threading.Thread(target=self._cli_loop, args=(env,), daemon=True)
            self._thread.start()

    def _http_loop(self):
        url, started = None, []
        for line in self.proc.stdout:
            started.append(line)
            if "Uvicorn running on " in line:
                url = line.split("Uvicorn running on ")[1].split()[0]
                break
        if url is None:
            self._records.append(_record(time.monotonic_ns(), None, "serve-api did not start: " + "".join(started)[-800:]))
            return
        # Keep reading its log, so the server never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        with httpx.Client(base_url=url, timeout=60) as http:
            while not self._stop.is_set():
                t0 = time.monotonic_ns()
                try:
                    response = http.post("/search", json={"query": QUERY, "k": 3})
                    self._records.append(_record(t0, response.json()) if response.status_code == 200
                                         else _record(t0, None, f"HTTP {response.status_code}: {response.text}"))
                except httpx.HTTPError as exc:
                    self._records.append(_record(t0, None, f"{type(exc).__name__}: {exc}"))

    def _cli_loop(self, env):
        while not self._stop.is_set():
            t0 = time.monotonic_ns()
            done = subprocess.run([INDEXGATE, "search", "--alias", "docs", QUERY, "-k", "3", "--json"], env=env,
                                  capture_output=True, text=True, timeout=300)
            self._records.append(_record(t0, json.loads(done.stdout)) if done.returncode == 0
                                 else _record(t0, None, done.stderr.strip()[-500:]))

    def records(self) -> list[dict]:
        if self.kind == "python":
            text = self.log.read_text() if self.log.exists() else ""
            return [json.loads(line) for line in text.splitlines() if line.endswith("}")]
        return list(self._records)

    def wait_for(self, version: str, after_ns: int, n: int, timeout: float = 180) -> None:
        """Until ``n`` queries started after ``after_ns`` were answered from ``version``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            recs = self.records()
            errors = [r["error"] for r in recs if "error" in r]
            assert not errors, f"{len(errors)} errors, the first: {errors[0]}"
            if sum(1 for r in recs if r["t0"] > after_ns and r.get("version") == version) >= n:
                return
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the {self.kind} reader exited ({self.proc.returncode})")
            time.sleep(0.05)
        raise AssertionError(f"the {self.kind} reader never answered from {version} after the move: {self.records()[-3:]}")

    def stop(self) -> None:
        self.stop_file.touch()
        self._stop.set()
        if self._thread is not None:
            # The querying thread finishes its last query before the server goes away.
            self._thread.join(300)
        if self.proc is not None:
            if self.kind == "http":
                self.proc.send_signal(signal.SIGINT)  # uvicorn's own shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _possibly_live(moves, first, t0, t1):
    """Versions the alias may have served at some instant of [t0, t1]: before, during and after
    each move window (the writer's times just before and after the call that moved it)."""
    live, possible = first, set()
    for before, after, old, new in moves:
        if after < t0:
            live = new
            continue
        if before <= t1:
            possible |= {old, new}
    return possible | {live}


@pytest.mark.parametrize("kind", ["python", "http", "cli"])
def test_a_reader_in_another_process_answers_through_promotions_and_a_rollback(kind, fake_settings, write_corpus,
                                                                                 tmp_path):
    res = resources.resources(fake_settings)
    root = write_corpus(DOCS)
    _, first = run_sync(res, "docs", root)
    assert first.action == "promoted"
    reader = Reader(kind, fake_settings.home, tmp_path)
    moves = []
    per_phase = 2 if kind == "cli" else 20

    def move(how):
        before = time.monotonic_ns()
        version = how()
        moves.append((before, time.monotonic_ns(), moves[-1][3] if moves else first.version, version))
        return version

    try:
        reader.wait_for(first.version, 0, per_phase)
        # Two syncs build, check and promote the next versions while the reader reads.
        (root / "canteen.md").write_text("The canteen serves lunch from noon until two.\n")
        second = move(lambda: run_sync(res, "docs", root).outcome.version)
        reader.wait_for(second, moves[-1][1], per_phase)
        (root / "canteen.md").write_text("The canteen serves lunch from noon until two; the cafe opens at eight.\n")
        third = move(lambda: run_sync(res, "docs", root).outcome.version)
        reader.wait_for(third, moves[-1][1], per_phase)
        move(lambda: rollback(res.store, res.registry, "docs", by="test").to_version)
        reader.wait_for(second, moves[-1][1], per_phase)
    finally:
        reader.stop()

    assert [m[3] for m in moves] == [second, third, second] and len({first.version, second, third}) == 3
    records = reader.records()
    assert not [r for r in records if "error" in r]
    for r in records:
        assert r["hits"] and set(r["hits"]) == {r["version"]}, r  # wholly from one version
        assert r["version"] in _possibly_live(moves, first.version, r["t0"], r["t1"]), (r, moves)
    assert {r["version"] for r in records} == {first.version, second, third}


def test_a_syncs_regression_gate_and_smoke_check_run_while_another_process_reads_the_live_version(
        fake_settings, write_corpus, tmp_path):
    """The sync's checks of the live version (the regression gate scores it; the smoke check
    queries through the alias) work while an application in another process holds and queries it."""
    from tiny import DOCS as TINY, write_golden

    res = resources.resources(fake_settings)
    root = write_corpus(TINY)
    golden = str(write_golden(tmp_path / "golden.jsonl"))
    _, first = run_sync(res, "docs", root, golden)
    assert first.action == "promoted", first.reason
    reader = Reader("python", fake_settings.home, tmp_path)
    try:
        reader.wait_for(first.version, 0, 5)
        with open(root / "ops/backups.md", "a") as fh:
            fh.write("Restores are tested every quarter.\n")
        started = time.monotonic_ns()
        _, second = run_sync(res, "docs", root, golden)
        assert second.action == "promoted", second.reason
        reader.wait_for(second.version, started, 5)
    finally:
        reader.stop()
    quality = res.registry.load("docs", second.version).quality
    assert quality["live"]["version"] == first.version and quality["live"]["problem"] is None  # the live one was scored
    assert quality["comparisons"]  # and compared: the regression gate ran against it
    smoke = res.registry.load("docs", second.version).decision["smoke"]
    assert smoke["passed"] and smoke["kind"] == "golden", smoke  # the smoke check, through the alias
    assert [r for r in reader.records() if "error" in r] == []
