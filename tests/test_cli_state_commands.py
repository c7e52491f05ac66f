"""`status`, `outbox` and `silence` read the state dir, and need nothing else of the config.

Found by an operator's audit: with the notifiers' secrets in /etc/logwatch/env (read by
systemd, not by the operator's shell), `sudo logwatch status` refused to run: "environment
variable ${HOOK_TOKEN} is not set". And without root, status and outbox died with a
Python traceback on the state dir's permissions.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from logwatch.cli import main
from logwatch.config import load_config, load_state_dir
from logwatch.errors import ConfigError
from logwatch.store import Store
from tests.daemon_harness import logwatch

SECRET_CONFIG = """state_dir: ${{STATE:-{state}}}
sources: [{{name: app, paths: ["{logs}/*.log"]}}]
rules: [{{name: tb, match: {{traceback: true}}, notify: [hook]}}]
notifiers:
  hook: {{type: webhook, url: "https://hooks.example.com/${{HOOK_TOKEN}}"}}
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "logwatch.yaml"
    path.write_text(SECRET_CONFIG.format(state=tmp_path / "state", logs=tmp_path / "logs"),
                    encoding="utf-8")
    Store.in_dir(tmp_path / "state").close()  # as a daemon that ran here leaves it
    return path


@pytest.mark.parametrize("command", [
    ["status"], ["status", "--json"], ["outbox", "list"], ["silence", "list"],
    ["silence", "add", "--match", "rule=tb", "--for", "1h", "--comment", "deploy"],
])
def test_state_commands_run_without_the_notifiers_secrets(
    config: Path, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOOK_TOKEN", raising=False)  # the child gets this environment
    result = logwatch(*command, "-c", str(config))
    assert "HOOK_TOKEN" not in result.stderr
    assert result.returncode == 0, result.stderr


def test_check_still_names_the_unset_secret(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOOK_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"\$\{HOOK_TOKEN\} is not set"):
        load_config(config)


class TestStateDir:
    def test_it_is_the_state_dir_validation_gives(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "conf" / "logwatch.yaml"
        path.parent.mkdir()
        path.write_text("state_dir: ${WHERE}/state\nnotifiers: {c: {type: console}}\n",
                        encoding="utf-8")
        monkeypatch.setenv("WHERE", "relative")
        assert load_state_dir(path) == load_config(path).state_dir == (
            tmp_path / "conf" / "relative" / "state")

    def test_without_one_it_is_the_default(self, tmp_path: Path) -> None:
        path = tmp_path / "logwatch.yaml"
        path.write_text("rules: []\nstate_dir:\n", encoding="utf-8")
        assert load_state_dir(path) == Path("/var/lib/logwatch")

    @pytest.mark.parametrize(("text", "problem"), [
        ("state_dir: ${NOWHERE_SET}\n", "2:12: state_dir: environment variable"),
        ("state_dir: [a, b]\n", "1:12: state_dir: a path, one string"),
        ("state_dir: [\n", "invalid YAML"),
    ])
    def test_a_state_dir_it_cannot_read_is_a_config_error(
        self, tmp_path: Path, text: str, problem: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.delenv("NOWHERE_SET", raising=False)
        path = tmp_path / "logwatch.yaml"
        path.write_text(("# a comment\n" if "NOWHERE" in text else "") + text, encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_state_dir(path)
        assert problem in str(caught.value)


@pytest.mark.parametrize("command", [["status"], ["outbox", "list"]])
def test_a_state_dir_it_may_not_read_is_said_so_without_a_traceback(
    config: Path, command: list[str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Tests may run as root, whom permissions do not stop: the refusal is made here."""
    def refused(self: Path, *args: object, **kwargs: object) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "exists", refused)
    assert main([*command, "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"logwatch: cannot read the state dir {config.parent / 'state'}:"
                          " Permission denied; it belongs to the daemon's user")


class TestAStateDirThatCannotBe:
    """Found by an operator's audit: both passed `check`; the daemon then failed on
    'cannot open .../daemon.lock: File exists' or '...: Operation not permitted'."""

    def test_a_file_is_a_config_error(self, tmp_path: Path) -> None:
        afile = tmp_path / "afile"
        afile.write_text("", encoding="utf-8")
        path = tmp_path / "logwatch.yaml"
        path.write_text(f"state_dir: {afile}\nnotifiers: {{c: {{type: console}}}}\n",
                        encoding="utf-8")
        result = logwatch("check", "-c", str(path))
        assert result.returncode == 2
        assert f"state_dir: {afile} is a file; state_dir names a directory" in result.stderr

    def test_one_it_may_not_write_is_named_with_the_remedy(self, tmp_path: Path) -> None:
        path = tmp_path / "logwatch.yaml"
        path.write_text("state_dir: /proc/logwatch-state\nnotifiers: {c: {type: console}}\n",
                        encoding="utf-8")
        result = logwatch("run", "-c", str(path))
        assert result.returncode == 1
        assert result.stderr.startswith(
            "logwatch: cannot write in the state dir /proc/logwatch-state (")
        assert "state_dir must be a directory this user may write" in result.stderr


def test_a_silence_is_by_the_operator_behind_sudo(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by an operator's audit: 'BY -' unless --author was given."""
    monkeypatch.setenv("SUDO_USER", "alice")
    added = logwatch("silence", "add", "-c", str(config), "--match", "rule=tb", "--for", "1h",
                     "--comment", "deploy")
    assert added.returncode == 0, added.stderr
    listed = logwatch("silence", "list", "--json", "-c", str(config))
    assert '"created_by": "alice"' in listed.stdout


@pytest.mark.parametrize("command", [["check"], ["status"], ["outbox", "list"], ["run"]])
def test_without_a_config_named_the_error_says_how_to_name_one(
    tmp_path: Path, command: list[str], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A first try from a checkout, as the README's command table reads: no -c given, and
    no service installed where its config would be. Not only "No such file" on a path the
    operator never typed."""
    monkeypatch.delenv("LOGWATCH_CONFIG", raising=False)
    monkeypatch.setattr("logwatch.cli.DEFAULT_CONFIG", str(tmp_path / "etc" / "config.yaml"))
    # `run` sets up the daemon's logging on this test's captured stderr: put the root
    # logger back after it, or later tests' servers log to a closed stream
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))
    monkeypatch.setattr(root, "level", root.level)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "cannot read config: No such file or directory" in err
    assert "name one with -c FILE or $LOGWATCH_CONFIG" in err
    given = tmp_path / "mine.yaml"
    assert main([*command, "-c", str(given)]) == 2
    err = capsys.readouterr().err
    assert f"{given}:1:1: cannot read config" in err
    assert "-c FILE" not in err  # the operator named it: only the error
