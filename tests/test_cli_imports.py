"""`check` and `replay` send nothing, so they must not pay for what only sending needs.

Each case runs the command in a fresh interpreter and lists what it imported:
httpx alone costs ~50 ms of start-up, and `replay` runs once per file in scripts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import logwatch

# what only delivery needs: the HTTP client, SMTP, the event loop
SEND_ONLY = ("httpx", "httpcore", "smtplib", "asyncio")

PROBE = """\
import json, sys
from logwatch.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _imported(*args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True, text=True, timeout=60, check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, done.stderr
    return {name.split(".")[0] for name in report["modules"]}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config naming an HTTP notifier of each kind and an email one."""
    path = tmp_path / "logwatch.yaml"
    path.write_text(
        f"""\
state_dir: {tmp_path / "state"}
rules:
  - name: db
    match: {{message: 'could not connect'}}
    notify: [hook, chat, mail]
notifiers:
  hook: {{type: webhook, url: "http://127.0.0.1:9/hook"}}
  chat: {{type: slack, url: "https://hooks.slack.com/services/T0/B0/XXXXtokenXXXX"}}
  mail: {{type: email, host: smtp.example.com, from: a@example.com, to: [b@example.com]}}
""",
        encoding="utf-8",
    )
    return path


def test_check_imports_nothing_that_only_sending_needs(config: Path) -> None:
    imported = _imported("check", "-c", str(config))
    assert imported.isdisjoint(SEND_ONLY), sorted(imported.intersection(SEND_ONLY))


def test_replay_imports_nothing_that_only_sending_needs(config: Path, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("2026-01-01 12:00:00,000 ERROR app could not connect\n", encoding="utf-8")
    imported = _imported("replay", "-c", str(config), "--json", str(log))
    assert imported.isdisjoint(SEND_ONLY), sorted(imported.intersection(SEND_ONLY))


def test_importing_the_package_imports_no_pydantic() -> None:
    """The package's public names (for plugin authors) are imported when first used."""
    probe = "import json, sys\nimport logwatch\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    imported = set(json.loads(done.stdout))
    assert {"pydantic", "logwatch.notifiers.base"}.isdisjoint(imported)


def test_every_public_name_still_resolves() -> None:
    for name in logwatch.__all__:
        assert getattr(logwatch, name) is not None
        assert name in dir(logwatch)
    from logwatch.notifiers.base import NotifierOptions

    assert logwatch.NotifierOptions is NotifierOptions
    with pytest.raises(AttributeError):
        _ = logwatch.NoSuchName


def test_star_import_gives_every_public_name() -> None:
    """In a fresh interpreter, where no name has been looked up yet."""
    probe = "import json\nfrom logwatch import *\nprint(json.dumps(sorted(globals())))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert set(logwatch.__all__) <= set(json.loads(done.stdout))
