"""`--env-file`: a command run by hand reads the service's environment file as systemd does.

Found by an operator: the secrets live in /etc/logwatch/env, which systemd reads for
the service, and `sudo logwatch check` could only see them through `sh -c 'set -a;
. /etc/logwatch/env; ...'`, which runs the file as shell code and reads it otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from logwatch.envfile import parse_env_file, read_env_file
from logwatch.errors import ConfigError
from logwatch.store import Store
from tests.daemon_harness import AppLog, Receiver, logwatch, running_daemon, wait_for

SECRET = "s3cr3t-token"


class TestSyntax:
    """What systemd's EnvironmentFile= reads (systemd.exec(5)), line by line."""

    @pytest.mark.parametrize(("text", "values"), [
        ("A=1\nB=two words\n", {"A": "1", "B": "two words"}),
        ("  A  =  padded value \t\n", {"A": "padded value"}),
        ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
        ("A=\n", {"A": ""}),
        ("A=first\nA=second\n", {"A": "second"}),
    ], ids=["plain", "blanks-around", "crlf", "empty", "last-wins"])
    def test_assignments(self, text: str, values: dict[str, str]) -> None:
        """NAME=value per line; blanks around name and value go, the later assignment wins."""
        assert parse_env_file(text) == values

    def test_comments_and_lines_without_an_equals_sign_are_passed_over(self) -> None:
        """# and ; begin a comment only at the start of a line; after a value they are text."""
        text = "# A=1\n  ; B=2\njust words\nC=x # not a comment ; nor this\n"
        assert parse_env_file(text) == {"C": "x # not a comment ; nor this"}

    @pytest.mark.parametrize(("text", "value"), [
        ("V='a \\n \"b\" $c'", 'a \\n "b" $c'),
        ("V='two\nlines'", "two\nlines"),
        ('V="q\\" b\\\\ t\\` d\\$"', 'q" b\\ t` d$'),
        ('V="kept \\n \\t"', "kept \\n \\t"),
        ('V="joined \\\nline"', "joined line"),
        ('V="two\nlines"', "two\nlines"),
        ("V='a' \"b\" c", "abc"),
        ("V=a 'b' \"c\"", "a 'b' \"c\""),
        ("V=a\\ b\\\\c\\#", "a b\\c#"),
        ("V=joined \\\n  line", "joined   line"),
        ("V=x\\ \\  \n", "x  "),
    ], ids=["single", "single-lines", "double-escapes", "double-others-kept", "double-joined",
            "double-lines", "adjacent-parts", "quotes-inside-kept", "backslash-keeps",
            "joined", "escaped-blanks-stay"])
    def test_quotes_and_backslashes(self, text: str, value: str) -> None:
        """Single quotes verbatim; double quotes unescape \\" \\\\ \\` \\$; a backslash keeps
        the next character unquoted, and before a line end joins the lines."""
        assert parse_env_file(text) == {"V": value}

    def test_nothing_is_run_or_expanded(self) -> None:
        """$(...), backquotes and $NAME are plain text: the file is read, never run."""
        text = "V=$(touch pwned) `id` $HOME ${USER}\n"
        assert parse_env_file(text) == {"V": "$(touch pwned) `id` $HOME ${USER}"}


class TestProblems:
    """What systemd would read other than as written is an error, at PATH:LINE:COL."""

    @pytest.mark.parametrize(("text", "problem"), [
        (f"export TOKEN={SECRET}\n", "env:1:1: systemd reads no `export`"),
        (f"OK=1\n9TOKEN={SECRET}\n", "env:2:1: no variable name before the `=`"),
        (f"https://hooks.example.com/{SECRET}?a=b\n", "env:1:1: no variable name"),
        (f"OK=1\nTOKEN='{SECRET}\nNEXT=2\n", "env:2:7: this quote is never closed"),
        (f'TOKEN=  "{SECRET}', "env:1:9: this quote is never closed"),
        (f"\ufeffTOKEN={SECRET}\n", "env:1:1: a byte order mark"),
        (f"TOKEN={SECRET}\0MORE=1\n", "env:1:19: a NUL byte"),
    ], ids=["export", "digit-first", "pasted-url", "single-unclosed", "double-unclosed", "bom",
            "nul"])
    def test_is_located_and_never_shows_a_value(self, text: str, problem: str) -> None:
        """A mistyped line may hold a secret: the message says where, never what."""
        with pytest.raises(ConfigError) as caught:
            parse_env_file(text, path="env")
        assert str(caught.value).startswith(problem)
        assert SECRET not in str(caught.value)

    def test_every_problem_is_reported_at_once_in_file_order(self) -> None:
        """As `check` reports a config's: one run shows every line to fix."""
        with pytest.raises(ConfigError) as caught:
            parse_env_file("1A=x\nB=ok\nexport C=y\n", path="env")
        assert [(p.line, p.column) for p in caught.value.problems] == [(1, 1), (3, 1)]

    def test_a_file_that_is_not_utf8_is_located(self, tmp_path: Path) -> None:
        """systemd refuses such a file, and the service would not start."""
        path = tmp_path / "env"
        path.write_bytes(b"A=1\nTOKEN=caf\xe9\n")
        with pytest.raises(ConfigError, match=r"env:2:10: not UTF-8"):
            read_env_file(path, warn=print)

    def test_a_missing_file_is_named(self, tmp_path: Path) -> None:
        """A file named on the command line must exist: a typo is not an empty file."""
        with pytest.raises(ConfigError, match=r"/nothing:1:1: cannot read the environment file: "
                                              r"No such file or directory"):
            read_env_file(tmp_path / "nothing", warn=print)

    @pytest.mark.parametrize(("mode", "warned"), [(0o600, False), (0o640, False), (0o644, True)])
    def test_a_file_every_user_may_read_is_warned_of(
        self, tmp_path: Path, mode: int, warned: bool
    ) -> None:
        """Secrets every local user may read: worth a warning; a group's: a choice."""
        path = tmp_path / "env"
        path.write_text(f"TOKEN={SECRET}\n", encoding="utf-8")
        path.chmod(mode)
        warnings: list[str] = []
        assert read_env_file(path, warn=warnings.append) == {"TOKEN": SECRET}
        assert [w.startswith(f"warning: {path} is readable by every user") for w in warnings] == (
            [True] if warned else [])


