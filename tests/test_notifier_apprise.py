"""The Apprise bridge: `type: apprise, urls: [...]`, against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import pydantic
import pytest
from pytest_httpserver import HTTPServer

from logwatch.config import load_config_text
from logwatch.errors import ConfigError, RetryableDeliveryError
from logwatch.model import AlertStatus, Severity
from logwatch.notifiers import registry
from logwatch.notifiers.apprise_bridge import AppriseNotifier, AppriseOptions
from logwatch.notifiers.base import Receipt
from logwatch.testing import sample_alert

pytest.importorskip("apprise", reason="the optional extra logwatch[apprise]")
# Apprise's PGP support imports imghdr, deprecated since Python 3.11; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

PATH = "/hooks/s3cr3t-t0ken"


def notifier(*urls: str) -> AppriseNotifier:
    options = AppriseOptions.model_validate({"type": "apprise", "urls": list(urls)})
    return AppriseNotifier("bridge", options)


def json_url(server: HTTPServer) -> str:
    return f"json://127.0.0.1:{server.port}{PATH}"


class TestAppriseBridge:
    def test_delivers_title_text_and_type_through_an_apprise_url(
        self, httpserver: HTTPServer
    ) -> None:
        httpserver.expect_oneshot_request(PATH, method="POST").respond_with_data("ok")
        receipt = asyncio.run(notifier(json_url(httpserver)).send(sample_alert()))
        assert receipt == Receipt(status=None, detail="accepted by 1 Apprise url(s)")
        ((request, _),) = httpserver.log
        sent = json.loads(request.data)
        assert sent["title"] == "[CRITICAL] OperationalError: could not connect"
        assert sent["message"].startswith("db-down on web-1 · /var/log/shop/app.log:12\n\n")
        assert sent["message"].endswith("sqlalchemy.exc.OperationalError: could not connect")
        assert sent["type"] == "failure"

    def test_a_resolved_alert_is_a_success_notice(self, httpserver: HTTPServer) -> None:
        httpserver.expect_oneshot_request(PATH, method="POST").respond_with_data("ok")
        resolved = dataclasses.replace(sample_alert(), status=AlertStatus.RESOLVED)
        asyncio.run(notifier(json_url(httpserver)).send(resolved))
        ((request, _),) = httpserver.log
        assert json.loads(request.data)["type"] == "success"
        assert json.loads(request.data)["title"].startswith("[RESOLVED] ")

    @pytest.mark.parametrize("status", [400, 503])
    def test_any_failure_is_retried_since_apprise_cannot_tell_which(
        self, httpserver: HTTPServer, status: int
    ) -> None:
        """Apprise answers False for a 400 as for a 503: both are retryable."""
        httpserver.expect_oneshot_request(PATH, method="POST").respond_with_data(
            "no", status=status
        )
        with pytest.raises(RetryableDeliveryError, match="Apprise does not say why") as caught:
            asyncio.run(notifier(json_url(httpserver)).send(sample_alert()))
        assert "s3cr3t" not in str(caught.value)

    def test_warning_and_info_keep_their_type(self, httpserver: HTTPServer) -> None:
        for severity in (Severity.WARNING, Severity.INFO):
            httpserver.expect_oneshot_request(PATH, method="POST").respond_with_data("ok")
            asyncio.run(notifier(json_url(httpserver)).send(sample_alert(severity=severity)))
        types = [json.loads(request.data)["type"] for request, _ in httpserver.log]
        assert types == ["warning", "info"]


class TestAppriseOptions:
    def test_a_url_apprise_cannot_parse_is_a_config_error_that_hides_it(self) -> None:
        """`logwatch check` names the entry, not the URL: Apprise URLs hold credentials."""
        text = "notifiers:\n  bridge: {type: apprise, urls: [json://127.0.0.1/, s3cr3t-url]}\n"
        with pytest.raises(ConfigError) as caught:
            load_config_text(text, path="c.yaml", environ={})
        (problem,) = caught.value.problems
        assert "url #2 is not a URL Apprise understands" in problem.message
        assert "s3cr3t" not in str(caught.value)

    def test_urls_are_required_and_hidden_from_repr(self) -> None:
        with pytest.raises(pydantic.ValidationError, match="urls"):
            AppriseOptions.model_validate({"type": "apprise", "urls": []})
        options = AppriseOptions.model_validate({"type": "apprise", "urls": ["json://h/s3cr3t"]})
        assert "s3cr3t" not in repr(options)

    def test_is_registered_as_apprise(self) -> None:
        assert registry.load("apprise") is AppriseNotifier


def test_log_text_mentions_no_one_through_apprise(httpserver: HTTPServer) -> None:
    """Found by a security audit: to Discord Apprise sends no allowed_mentions, so a
    logged @everyone pinged the server; Slack's <!channel>, Feishu's <at>, too."""
    httpserver.expect_oneshot_request(PATH, method="POST").respond_with_data("ok")
    alert = sample_alert(title="db down @everyone <!channel>",
                         text="ERROR x @here <@123456789012345678> <at user_id=\"all\">\x1bc")
    asyncio.run(notifier(json_url(httpserver)).send(alert))
    ((request, _),) = httpserver.log
    sent = json.loads(request.data)
    for field in ("title", "message"):
        for mention in ("@e", "@h", "<!", "<@", "<at"):
            assert mention not in sent[field]
    assert sent["title"] == "[CRITICAL] db down @\u200beveryone <\u200b!channel>"
    assert sent["message"].endswith(
        "ERROR x @\u200bhere <\u200b@\u200b123456789012345678> <\u200bat user_id=\"all\">\\x1bc")
