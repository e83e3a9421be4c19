"""The guardrails policy: parsing, refusals, per-folder actions and the safe default."""

import pytest

from indexgate.errors import ConfigError
from indexgate.guardrails.detectors import DETECTOR_NAMES
from indexgate.guardrails.policy import GuardrailsPolicy, load_guardrails_policy


def write(tmp_path, body, name="policy.yaml"):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_without_a_policy_file_every_detector_redacts():
    actions = load_guardrails_policy(None).actions_for("any/doc.md")
    assert actions == {name: "redact" for name in DETECTOR_NAMES}


def test_a_policy_file_without_a_guardrails_section_is_the_default(tmp_path):
    path = write(tmp_path, "gates:\n  k: 5\n")
    assert load_guardrails_policy(path) == GuardrailsPolicy()


def test_actions_and_path_globs_later_rules_win(tmp_path):
    path = write(
        tmp_path,
        """
gates: {k: 5}
guardrails:
  default: allow
  actions: {email: redact, private_key: block}
  paths:
    - glob: "hr/**"
      actions: {email: block, phone: redact}
    - glob: "hr/public/*"
      actions: {email: allow}
  phone_region: GB
""",
    )
    policy = load_guardrails_policy(path)
    assert policy.phone_region == "GB"
    top = policy.actions_for("notes/a.md")
    assert (top["email"], top["phone"], top["private_key"], top["iban"]) == (
        "redact", "allow", "block", "allow")
    hr = policy.actions_for("hr/people/list.csv")
    assert (hr["email"], hr["phone"]) == ("block", "redact")
    assert policy.actions_for("hr/public/team.md")["email"] == "allow"


@pytest.mark.parametrize(
    "body, expected",
    [
        ("guardrails:\n  actions: {emails: redact}\n",
         "guardrails.actions: unknown detector emails; valid: private_key, jwt"),
        ("guardrails:\n  paths: [{glob: 'a/*', actions: {ssn: block}}]\n",
         "guardrails.paths.0.actions: unknown detector ssn; valid: "),
        ("guardrails:\n  actions: {email: hide}\n", "guardrails.actions.email: Input should be"),
        ("guardrails:\n  redact_all: true\n", "guardrails.redact_all: Extra inputs are not permitted"),
        ("guardrails:\n  budget: {max_tokens: -1}\n", "guardrails.budget.max_tokens:"),
        ("guardrails: [email]\n", "'guardrails' must be a mapping"),
    ],
)
def test_bad_policies_are_refused_in_one_line(tmp_path, body, expected):
    path = write(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        load_guardrails_policy(path)
    message = str(info.value)
    assert message.startswith(f"policy file {path}: ")
    assert expected in message
    assert "\n" not in message


def test_the_refusal_lists_every_valid_detector(tmp_path):
    path = write(tmp_path, "guardrails:\n  actions: {passport: block}\n")
    with pytest.raises(ConfigError, match=", ".join(DETECTOR_NAMES)):
        load_guardrails_policy(path)


def test_a_missing_policy_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="policy file not found"):
        load_guardrails_policy(tmp_path / "nope.yaml")


def test_the_policy_is_frozen():
    with pytest.raises(Exception):
        GuardrailsPolicy().default = "allow"
