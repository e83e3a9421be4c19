#!/bin/sh
# One-shot setup of the compose stack (service "setup"): the bucket with the sample corpus in
# MinIO, the process work pool, and the deployments of deployments/prefect.yaml. Safe to rerun.
# Everything it needs comes from the environment: PREFECT_API_URL, AWS_ENDPOINT_URL and the
# AWS_* credentials, INDEXGATE_BUCKET, INDEXGATE_REPO (the code, /app in the image).
set -eu
cd "${INDEXGATE_REPO:-/app}"
python - <<'PY'
import os
from pathlib import Path

import boto3

bucket = os.environ["INDEXGATE_BUCKET"]
s3 = boto3.client("s3")  # endpoint and keys from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
    s3.create_bucket(Bucket=bucket)
root = Path("data/corpus")
files = sorted(p for p in root.rglob("*") if p.is_file())
for path in files:
    s3.upload_file(str(path), bucket, f"corpus/{path.relative_to(root).as_posix()}")
print(f"s3://{bucket}/corpus/: {len(files)} documents")
PY
prefect work-pool create indexgate --type process --overwrite
# One deployment at a time, and checked afterwards rather than trusted by exit code: after
# creating a deployment, `prefect deploy` asks the server which workers are online, and a
# Prefect 3.8 server on fastapi 0.151-0.155 rejects the client's null paging with 422 (the
# deployment exists all the same); the server image's fastapi is not pinned by this project.
names=$(python -c "import yaml; print(' '.join(d['name'] for d in yaml.safe_load(open('deployments/prefect.yaml'))['deployments']))")
for name in $names; do
  prefect --no-prompt deploy --prefect-file deployments/prefect.yaml --name "$name" || true
done
python - $names <<'PY'
import asyncio
import sys

from prefect.client.orchestration import get_client
from prefect.client.schemas.sorting import DeploymentSort


async def names() -> set[str]:
    async with get_client() as client:  # every argument given: see the comment above
        found = await client.read_deployments(limit=200, offset=0, sort=DeploymentSort.NAME_ASC)
    return {d.name for d in found}


missing = set(sys.argv[1:]) - asyncio.run(names())
if missing:
    sys.exit(f"deployments not created: {sorted(missing)}")
print(f"deployments: {' '.join(sys.argv[1:])}")
PY
