"""Shared test set-up: an offline, quiet environment and settings in a temporary state dir.

A test that needs a built version calls the library, never a copy of its steps:
:func:`indexgate.sync.build_shadow` for a shadow without gates, :func:`indexgate.sync.run_sync`
for a whole sync (validation, decision, smoke check and gc included)."""

from __future__ import annotations

import ctypes
import os
from contextlib import contextmanager

for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_EXTRA_LOGGERS": "indexgate",
    # Library log lines outside a flow run (e.g. `indexgate search`) stay local, without a warning.
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    # Tests reach S3 only on loopback (moto); never let boto3 look for instance credentials.
    "AWS_EC2_METADATA_DISABLED": "true",
}.items():
    os.environ.setdefault(_key, _value)
# Tests must never read the user's state or a developer's Qdrant server by accident: only tests
# marked `server` use QDRANT_URL, through the `qdrant_url` fixture.
QDRANT_SERVER_URL = os.environ.get("QDRANT_URL")
for _key in ("INDEXGATE_HOME", "QDRANT_URL", "QDRANT_API_KEY", "INDEXGATE_QDRANT_URL"):
    os.environ.pop(_key, None)

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# The tests' additions to IndexGate (the fake embedder kind, the pause handler), here and in every
# process the tests start (install() puts the folder on the PYTHONPATH they inherit).
sys.path.insert(0, str(Path(__file__).resolve().parent / "doubles"))
import indexgate_test_doubles  # noqa: E402

indexgate_test_doubles.install()

import pytest  # noqa: E402

from indexgate import resources  # noqa: E402
from indexgate.settings import load_settings  # noqa: E402


@pytest.fixture(autouse=True)
def _release_resources():
    """Close store clients after each test so embedded Qdrant folders are unlocked."""
    yield
    resources.reset()


@pytest.fixture
def fake_settings(tmp_path):
    """Settings with the deterministic fake embedder: no model, fast."""
    return load_settings(home=str(tmp_path / "state"), embedder={"kind": "fake", "model": "fake"})


@pytest.fixture
def write_corpus(tmp_path):
    """Write {relative path: text} under a folder and return the folder."""

    def write(files: dict[str, str], root=None):
        root = root or tmp_path / "corpus"
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="")
        return root

    return write


class S3Server:
    """A real S3 HTTP endpoint (moto's server mode) on a random loopback port, with IAM enforced.

    Every request must be signed with keys of an IAM user created on it, and moto evaluates that
    user's policies: ``admin`` may do anything (test set-up); ``reader`` may list any bucket and
    get any object except under a ``private/`` folder, where an explicit Deny makes the server
    answer a real 403 AccessDenied.
    """

    def __init__(self, endpoint: str, admin: dict, reader: dict):
        self.endpoint = endpoint
        self.admin_keys, self.reader_keys = admin, reader

    def session(self, keys: dict | None = None):
        import boto3

        keys = keys or self.reader_keys
        return boto3.session.Session(aws_access_key_id=keys["AccessKeyId"],
                                     aws_secret_access_key=keys["SecretAccessKey"], region_name="us-east-1")

    def client(self, service: str = "s3", keys: dict | None = None):
        return self.session(keys or self.admin_keys).client(service, endpoint_url=self.endpoint)

    def bucket(self, objects: dict[str, bytes]) -> str:
        """A new bucket holding ``objects`` (key -> bytes); returns its name."""
        import uuid

        name = f"igtest-{uuid.uuid4().hex[:12]}"
        s3 = self.client()
        s3.create_bucket(Bucket=name)
        for key, body in objects.items():
            s3.put_object(Bucket=name, Key=key, Body=body)
        return name

    def user(self, name: str, statements: list[dict]) -> dict:
        import json

        iam = self.client("iam")
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="access",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
        return iam.create_access_key(UserName=name)["AccessKey"]


