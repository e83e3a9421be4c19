"""Prefect flows: orchestration only. Each reads like the pipeline diagram in docs/design.md."""
