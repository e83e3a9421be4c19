"""Sample the memory of other processes from outside, as the kernel counts it: ``VmRSS``, and of
it ``RssAnon`` (the process's own memory) and ``RssFile`` (mapped file pages, which the kernel
can drop and read again). Writes one line per sample: seconds since the watcher started, pid,
VmRSS, RssAnon, RssFile (MiB). At the end it prints the peak of each per pid.

It never touches the watched processes: it reads ``/proc/<pid>/status``. Run it beside a
benchmark, e.g. the 10,000-document sync of ``incremental_sync.py --shell``:

    python benchmarks/memory_watch.py --match run_sync --out /tmp/rss.tsv --seconds 600 &

Each sync process prints its per-step seconds; the sample times place the steps.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def status(pid: int) -> dict[str, int] | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            fields = dict(line.split(":", 1) for line in fh)
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    return {k: int(fields[k].split()[0]) // 1024 for k in ("VmRSS", "RssAnon", "RssFile") if k in fields}


def matching(text: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if text.encode() in fh.read():
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--match", required=True, help="a string in the command lines to watch")
    parser.add_argument("--out", required=True)
    parser.add_argument("--every", type=float, default=0.05, help="seconds between samples")
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args()
    started = time.monotonic()
    peaks: dict[int, dict[str, int]] = {}
    with open(args.out, "w") as out:
        out.write("t\tpid\tVmRSS\tRssAnon\tRssFile\n")
        while time.monotonic() - started < args.seconds:
            now = time.monotonic() - started
            for pid in matching(args.match):
                got = status(pid)
                if got and len(got) == 3:
                    out.write(f"{now:.2f}\t{pid}\t{got['VmRSS']}\t{got['RssAnon']}\t{got['RssFile']}\n")
                    peak = peaks.setdefault(pid, dict.fromkeys(got, 0))
                    for k, v in got.items():
                        peak[k] = max(peak[k], v)
            out.flush()
            time.sleep(args.every)
    for pid, peak in peaks.items():
        print(f"pid {pid}: peak VmRSS {peak['VmRSS']} MiB, RssAnon {peak['RssAnon']} MiB, RssFile {peak['RssFile']} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
