"""Tasks must be resumable by a new flow run after a crash: no task may cache on Prefect's
default policy, whose key includes the run id (a new run would reuse nothing and, worse, a
retried run would reuse results whose side effects a crash may have undone)."""

import inspect

from prefect import Task
from prefect.cache_policies import CachePolicy, CompoundCachePolicy, RunId

import indexgate_tasks


def _parts(policy: CachePolicy):
    if isinstance(policy, CompoundCachePolicy):
        for part in policy.policies:
            yield from _parts(part)
    else:
        yield policy


def test_no_task_caches_on_the_run_id():
    found = [obj for _, obj in inspect.getmembers(indexgate_tasks) if isinstance(obj, Task)]
    assert {t.name for t in found} >= {"reconcile_alias", "load_shadow", "smoke_check", "collect_garbage"}
    for t in found:
        assert t.cache_policy is not None, t.name
        assert not any(isinstance(p, RunId) for p in _parts(t.cache_policy)), f"{t.name} caches on the run id"


def test_a_shadow_rollback_hook_is_registered():
    assert [h.__name__ for h in indexgate_tasks.load_shadow.on_rollback_hooks] == ["drop_rejected_shadow"]
