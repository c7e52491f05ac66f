"""Incident keys: per host by default, fleet-wide when the daemons share their rule state."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from logwatch.config import load_config_text
from logwatch.model import Alert, AlertStatus
from logwatch.notifiers import opsgenie, pagerduty
from logwatch.notifiers._incident import IncidentScope
from logwatch.notifiers.opsgenie import OpsgenieNotifier, OpsgenieOptions
from logwatch.notifiers.pagerduty import PagerDutyNotifier
from logwatch.testing import sample_alert

OPENED_ON_WEB_1 = sample_alert(host="web-1")
RESOLVED_ON_WEB_2 = dataclasses.replace(
    sample_alert(host="web-2"), status=AlertStatus.RESOLVED
)
FLEET_KEY = "logwatch:db-down:9c1e4f7a2b3d5e6f"

NOTIFIERS = """
notifiers:
  pd: {type: pagerduty, routing_key: R0UTINGKEYexample}
  og: {type: opsgenie, api_key: 0PSGENIEKEYexample}
  pinned: {type: pagerduty, routing_key: R0UTINGKEYexample, incident_key: host}
"""
REDIS_STATE = "state: {backend: redis, url: 'redis://127.0.0.1:6379/0'}\n"


def pd_key(scope: IncidentScope, alert: Alert) -> str:
    return str(pagerduty.render(alert, "key", scope=scope)["dedup_key"])


def og_options(**extra: Any) -> OpsgenieOptions:
    return OpsgenieNotifier.Options.model_validate(
        {"type": "opsgenie", "api_key": "0PSGENIEKEYexample", **extra}
    )


class TestIncidentKeyScope:
    def test_by_default_each_host_has_its_own_incident(self) -> None:
        """Without shared state every daemon resolves only what it opened."""
        assert pd_key("host", OPENED_ON_WEB_1) == "logwatch:web-1:db-down:9c1e4f7a2b3d5e6f"
        assert pd_key("host", OPENED_ON_WEB_1) != pd_key("host", RESOLVED_ON_WEB_2)

    def test_fleet_key_lets_another_host_resolve_the_incident(self) -> None:
        """PagerDuty: the resolve from web-2 carries the dedup_key of web-1's trigger."""
        assert pd_key("fleet", OPENED_ON_WEB_1) == FLEET_KEY
        assert pd_key("fleet", RESOLVED_ON_WEB_2) == FLEET_KEY

    def test_opsgenie_alias_and_close_use_the_fleet_key(self) -> None:
        options = og_options(incident_key="fleet")
        _, created = opsgenie.request(OPENED_ON_WEB_1, options)
        close_url, _ = opsgenie.request(RESOLVED_ON_WEB_2, options)
        assert created["alias"] == FLEET_KEY
        assert close_url.endswith(f"/v2/alerts/{FLEET_KEY}/close?identifierType=alias")

    def test_opsgenie_defaults_to_the_host_key(self) -> None:
        _, created = opsgenie.request(OPENED_ON_WEB_1, og_options())
        assert created["alias"] == "logwatch:web-1:db-down:9c1e4f7a2b3d5e6f"

    def test_only_host_or_fleet(self) -> None:
        with pytest.raises(ValueError, match="'host' or 'fleet'"):
            og_options(incident_key="global")


class TestIncidentKeyDefault:
    @staticmethod
    def scopes(text: str) -> dict[str, str]:
        config = load_config_text(text, environ={})
        return {
            name: str(getattr(notifier.options, "incident_key", ""))
            for name, notifier in config.notifiers.items()
        }

    def test_host_when_each_daemon_keeps_its_own_state(self) -> None:
        assert self.scopes(NOTIFIERS) == {"pd": "host", "og": "host", "pinned": "host"}

    def test_fleet_when_the_rule_state_is_shared_on_redis(self) -> None:
        """`state.backend: redis` makes groups fleet-wide, so the incidents follow; set
        `incident_key: host` to keep them per host."""
        assert self.scopes(REDIS_STATE + NOTIFIERS) == {
            "pd": "fleet", "og": "fleet", "pinned": "host"
        }

    def test_the_notifier_sends_the_configured_key(self) -> None:
        config = load_config_text(REDIS_STATE + NOTIFIERS, environ={})
        options = config.notifiers["pd"].options
        assert isinstance(options, PagerDutyNotifier.Options)
        assert pagerduty.render(RESOLVED_ON_WEB_2, "k", scope=options.incident_key)[
            "dedup_key"
        ] == FLEET_KEY
