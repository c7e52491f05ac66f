"""The systemd unit: accepted by the real `systemd-analyze`, hardened, and still able to work.

`systemd-analyze verify` checks that ExecStart's binary exists. The unit names
/opt/logwatch/bin/logwatch, which a developer's machine does not have, so the
test builds a throw-away root (`--root=`) holding the unit, an executable at
each Exec path, and the host's own unit library for the targets it orders
against.
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.daemon_harness import AppLog, Receiver, running_daemon, wait_for

UNIT = Path(__file__).resolve().parent.parent / "systemd" / "logwatch.service"
MAX_EXPOSURE = 2.0
HOST_UNITS = Path("/usr/lib/systemd/system")


@pytest.fixture(scope="module")
def systemd_analyze() -> str:
    path = shutil.which("systemd-analyze")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing in CI; .ci/run installs Debian's systemd")
        pytest.skip("NOT CHECKED: systemd-analyze is not installed (apt-get install systemd)")
    return path


def service_section() -> dict[str, list[str]]:
    """[Service] as key -> every value given, in order (systemd keys repeat)."""
    values: dict[str, list[str]] = {}
    section = ""
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def exec_binaries() -> list[str]:
    """The absolute program path of every Exec*= line, without systemd's prefixes (-@:+!)."""
    programs = []
    for key, values in service_section().items():
        if key.startswith("Exec"):
            for value in values:
                programs.append(value.split()[0].lstrip("-@:+!"))
    return programs


