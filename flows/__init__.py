"""Prefect flows: orchestration only. Each reads like the pipeline diagram in DESIGN.md."""