@pytest.fixture(scope="session")
def s3_server():
    import json

    import boto3
    import requests
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # Set-up runs before IAM is enforced (moto's default), with any keys.
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="setup", aws_secret_access_key="setup")
    keys = {}
    for user, statements in {
        "admin": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        "reader": [
            {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"],
             "Resource": ["arn:aws:s3:::*", "arn:aws:s3:::*/*"]},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::*/private/*"},
        ],
    }.items():
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="access",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
        keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
    # From now on every request is authenticated and authorised against IAM (moto's reset-auth
    # endpoint sets the number of unauthenticated requests still allowed to 0).
    requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        yield S3Server(endpoint, keys["admin"], keys["reader"])
    finally:
        requests.post(f"{endpoint}/moto-api/reset-auth", data=b"inf", timeout=10)
        server.stop()


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


@contextmanager
def _file_permissions_enforced():
    """Make the kernel enforce file permissions on this thread even when running as root (as the
    tests and CI do): CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH leave the thread's effective set
    and are restored afterwards. A real EACCES from the kernel, not a mock."""
    if os.geteuid() != 0:
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    version_3 = 0x20080522
    caps = (_CapData * 2)()
    if libc.capget(ctypes.byref(_CapHeader(version_3, 0)), caps) != 0:
        pytest.skip(f"capget failed: {os.strerror(ctypes.get_errno())}")
    saved = caps[0].effective
    caps[0].effective &= ~((1 << 1) | (1 << 2))  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
    if libc.capset(ctypes.byref(_CapHeader(version_3, 0)), caps) != 0:
        pytest.skip(f"capset failed: {os.strerror(ctypes.get_errno())}")
    try:
        yield
    finally:
        caps[0].effective = saved
        libc.capset(ctypes.byref(_CapHeader(version_3, 0)), caps)


@pytest.fixture
def locked_folder():
    """``locked_folder(path)``: a context in which ``path`` cannot be listed (mode 000, enforced
    for this thread even as root); permissions are restored afterwards."""

    @contextmanager
    def lock(path):
        os.chmod(path, 0)
        try:
            with _file_permissions_enforced():
                yield path
        finally:
            os.chmod(path, 0o755)

    return lock


BEIR_CORPUS = [
    {"_id": "d1", "title": "Parental leave", "text": "Birth parents receive 20 weeks of fully paid leave."},
    {"_id": "d2", "title": "Partner leave", "text": "Partners receive 10 weeks of paid leave within the first year."},
    {"_id": "d3", "title": "Backups", "text": "Database backups run every night at 02:00 UTC and are kept 35 days."},
    {"_id": "d4", "title": "", "text": "The route optimiser recalculates delivery routes every 15 minutes."},
    {"_id": "d5", "title": "Passwords", "text": "Passwords must be at least 14 characters long."},
    {"_id": "d6", "title": "Canteen", "text": "The canteen serves lunch from noon until two in the afternoon."},
]
BEIR_QUERIES = [
    {"_id": "q1", "text": "How many weeks of paid leave do parents get?", "metadata": {}},
    {"_id": "q2", "text": "When do database backups run?", "metadata": {}},
    {"_id": "q3", "text": "How long must a password be?", "metadata": {}},
    {"_id": "q4", "text": "A query with only non-relevant judgments", "metadata": {}},
    {"_id": "q5", "text": "A training query that is not in the test split", "metadata": {}},
]
BEIR_QRELS = [("q1", "d1", 2), ("q1", "d2", 1), ("q2", "d3", 1), ("q3", "d5", 1), ("q3", "d6", 0), ("q4", "d6", 0)]


@pytest.fixture
def beir_dir(tmp_path):
    """A tiny BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv (with its header line)."""
    import json

    root = tmp_path / "beir"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in BEIR_CORPUS), encoding="utf-8")
    (root / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in BEIR_QUERIES), encoding="utf-8")
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{s}\n" for q, d, s in BEIR_QRELS), encoding="utf-8")
    return root


@pytest.fixture
def qdrant_url():
    """The Qdrant server of `server` tests (QDRANT_URL); skips the test when none is set."""
    if not QDRANT_SERVER_URL:
        pytest.skip("needs a Qdrant server: set QDRANT_URL (e.g. http://127.0.0.1:6333) to run it")
    return QDRANT_SERVER_URL


@pytest.fixture
def webhook():
    """A real HTTP receiver on a random loopback port: ``webhook.url``, and ``webhook.posts``, the
    JSON bodies POSTed to it so far (a test that expects one waits with ``webhook.wait(n)``)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict] = []
    arrived = threading.Condition()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with arrived:
                received.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                              "json": json.loads(body)})
                arrived.notify_all()
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    class Receiver:
        url = f"http://127.0.0.1:{server.server_port}/hook"

        @property
        def posts(self):
            return [p["json"] for p in received]

        def wait(self, n: int, timeout: float = 30) -> list[dict]:
            with arrived:
                arrived.wait_for(lambda: len(received) >= n, timeout)
            return self.posts

        raw = received  # with each request's path and content type

    yield Receiver()
    server.shutdown()
    server.server_close()