# -- the command line, as an operator runs it ---------------------------------------------------

CONFIG = """state_dir: ${STATE}
sources: [{name: app, paths: ["${LOGS}/*.log"]}]
rules: [{name: tb, match: {traceback: true}, notify: [hook]}]
notifiers:
  hook: {type: webhook, url: "${HOOK_URL}"}
"""

TRACEBACK = """Traceback (most recent call last):
  File "app.py", line 1, in <module>
ValueError: boom
"""

RULE_TEST = """tests:
  - name: a traceback alerts
    source: app
    input: |
      Traceback (most recent call last):
        File "app.py", line 1, in <module>
      ValueError: boom
    expect: [{rule: tb}]
"""


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path]:
    """A config whose state_dir, source and notifier come from an environment file."""
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_text(TRACEBACK, encoding="utf-8")
    Store.in_dir(tmp_path / "state").close()  # as a daemon that ran here leaves it
    config = tmp_path / "logwatch.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    env = write_env(tmp_path / "env", f"""# the service's variables
STATE={tmp_path / "state"}
LOGS="{tmp_path / "logs"}"
HOOK_URL='http://127.0.0.1:9/hook/{SECRET}'
""")
    rule_test = tmp_path / "rules-test.yaml"
    rule_test.write_text(RULE_TEST, encoding="utf-8")
    return {"config": config, "env": env, "log": tmp_path / "logs" / "app.log",
            "rule_test": rule_test}


def write_env(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


# {config}, {env}, {log}, {rule_test} stand for the fixture's paths
COMMANDS = {
    "check": ["check", "-c", "{config}", "--env-file", "{env}"],
    "before-the-command": ["--env-file", "{env}", "check", "-c", "{config}"],
    "replay": ["replay", "--json", "-c", "{config}", "--env-file", "{env}", "{log}"],
    "test": ["test", "-c", "{config}", "--env-file", "{env}", "{rule_test}"],
    "status": ["status", "--env-file", "{env}", "-c", "{config}"],
    "outbox": ["outbox", "--env-file", "{env}", "list", "-c", "{config}"],
    "outbox-action": ["outbox", "list", "-c", "{config}", "--env-file", "{env}"],
    "silence-action": ["silence", "list", "-c", "{config}", "--env-file", "{env}"],
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_every_command_that_reads_the_config_takes_the_file(
    setup: dict[str, Path], command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before or after the command or its action; without it, the same command fails."""
    for name in ("STATE", "LOGS", "HOOK_URL"):
        monkeypatch.delenv(name, raising=False)  # the child gets this environment
    args = [arg.format(**setup) for arg in command]

    result = logwatch(*args)

    assert result.returncode == 0, result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr
    if command[0] == "replay":
        assert '"rule": "tb"' in result.stdout
    bare = logwatch(*[arg for arg in args if arg not in ("--env-file", str(setup["env"]))])
    assert bare.returncode != 0
    assert "is not set" in bare.stderr


