"""Applying a policy to a document: redact, block with a reason, or count; counts never values."""

from indexgate.guardrails.policy import GuardrailsPolicy
from indexgate.guardrails.scan import DetectorCount, guard

SECRETS = ("jo.doe@example.com", "192.168.1.10", "AKIAIOSFODNN7EXAMPLE", "536-22-1234")
TEXT = (
    "Contact jo.doe@example.com, host 192.168.1.10, key id AKIAIOSFODNN7EXAMPLE, ssn 536-22-1234; "
    "jo.doe@example.com again."
)


def test_default_policy_redacts_and_counts_per_detector():
    out = guard("notes/a.md", TEXT, GuardrailsPolicy())
    assert out.report.outcome == "redacted"
    assert out.report.counts == (
        DetectorCount("cloud_key", "redact", 1),
        DetectorCount("email", "redact", 2),
        DetectorCount("us_ssn", "redact", 1),
        DetectorCount("ip_address", "redact", 1),
    )
    assert not any(value in out.redacted.text for value in SECRETS)
    assert out.redacted.text.count("[EMAIL]") == 2


def test_block_quarantines_with_the_detector_as_reason():
    policy = GuardrailsPolicy(actions={"us_ssn": "block", "cloud_key": "block"})
    out = guard("hr/x.txt", TEXT, policy)
    assert out.redacted is None
    assert out.report.outcome == "blocked"
    assert out.report.blocked_by == ("cloud_key", "us_ssn")
    assert out.report.reason == "blocked by the guardrails policy: cloud_key (1), us_ssn (1)"


def test_allow_counts_and_keeps_the_text():
    out = guard("a.md", TEXT, GuardrailsPolicy(default="allow"))
    assert out.report.outcome == "allowed"
    assert out.redacted.text == TEXT
    assert sum(c.count for c in out.report.counts) == 5


def test_path_rules_apply_to_their_folder_only():
    policy = GuardrailsPolicy.model_validate(
        {"default": "allow", "paths": [{"glob": "hr/*", "actions": {"email": "block"}}]}
    )
    assert guard("hr/list.txt", TEXT, policy).report.outcome == "blocked"
    assert guard("eng/list.txt", TEXT, policy).report.outcome == "allowed"


def test_clean_document():
    out = guard("a.md", "Nothing to see: version 1.2.3, order 4155552671.", GuardrailsPolicy())
    assert out.report.outcome == "clean" and out.report.counts == ()


def test_no_detected_value_appears_in_the_report_or_the_result():
    for policy in (GuardrailsPolicy(), GuardrailsPolicy(default="block")):
        out = guard("a.md", TEXT, policy)
        shown = " ".join(
            (repr(out.report), str(out.report.as_dict()), str(out.report.reason), repr(out))
        )
        for value in SECRETS:
            assert value not in shown
