"""The `state:` section: where rule state lives, and what `logwatch check` says about it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from logwatch.cli import main
from logwatch.config import StateConfig, load_config_text
from logwatch.errors import ConfigError
from logwatch.status import render_status


class TestStateConfig:
    def test_default_is_this_hosts_state_dir(self) -> None:
        assert load_config_text("{}").state == StateConfig(backend="sqlite")

    def test_redis_with_its_settings(self) -> None:
        state = load_config_text(
            "state: {backend: redis, url: 'redis://10.0.0.5:6379/2', prefix: 'shop:',"
            " timeout: 100ms, retry_every: 2s}"
        ).state
        assert (state.backend, state.url, state.prefix, state.timeout, state.retry_every) == (
            "redis", "redis://10.0.0.5:6379/2", "shop:", 0.1, 2.0
        )

    @pytest.mark.parametrize(
        ("yaml", "problem"),
        [
            ("state:\n  backend: redis\n", "2:3: state: backend redis needs url"),
            ("state:\n  url: 'http://x'\n", "2:8: state.url: url must start with redis://"),
            ("state:\n  backend: memcached\n", "2:12: state.backend:"),
        ],
    )
    def test_mistakes_are_reported_where_they_are(self, yaml: str, problem: str) -> None:
        with pytest.raises(ConfigError, match=problem):
            load_config_text(yaml)

    def test_the_url_never_shows_in_repr(self) -> None:
        """It may carry the Redis password."""
        state = StateConfig(backend="redis", url="redis://:hunter2@10.0.0.5:6379/0")
        assert "hunter2" not in repr(state)


class TestCheck:
    def test_check_says_when_redis_py_is_missing(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        config = tmp_path / "logwatch.yaml"
        config.write_text("state:\n  backend: redis\n  url: redis://127.0.0.1:6379/0\n",
                          encoding="utf-8")
        # a None entry makes `import redis` fail as if it were not installed
        monkeypatch.setitem(sys.modules, "redis", None)
        assert main(["check", "-c", str(config)]) == 2
        err = capsys.readouterr().err
        assert f"{config}:2:12: backend redis needs redis-py, which is not installed" in err
        assert "pip install 'logwatch[redis]'" in err


class TestStatus:
    def test_an_outage_is_on_the_status_page(self) -> None:
        daemon = {"state": "running", "pid": 7, "heartbeat_age_s": 1.0, "uptime_s": 60.0,
                  "shared_state": {"backend": "redis", "shared": False, "down_since": 880.0,
                                   "error": "redis get: Connection refused", "outages": 1}}
        status = {"daemon": daemon, "state_dir": "/var/lib/logwatch", "note": ""}
        assert (
            "rules:     REDIS UNAVAILABLE for 2m00s (redis get: Connection refused);"
            " deciding from this host's state, duplicates possible"
        ) in render_status(status, now=1000.0)

    def test_sharing_is_on_the_status_page(self) -> None:
        daemon = {"state": "running", "pid": 7, "heartbeat_age_s": 1.0, "uptime_s": 60.0,
                  "shared_state": {"backend": "redis", "shared": True}}
        status = {"daemon": daemon, "state_dir": "/var/lib/logwatch", "note": ""}
        assert "rules:     deciding with the fleet" in render_status(status, now=1000.0)