def test_a_comment_after_a_url_is_part_of_it_and_check_says_so(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd keeps `# prod` after a value as part of it: the webhook URL would be sent
    escaped, to a path nobody meant. `check` refuses it, repeating nothing of it."""
    for name in ("STATE", "LOGS", "HOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    env = setup["env"]
    text = env.read_text(encoding="utf-8").replace(f"{SECRET}'", f"{SECRET}  # prod'")
    write_env(env, text)

    checked = logwatch("check", "-c", str(setup["config"]), "--env-file", str(env))

    assert checked.returncode == 2
    assert "notifiers.hook.url" in checked.stderr
    assert "`# comment` after it in the environment file" in checked.stderr
    assert SECRET not in checked.stdout + checked.stderr


def test_an_unset_variable_points_to_the_option(
    setup: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`check` run by hand without the service's variables says how to give them."""
    for name in ("STATE", "LOGS", "HOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    bare = logwatch("check", "-c", str(setup["config"]))
    assert bare.returncode == 2
    assert bare.stderr.count("--env-file /etc/logwatch/env") == 1  # once, not per variable

    other = write_env(setup["config"].parent / "other.env", "UNRELATED=1\n")
    given = logwatch("check", "-c", str(setup["config"]), "--env-file", str(other))
    assert given.returncode == 2
    assert "is not set" in given.stderr
    assert "--env-file" not in given.stderr  # it was given: the file lacks the variable


@pytest.fixture
def hook(httpserver: HTTPServer) -> str:
    """The receiver's URL without the token: only /hook/<token> answers 200."""
    httpserver.expect_request(f"/hook/{SECRET}", method="POST").respond_with_data("ok")
    httpserver.expect_request("/hook/wrong", method="POST").respond_with_response(
        Response("wrong token", status=403))
    return httpserver.url_for("/hook/")


def test_notify_sends_with_the_files_secret(setup: dict[str, Path], hook: str) -> None:
    """`test-notify` reaches the endpoint the service would, secret and all."""
    write_env(setup["env"], f"STATE=.\nHOOK_URL={hook}{SECRET}\n")

    sent = logwatch("test-notify", "-c", str(setup["config"]), "--env-file", str(setup["env"]),
                    "hook", env={"LOGS": "."})

    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sent.stdout.startswith("hook: delivered: HTTP 200")


def test_the_file_wins_over_the_environment_as_for_the_service(
    setup: dict[str, Path], hook: str
) -> None:
    """EnvironmentFile= overrides the manager's environment and Environment= (systemd.exec(5))."""
    write_env(setup["env"], f"STATE=.\nHOOK_URL={hook}{SECRET}\n")

    sent = logwatch("test-notify", "-c", str(setup["config"]), "--env-file", str(setup["env"]),
                    "hook", env={"LOGS": ".", "HOOK_URL": f"{hook}wrong"})

    assert sent.returncode == 0, sent.stdout + sent.stderr


def test_a_later_file_wins_over_an_earlier_one(
    setup: dict[str, Path], hook: str, tmp_path: Path
) -> None:
    """Files are read in the order given, before the command and after it."""
    first = write_env(tmp_path / "first", f"STATE=.\nLOGS=.\nHOOK_URL={hook}wrong\n")
    second = write_env(tmp_path / "second", f"HOOK_URL={hook}{SECRET}\n")

    sent = logwatch("--env-file", str(first), "test-notify", "-c", str(setup["config"]),
                    "--env-file", str(second), "hook")

    assert sent.returncode == 0, sent.stdout + sent.stderr


@pytest.mark.parametrize(("text", "problem"), [
    (None, "{env}:1:1: cannot read the environment file: No such file or directory"),
    (f"STATE=.\nexport HOOK_URL=http://127.0.0.1:9/{SECRET}\n", "{env}:2:1: systemd reads no"),
    (f"STATE=.\nHOOK_URL='http://127.0.0.1:9/{SECRET}\n", "{env}:2:10: this quote is never"),
], ids=["missing", "export", "unclosed-quote"])
def test_a_file_it_cannot_read_as_written_exits_2_naming_the_line(
    setup: dict[str, Path], text: str | None, problem: str
) -> None:
    """As a bad config does, with FILE:LINE:COL, no value and no traceback."""
    if text is None:
        setup["env"].unlink()
    else:
        write_env(setup["env"], text)

    result = logwatch("check", "-c", str(setup["config"]), "--env-file", str(setup["env"]))

    assert result.returncode == 2
    assert result.stderr.startswith(problem.format(**setup))
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_run_takes_the_file(
    setup: dict[str, Path], tmp_path: Path, httpserver: HTTPServer
) -> None:
    """`logwatch run --env-file` outside systemd (a container, a shell) sends as the service."""
    receiver = Receiver()
    httpserver.expect_request(f"/hook/{SECRET}", method="POST").respond_with_handler(
        receiver.handle)
    write_env(setup["env"], f"STATE={tmp_path / 'state'}\nLOGS={tmp_path / 'logs'}\n"
                            f"HOOK_URL={httpserver.url_for('/hook/')}{SECRET}\n")
    with running_daemon(setup["config"], tmp_path, args=("--env-file", str(setup["env"]))):
        app_log = AppLog(setup["log"])
        try:
            app_log.exception(1)
            wait_for(lambda: receiver.count() >= 1, 10, "the webhook POST")
        finally:
            app_log.close()
    assert receiver.bodies[0]["exc_type"] == "ValueError"
