"""Shared test set-up: an offline, quiet environment and settings in a temporary state dir."""

from __future__ import annotations

import os

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
# Tests must never read the user's state or a developer's Qdrant server by accident; tests
# marked `server` get the server's address from INDEXGATE_TEST_QDRANT_URL instead.
if os.environ.get("QDRANT_URL"):
    os.environ.setdefault("INDEXGATE_TEST_QDRANT_URL", os.environ["QDRANT_URL"])
for _key in ("INDEXGATE_HOME", "QDRANT_URL", "QDRANT_API_KEY", "INDEXGATE_QDRANT_URL"):
    os.environ.pop(_key, None)

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