class TestSystemdAnalyze:
    def test_security_exposure_is_at_most_two(self, systemd_analyze: str) -> None:
        """`systemd-analyze security --offline=yes` rates the unit 2.0 or better (lower)."""
        result = subprocess.run(
            [systemd_analyze, "security", "--offline=yes", "--no-pager", str(UNIT)],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert result.returncode == 0, result.stderr
        found = re.search(r"Overall exposure level for logwatch\.service: (\d+\.\d+)",
                          result.stdout)
        assert found is not None, result.stdout[-2000:]
        assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout

    def test_verify_accepts_the_unit(self, systemd_analyze: str, tmp_path: Path) -> None:
        """`systemd-analyze verify` passes without a single warning, in a root that holds
        the unit and its ExecStart/ExecReload programs."""
        root = tmp_path / "root"
        units = root / "etc" / "systemd" / "system"
        units.mkdir(parents=True)
        shutil.copy(UNIT, units / UNIT.name)
        shutil.copytree(HOST_UNITS, root / HOST_UNITS.relative_to("/"), symlinks=True)
        for program in exec_binaries():
            stub = root / program.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
            stub.chmod(0o755)
        result = subprocess.run(
            [systemd_analyze, "verify", f"--root={root}", "--man=no", UNIT.name],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert (result.returncode, result.stderr) == (0, "")

    def test_verify_catches_a_misspelt_key(self, systemd_analyze: str, tmp_path: Path) -> None:
        """The check above has teeth: an unknown key in the same root is reported."""
        root = tmp_path / "root"
        units = root / "etc" / "systemd" / "system"
        units.mkdir(parents=True)
        (units / UNIT.name).write_text(
            UNIT.read_text(encoding="utf-8").replace("ProtectHome=", "ProtectHom="),
            encoding="utf-8",
        )
        shutil.copytree(HOST_UNITS, root / HOST_UNITS.relative_to("/"), symlinks=True)
        for program in exec_binaries():
            stub = root / program.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n", encoding="utf-8")
            stub.chmod(0o755)
        result = subprocess.run(
            [systemd_analyze, "verify", f"--root={root}", "--man=no", UNIT.name],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert "Unknown key 'ProtectHom'" in result.stderr


class TestHardening:
    """What issue 7 asks of the unit, and what must stay off so logwatch can still work."""

    def test_it_is_a_notify_service_with_a_watchdog(self) -> None:
        service = service_section()
        assert service["Type"] == ["notify"]
        assert service["NotifyAccess"] == ["main"]
        assert service["WatchdogSec"] == ["30s"]
        assert service["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
        assert service["StateDirectory"] == ["logwatch"]

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"),
            ("NoNewPrivileges", "yes"),
            ("CapabilityBoundingSet", ""),
            ("AmbientCapabilities", ""),
            ("RestrictAddressFamilies", "AF_UNIX AF_INET AF_INET6"),
            ("RestrictNamespaces", "yes"),
            ("LockPersonality", "yes"),
            ("MemoryDenyWriteExecute", "yes"),
            ("SystemCallArchitectures", "native"),
        ],
    )
    def test_hardening_setting(self, key: str, value: str) -> None:
        """Each setting issue 7 lists is present with the restrictive value."""
        assert service_section()[key] == [value]

    def test_system_calls_are_the_service_set_minus_privileged_ones(self) -> None:
        assert service_section()["SystemCallFilter"] == [
            "@system-service", "~@privileged @resources"
        ]

    def test_logs_stay_readable_through_the_adm_group(self) -> None:
        """Reading other users' logs needs the real supplementary groups: no PrivateUsers
        (it would map adm to nobody), and the dynamic user joins adm."""
        service = service_section()
        assert service["SupplementaryGroups"] == ["adm"]
        assert "PrivateUsers" not in service
        assert service["DynamicUser"] == ["yes"]

    def test_unit_parses_as_ini(self) -> None:
        """No stray lines: every line is a section, a comment or KEY=VALUE."""
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep key case
        parser.read_string(UNIT.read_text(encoding="utf-8"))
        assert parser.sections() == ["Unit", "Service", "Install"]


# -- MemoryDenyWriteExecute, for real ----------------------------------------

PR_SET_MDWE = 65  # linux/prctl.h, Linux 6.3+
PR_MDWE_REFUSE_EXEC_GAIN = 1

MDWE_SITECUSTOMIZE = f"""\
# Refuse writable+executable memory from interpreter start-up on, as
# MemoryDenyWriteExecute=yes does; inherited by nothing else.
import ctypes
if ctypes.CDLL(None, use_errno=True).prctl({PR_SET_MDWE}, {PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0):
    raise SystemExit("PR_SET_MDWE failed: errno " + str(ctypes.get_errno()))
"""


def mdwe_supported() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", MDWE_SITECUSTOMIZE], capture_output=True, timeout=30, check=False
    )
    return probe.returncode == 0


@pytest.fixture
def app_log(tmp_path: Path) -> Iterator[AppLog]:
    (tmp_path / "logs").mkdir()
    log = AppLog(tmp_path / "logs" / "app.log")
    log.info("service started")
    yield log
    log.close()


class TestMemoryDenyWriteExecute:
    def test_the_daemon_works_when_the_kernel_refuses_writable_executable_memory(
        self, tmp_path: Path, httpserver: HTTPServer, app_log: AppLog
    ) -> None:
        """Under the kernel's own W^X (PR_SET_MDWE, what MemoryDenyWriteExecute=yes asks
        for), the whole daemon runs: watchdog's inotify through ctypes (plain foreign
        calls, no callbacks), SQLite, and HTTP delivery."""
        if not mdwe_supported():
            pytest.skip("NOT CHECKED: this kernel has no PR_SET_MDWE (Linux 6.3+)")
        site = tmp_path / "mdwe-site"
        site.mkdir()
        (site / "sitecustomize.py").write_text(MDWE_SITECUSTOMIZE, encoding="utf-8")
        receiver = Receiver()
        httpserver.expect_request("/alerts").respond_with_handler(receiver.handle)
        config = tmp_path / "logwatch.yaml"
        config.write_text(
            f"""
state_dir: {tmp_path / "state"}
sources: [{{name: app, paths: ["{tmp_path / "logs"}/*.log"]}}]
rules: [{{name: tracebacks, match: {{traceback: true}}, notify: [hook]}}]
notifiers: {{hook: {{type: webhook, url: "{httpserver.url_for("/alerts")}"}}}}
""",
            encoding="utf-8",
        )
        pythonpath = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
        with running_daemon(config, tmp_path, env={"PYTHONPATH": pythonpath}):
            app_log.exception(1)
            wait_for(lambda: receiver.count() == 1, 15, "the alert from the W^X daemon")
        assert receiver.bodies[0]["exc_type"] == "ValueError"
