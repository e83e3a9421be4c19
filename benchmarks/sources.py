"""Print what the S3 spool and ETag index save, and what parsing in a limited worker costs.

    .venv/bin/python benchmarks/sources.py [--objects 300] [--size 20000]

Runs a local S3 endpoint (moto's server on loopback; no IAM), so the timings are of the client
and the server on this machine, not of a network: read them as request counts and relative
costs. Needs the test extras (``pip install -e '.[test]'``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--size", type=int, default=20_000, help="bytes per object")
    args = parser.parse_args()

    import boto3
    from docwriters import PAGES, make_docx, make_pdf
    from moto.server import ThreadedMotoServer

    from indexgate.parsing.corpus import parse_snapshot
    from indexgate.parsing.worker import ParserProcess
    from indexgate.settings import S3Config, SourceConfig
    from indexgate.sources import S3Source, Spool

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1")
    gets: list = []
    session.events.register("provide-client-params.s3.GetObject", lambda params, **kw: gets.append(1))
    s3 = session.client("s3", endpoint_url=f"http://{host}:{port}")
    s3.create_bucket(Bucket="bench")
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
    for i in range(args.objects):
        s3.put_object(Bucket="bench", Key=f"docs/{i:05d}.md", Body=(f"# Doc {i}\n\n".encode() + line * (args.size // len(line))))
    config = SourceConfig(s3=S3Config(endpoint_url=f"http://{host}:{port}"))
    work = Path(tempfile.mkdtemp(prefix="bench-sources-"))

    def run(label, spool, parse):
        gets.clear()
        source = S3Source("s3://bench/docs", config, spool=spool, session=session)
        started = time.perf_counter()
        snap = source.snapshot()
        snap_s = time.perf_counter() - started
        snap_gets = len(gets)
        parse_s = 0.0
        if parse:
            started = time.perf_counter()
            parse_snapshot(source, snap, work / "documents.parquet", spool=spool)
            parse_s = time.perf_counter() - started
        print(f"{label:<46} snapshot {snap_s:6.2f} s ({snap_gets:4d} GETs)   parse {parse_s:6.2f} s"
              f" ({len(gets) - snap_gets:4d} GETs)")

    print(f"{args.objects} objects of {args.size:,} bytes on a loopback S3 endpoint")
    run("no spool: hash, then download again to parse", None, True)
    spool = Spool(work / "spool", 1 << 30)
    run("spool, first sync", spool, True)
    run("spool + ETag index, unchanged re-sync", spool, False)

    files = {"a.md": b"# Title\n\n" + line * 50, "b.pdf": make_pdf(PAGES * 5), "c.docx": make_docx()}
    with ParserProcess() as worker:
        started = time.perf_counter()
        worker.parse("warm.md", b"x")
        start_s = time.perf_counter() - started
        for name, data in files.items():
            started, n = time.perf_counter(), 50
            for _ in range(n):
                worker.parse(name, data)
            isolated = (time.perf_counter() - started) / n
            from indexgate.parsing import parse

            started = time.perf_counter()
            for _ in range(n):
                parse(name, data)
            inline = (time.perf_counter() - started) / n
            print(f"parse {name:<7} ({len(data):6,} bytes): {isolated * 1000:7.2f} ms in the worker,"
                  f" {inline * 1000:7.2f} ms in-process")
    print(f"worker start (spawn, imports, first file): {start_s:.2f} s, once per parse step")
    server.stop()
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
