"""One sync, as plain functions over :class:`~indexgate.resources.Resources` and a :class:`Plan`.

- :mod:`~indexgate.sync.planning`: snapshot the source, plan the version.
- :mod:`~indexgate.sync.build`: parse, chunk, embed, load the shadow.
- :mod:`~indexgate.sync.checks`: the validation, every gate before the decision.
- :mod:`~indexgate.sync.decision`: promote, or keep the alias and record why.
- :mod:`~indexgate.sync.steps`: the ordered steps, and a runner of a whole sync.
- :mod:`~indexgate.sync.scratch`: throw-away builds that no alias points at.

Nothing here writes to the live collection or moves an alias, except :func:`conclude`, which
promotes through :mod:`indexgate.lifecycle.promotion`.
"""

from indexgate.models import Outcome, Plan
from indexgate.sync.build import (
    chunk, embed, guardrails_record, load, parse, plan_embedding, record_embedding,
)
from indexgate.sync.checks import (
    GATE_FAMILIES, check_access, check_guardrails, check_integrity, check_latency, check_quality, check_quarantine,
    check_relevance, in_stored_offsets, score, score_live, validate,
)
from indexgate.sync.decision import conclude, unchanged
from indexgate.sync.planning import plan, snapshot
from indexgate.sync.scratch import (
    build_scratch, discard_scratch, scratch_alias, scratch_report, scratch_settings,
)
from indexgate.sync.steps import BUILD_STEPS, SYNC_STEPS, SyncRun, build_shadow, run_sync

__all__ = [
    "Outcome", "Plan", "BUILD_STEPS", "SYNC_STEPS", "SyncRun", "build_shadow", "run_sync",
    "snapshot", "plan", "parse", "chunk", "embed", "load", "plan_embedding", "record_embedding",
    "guardrails_record", "validate", "GATE_FAMILIES", "check_access", "check_guardrails", "check_integrity",
    "check_latency", "check_quality", "check_quarantine", "check_relevance", "in_stored_offsets", "score", "score_live", "conclude", "unchanged",
    "build_scratch", "discard_scratch", "scratch_alias", "scratch_report", "scratch_settings",
]
