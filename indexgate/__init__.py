"""IndexGate: the library. Plain Python, no Prefect: sources, parsing, chunking, embedding, store,
evaluation, gates, registry and reports. ``tasks/`` and ``flows/`` orchestrate it."""

__version__ = "0.1.0"
