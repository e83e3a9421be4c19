"""IndexGate: the library. Plain Python, no Prefect: sources, parsing, chunking, embedding, store,
evaluation, gates, registry and reports. ``tasks/`` and ``flows/`` orchestrate it."""

from indexgate.memory import choose_arrow_allocator

# First, before any module of the package imports pyarrow (indexgate.memory says why).
choose_arrow_allocator()

__version__ = "0.1.0"
