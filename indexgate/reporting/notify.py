"""Announce a failed, rejected or rolled-back run: one JSON POST to a configured webhook.

A notification that cannot be delivered is logged, never raised: the run's own outcome (and the
alias) must not depend on a chat server being up.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import asdict, dataclass

from indexgate.settings import NotifyConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notification:
    """What happened to which alias. ``version`` is None when the run failed before planning one."""

    flow: str                 # sync, reindex, rollback, ...
    run: str                  # the Prefect flow run name
    alias: str | None
    version: str | None
    outcome: str              # failed | rejected | rolled_back
    reason: str
    live: str | None = None   # the version the alias serves after the run (when known)
    url: str | None = None    # the run in the Prefect UI (when known)

    def as_dict(self) -> dict:
        return {**asdict(self), "text": self.text}

    @property
    def text(self) -> str:
        """One line for chat webhooks that show a ``text`` field (Slack, Mattermost, ...)."""
        what = f"{self.alias} {self.version}" if self.version else (self.alias or "?")
        return f"IndexGate {self.flow} {self.outcome}: {what}: {self.reason}"[:2000]


def wanted(config: NotifyConfig, outcome: str) -> bool:
    return bool(config.webhook_url) and outcome in config.on


def send(config: NotifyConfig, notification: Notification) -> bool:
    """POST the notification as JSON if ``config`` asks for its outcome; True when delivered."""
    if not wanted(config, notification.outcome):
        return False
    body = json.dumps(notification.as_dict()).encode()
    request = urllib.request.Request(config.webhook_url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "indexgate"})
    try:
        with urllib.request.urlopen(request, timeout=config.timeout_s) as response:
            response.read()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure to deliver is reported the same way
        log.warning("could not deliver the %s notification of %s to the webhook: %s", notification.outcome,
                    notification.alias, exc)
        return False
