"""Guardrails: find personal data and secrets in documents, redact or block them, and hold a
sync whose embedding would exceed its budget. Plain Python; the sync applies it (indexgate.sync, docs/guardrails.md)."""

from indexgate.guardrails.budget import BudgetDecision, EmbeddingBudget, check_budget
from indexgate.guardrails.detectors import DETECTOR_NAMES, DETECTORS, Match, detect
from indexgate.guardrails.policy import GuardrailsPolicy, PathRule, load_guardrails_policy
from indexgate.guardrails.redaction import Redacted, Replacement, original_length, redact, to_redacted
from indexgate.guardrails.scan import DetectorCount, GuardReport, Guarded, guard

__all__ = [
    "BudgetDecision", "DETECTOR_NAMES", "DETECTORS", "DetectorCount", "EmbeddingBudget",
    "GuardReport", "Guarded", "GuardrailsPolicy", "Match", "PathRule", "Redacted", "Replacement",
    "check_budget", "detect", "guard", "load_guardrails_policy", "original_length", "redact", "to_redacted",
]
