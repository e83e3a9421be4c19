#!/bin/sh
# One-shot setup of the compose stack (service "setup"): the bucket with the sample corpus in
# MinIO, the process work pool, and the deployments of deployments/prefect.yaml. Safe to rerun.
# Everything it needs comes from the environment: PREFECT_API_URL, AWS_ENDPOINT_URL and the
# AWS_* credentials, INDEXGATE_BUCKET.
set -eu
python - <<'PY'
import os
from pathlib import Path

import boto3

bucket = os.environ["INDEXGATE_BUCKET"]
s3 = boto3.client("s3")  # endpoint and keys from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY
if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
    s3.create_bucket(Bucket=bucket)
root = Path("/app/data/corpus")
files = sorted(p for p in root.rglob("*") if p.is_file())
for path in files:
    s3.upload_file(str(path), bucket, f"corpus/{path.relative_to(root).as_posix()}")
print(f"s3://{bucket}/corpus/: {len(files)} documents")
PY
prefect work-pool create indexgate --type process --overwrite
cd /app && prefect --no-prompt deploy --prefect-file deployments/prefect.yaml --all
