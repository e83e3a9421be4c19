"""Which allocator Arrow uses in IndexGate's processes: the system's (``malloc``), not mimalloc.

pyarrow allocates from mimalloc by default. On the development machine (a 2-core VM, Linux
transparent huge pages on ``madvise``) mimalloc's memory came in huge pages. In a 1%-changed sync
of 10,000 documents the kernel counted about 200 huge-page faults (``thp_fault_alloc`` in
``/proc/vmstat``). It spent 2.6-3.3 s of CPU in the kernel with mimalloc, 1.3-1.6 s with jemalloc
or the system's allocator. From the shell that sync took 4.95-5.19 s with mimalloc, 4.23-4.34 s
with the system's, at 60 MiB less peak RSS. Full syncs took as long with each
(docs/benchmarks.md#arrows-allocator). The system's allocator is in every pyarrow build;
jemalloc is not.

Arrow reads its choice from ``ARROW_DEFAULT_MEMORY_POOL`` once, when pyarrow is imported. So the
variable is set when ``indexgate`` is imported, before any of its modules imports pyarrow.
"""

from __future__ import annotations

import os

# Arrow's own variable, read when pyarrow is imported.
ENV = "ARROW_DEFAULT_MEMORY_POOL"
POOL = "system"


def choose_arrow_allocator() -> None:
    """Set ``ARROW_DEFAULT_MEMORY_POOL`` to ``system`` unless it is set: a user who set it keeps
    their choice. Set empty, Arrow ignores it, and so does this. Idempotent.

    A process that imported pyarrow before ``indexgate`` keeps the allocator it has. The worker
    processes a sync starts (the quality and parse workers) inherit the variable."""
    if not os.environ.get(ENV):
        os.environ[ENV] = POOL
