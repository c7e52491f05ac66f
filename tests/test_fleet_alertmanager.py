"""Alertmanager as the fleet's router: the same error from many hosts carries the same labels."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from logwatch.model import Alert
from logwatch.notifiers import alertmanager
from logwatch.testing import sample_alert
from tests.test_notifier_alertmanager import (
    active_alerts,
    options,
    poll,
    real_alertmanager,
    send,
)

__all__ = ["real_alertmanager"]  # a fixture

NOW = datetime(2026, 1, 1, 12, 5, tzinfo=UTC)


def seen_on(host: str, **overrides: Any) -> Alert:
    """One error as the daemon of ``host`` reports it: its own file, lines, id and count."""
    lines = {"web-1": (12, 18), "web-2": (907, 913)}[host]
    return sample_alert(
        host=host,
        hosts=(host,),
        id=f"id-on-{host}",
        file=f"/var/log/shop/{host}.log",
        first_line=lines[0],
        last_line=lines[1],
        count=len(host),
        **overrides,
    )


def labels(alert: Alert, **option: Any) -> dict[str, str]:
    [item] = alertmanager.render(alert, options(**option), now=NOW)
    found: dict[str, str] = item["labels"]
    return found


class TestStableLabels:
    def test_labels_name_the_group_and_nothing_that_changes_per_occurrence(self) -> None:
        assert labels(seen_on("web-1")) == {
            "alertname": "db-down",
            "severity": "critical",
            "fingerprint": "9c1e4f7a2b3d5e6f",
            "host": "web-1",
            "service": "shop",
            "environment": "production",
        }

    def test_host_as_annotation_makes_every_host_one_alert(self) -> None:
        """Alertmanager identifies alerts by label set: equal sets are one alert."""
        web1 = labels(seen_on("web-1"), host_as="annotation")
        web2 = labels(seen_on("web-2"), host_as="annotation")
        assert web1 == web2
        assert "host" not in web1

    def test_host_as_label_keeps_one_alert_per_host_that_group_by_can_merge(self) -> None:
        web1 = labels(seen_on("web-1"))
        web2 = labels(seen_on("web-2"))
        assert {k: v for k, v in web1.items() if k != "host"} == {
            k: v for k, v in web2.items() if k != "host"
        }
        assert (web1["host"], web2["host"]) == ("web-1", "web-2")

    def test_the_hosts_an_alert_counts_are_an_annotation(self) -> None:
        alert = dataclasses.replace(seen_on("web-1"), hosts=("web-1", "web-2"))
        [item] = alertmanager.render(alert, options(host_as="annotation"), now=NOW)
        assert item["annotations"]["hosts"] == "web-1, web-2"
        assert "hosts" not in item["labels"]


class TestRealAlertmanager:
    def test_the_same_error_from_two_hosts_is_one_active_alert(
        self, real_alertmanager: str
    ) -> None:
        """With `host_as: annotation`, Alertmanager folds both posts into one alert."""
        now = datetime.now(UTC)
        for host in ("web-1", "web-2"):
            alert = seen_on(host, rule="fleet-folded", first_seen=now, last_seen=now)
            assert send(real_alertmanager, alert, host_as="annotation").status == 200

        def folded() -> list[dict[str, Any]] | None:
            held = active_alerts(real_alertmanager, "fleet-folded")
            # the later post updates the annotations of the one alert
            return held if held and held[0]["annotations"]["host"] == "web-2" else None

        [held] = poll(folded, what="one alert for both hosts")
        assert "host" not in held["labels"]
