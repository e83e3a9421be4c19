"""Arrow's allocator in IndexGate's processes (indexgate.memory), each checked in a new interpreter:
Arrow reads its choice once, when pyarrow is imported."""

from __future__ import annotations

import os
import subprocess
import sys

from indexgate.memory import ENV

# Reads a Parquet file, then names the pool that is the default and the pools that allocated.
PROBE = """
import sys
{imports}
import pyarrow as pa, pyarrow.parquet as pq
pq.write_table(pa.table({{"text": ["x" * 4096] * 256}}), sys.argv[1])
assert pq.read_table(sys.argv[1]).num_rows == 256
used = [p.backend_name for p in (pa.system_memory_pool(), pa.mimalloc_memory_pool()) if p.max_memory()]
print(pa.default_memory_pool().backend_name, *used)
"""


def _pools(tmp_path, imports: str, **variables: str) -> list[str]:
    # Without PYTHONPATH: the tests' sitecustomize (tests/doubles) would import indexgate first.
    env = {key: value for key, value in os.environ.items() if key not in (ENV, "PYTHONPATH")} | variables
    out = subprocess.run([sys.executable, "-c", PROBE.format(imports=imports), str(tmp_path / "t.parquet")],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_importing_indexgate_first_makes_arrow_allocate_from_the_system_allocator(tmp_path):
    assert _pools(tmp_path, "import indexgate") == ["system", "system"]
    assert _pools(tmp_path, "import indexgate", **{ENV: ""}) == ["system", "system"]  # empty: unset, to Arrow too
    # The same probe without IndexGate: pyarrow's own default, so the check above could fail.
    assert _pools(tmp_path, "") == ["mimalloc", "mimalloc"]


def test_a_pool_the_user_chose_is_kept(tmp_path):
    assert _pools(tmp_path, "import indexgate", **{ENV: "mimalloc"}) == ["mimalloc", "mimalloc"]


def test_a_process_that_imported_pyarrow_before_indexgate_keeps_its_pool(tmp_path):
    assert _pools(tmp_path, "import pyarrow\nimport indexgate") == ["mimalloc", "mimalloc"]
