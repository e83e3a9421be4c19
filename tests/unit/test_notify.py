"""Webhook notifications, POSTed to a real HTTP receiver on loopback."""

from indexgate.reporting.notify import Notification, send
from indexgate.settings import NotifyConfig

REJECTED = Notification(flow="sync", run="sync-docs-v0123456789ab", alias="docs", version="0123456789ab",
                        outcome="rejected", reason="gates failed: relevance.span_recall@5", live="ffffffffffff")


def test_a_rejected_version_is_posted_as_json(webhook):
    assert send(NotifyConfig(webhook_url=webhook.url), REJECTED)
    (body,) = webhook.wait(1)
    assert webhook.raw[0]["content_type"] == "application/json" and webhook.raw[0]["path"] == "/hook"
    assert {k: body[k] for k in ("alias", "version", "outcome", "reason", "live", "flow")} == {
        "alias": "docs", "version": "0123456789ab", "outcome": "rejected",
        "reason": "gates failed: relevance.span_recall@5", "live": "ffffffffffff", "flow": "sync"}
    assert body["text"] == "IndexGate sync rejected: docs 0123456789ab: gates failed: relevance.span_recall@5"


def test_outcomes_not_asked_for_and_no_url_send_nothing(webhook):
    assert not send(NotifyConfig(webhook_url=webhook.url, on=("failed",)), REJECTED)
    assert not send(NotifyConfig(), REJECTED)
    assert webhook.posts == []


def test_an_unreachable_webhook_is_logged_not_raised(caplog):
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    assert not send(NotifyConfig(webhook_url="http://127.0.0.1:9/hook", timeout_s=2), REJECTED)
    assert "could not deliver the rejected notification of docs" in caplog.text
