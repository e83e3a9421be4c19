"""Apply a guardrails policy to one document: detect, then redact, block or count."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from indexgate.guardrails.detectors import DETECTORS, detect
from indexgate.guardrails.policy import GuardrailsPolicy
from indexgate.guardrails.redaction import Redacted, redact


@dataclass(frozen=True)
class DetectorCount:
    detector: str
    action: str
    count: int


@dataclass(frozen=True)
class GuardReport:
    """What the guardrails found in one document: counts only, never a detected value.

    ``outcome`` is ``clean`` (nothing found), ``allowed`` (found, all counted only),
    ``redacted`` or ``blocked``. ``blocked_by`` names the blocking detectors, in
    :data:`~indexgate.guardrails.detectors.DETECTORS` order.
    """

    path: str
    outcome: str
    counts: tuple[DetectorCount, ...] = ()
    blocked_by: tuple[str, ...] = ()

    @property
    def reason(self) -> str | None:
        """The quarantine reason of a blocked document."""
        if not self.blocked_by:
            return None
        found = ", ".join(
            f"{c.detector} ({c.count})" for c in self.counts if c.detector in self.blocked_by
        )
        return f"blocked by the guardrails policy: {found}"

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "outcome": self.outcome,
            "counts": [{"detector": c.detector, "action": c.action, "count": c.count} for c in self.counts],
            "blocked_by": list(self.blocked_by),
        }


@dataclass(frozen=True)
class Guarded:
    """A document after the guardrails. ``redacted`` is None when the document is blocked."""

    report: GuardReport
    redacted: Redacted | None


def guard(path: str, text: str, policy: GuardrailsPolicy) -> Guarded:
    """Run every detector on ``text`` and apply the actions
    the policy gives the document at ``path``. Findings of ``allow`` detectors are counted and
    left in the text. A document with any ``block`` finding is not redacted: it is quarantined.
    """
    actions = policy.actions_for(path)
    matches = detect(text, tuple(actions), region=policy.phone_region)
    counts = Counter(m.detector for m in matches)
    rows = tuple(
        DetectorCount(name, actions[name], counts[name]) for name in DETECTORS if counts[name]
    )
    blocked = tuple(r.detector for r in rows if r.action == "block")
    if blocked:
        return Guarded(GuardReport(path, "blocked", rows, blocked), None)
    to_redact = [m for m in matches if actions[m.detector] == "redact"]
    outcome = "redacted" if to_redact else ("allowed" if rows else "clean")
    return Guarded(GuardReport(path, outcome, rows), redact(text, to_redact))
