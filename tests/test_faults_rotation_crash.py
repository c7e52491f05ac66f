"""Issue 4's promise under load: real logrotate, kill -9 and a flaky webhook lose no alert.

A writer process appends numbered ``logger.exception`` records to two logs
while the real ``logrotate -f`` rotates them every few seconds (one with
``create``, one with ``copytruncate``), the daemon is SIGKILLed and restarted
at seeded moments, and the webhook answers 500 to a seeded 30% of requests.

Afterwards the truth is the writer's ledger and the bytes on disk:

- every record of the ``create`` log is alerted;
- every record of the ``copytruncate`` log that is on disk (live file or its
  rotated copies) is alerted. logrotate documents that lines written between
  its copy and its truncate are lost; the writer does not pause for it, and
  the test counts those lines instead of hiding them;
- a record is never alerted under two ids, and an id is delivered again only
  for a send in flight at a kill: at most one delivery batch per crash.

The seed is ``LOGWATCH_FAULT_SEED`` (default below), printed with the figures.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.daemon_harness import Receiver, running_daemon, stop
from tests.faults.tools import (
    Deliveries,
    Rotator,
    Writer,
    orders_on_disk,
    outbox_pending,
    pause_until,
    settle,
)

SEED = int(os.environ.get("LOGWATCH_FAULT_SEED", "4004"))
RECORDS = 2000
WRITE_S = 50.0
CRASHES = 3
BATCH = 10  # delivery batch: the most a crash can leave sent but not marked sent
FAIL_RATIO = 0.3
DRAIN_CAP_S = 45.0  # after the last record; a quiet machine needs a few seconds


def soak_config(tmp_path: Path, url: str) -> Path:
    logs = tmp_path / "logs"
    config = tmp_path / "logwatch.yaml"
    # the globs take the rotated generations too, as the docs recommend: a writer
    # racing logrotate's rename and create leaves its lines in a *.backup file
    config.write_text(
        f"""
state_dir: {tmp_path / "state"}
host: soak
sources:
  - name: shop
    paths: ["{logs}/*.log*"]
    exclude: ["*.gz"]
    start_at: beginning
rules:
  - name: tracebacks
    match: {{traceback: true}}
    severity: error
    notify: [hook]
notifiers:
  hook: {{type: webhook, url: "{url}"}}
delivery: {{initial_backoff: 100ms, max_backoff: 1s, timeout: 2s, batch: {BATCH}}}
""",
        encoding="utf-8",
    )
    return config


def accepted(receiver: Receiver) -> Deliveries:
    with receiver.lock:
        return Deliveries.of(list(receiver.bodies))


class TestRotationUnderCrashes:
    @pytest.mark.timeout(WRITE_S + DRAIN_CAP_S + 60)
    def test_records_survive_logrotate_kill9_and_a_flaky_webhook(
        self, tmp_path: Path, httpserver: HTTPServer
    ) -> None:
        """2,000 records, logrotate every 2-5 s, 3 SIGKILLs, 30% 500s: nothing on disk is lost."""
        rng = random.Random(SEED)
        receiver = Receiver(fail_ratio=FAIL_RATIO, rng=random.Random(rng.random()))
        httpserver.expect_request("/alerts", method="POST").respond_with_handler(receiver.handle)
        logs = tmp_path / "logs"
        logs.mkdir()
        create_log, copied_log = logs / "create.log", logs / "copytruncate.log"
        config = soak_config(tmp_path, httpserver.url_for("/alerts"))
        state = tmp_path / "state"
        kills = sorted(rng.uniform(3.0, WRITE_S - 5.0) for _ in range(CRASHES))
        downtimes = [rng.uniform(0.2, 3.0) for _ in range(CRASHES)]
        rotator = Rotator(
            tmp_path,
            {create_log: "rotate 1000\ncreate\nmissingok",
             copied_log: "rotate 1000\ncopytruncate\nmissingok"},
            every_s=(2.0, 5.0),
            rng=random.Random(rng.random()),
        )
        writer: Writer | None = None
        started = 0.0
        try:
            for kill_at, down_s in zip(kills, downtimes, strict=True):
                with running_daemon(config, tmp_path, args=()) as daemon:
                    if writer is None:
                        writer = Writer(RECORDS, WRITE_S, [create_log, copied_log])
                        started = time.monotonic()
                        rotator.start()
                    pause_until(started + kill_at)
                    daemon.kill()
                    daemon.wait()
                pause_until(time.monotonic() + down_s)
            assert writer is not None
            with running_daemon(config, tmp_path, args=()) as daemon:
                writer.finish(timeout_s=WRITE_S + 30.0)
                rotator.finish()
                must = writer.orders_for(create_log) | orders_on_disk(copied_log)
                # a slow machine delivers slowly: wait while deliveries go on, not while stalled
                drained = settle(
                    lambda: must <= accepted(receiver).orders and outbox_pending(state) == 0,
                    progress=receiver.count, stall_s=15.0, cap_s=DRAIN_CAP_S,
                )
                code, _ = stop(daemon)
        finally:
            if writer is not None:
                writer.kill()
            if rotator.is_alive():
                rotator.finish()

        got = accepted(receiver)
        written_create = writer.orders_for(create_log)
        written_copied = writer.orders_for(copied_log)
        on_disk_copied = orders_on_disk(copied_log)
        lost_in_window = written_copied - on_disk_copied - got.orders
        print(
            f"\nseed={SEED} rotations={rotator.rotations} kills at"
            f" {[round(k, 1) for k in kills]}s, 500s answered={receiver.failures}"
            f"\ncreate: written={len(written_create)} delivered={len(got.orders & written_create)}"
            f"\ncopytruncate: written={len(written_copied)} on disk={len(on_disk_copied)}"
            f" delivered={len(got.orders & written_copied)}"
            f" lost between copy and truncate={len(lost_in_window)}"
            f"\nrepeated ids={got.repeated_ids()} (bound {BATCH * CRASHES})"
            f" orders under two ids={len(got.reissued())} torn={len(got.torn)}"
        )
        assert drained, "the outbox stalled, or did not drain in time, after the last record"
        assert code == 0
        assert rotator.rotations >= 8
        assert receiver.failures > 0
        # a copy taken in the middle of a record's write() would leave its tail an orphan
        # in the live file, alerted as such by design; create rotation never splits one
        assert [body["file"] for body in got.torn if copied_log.name not in body["file"]] == []
        assert sorted(written_create - got.orders) == [], "create: records never alerted"
        assert sorted(on_disk_copied - got.orders) == [], "copytruncate: records on disk lost"
        assert got.orders <= written_create | written_copied
        assert got.reissued() == {}, "a record alerted under two ids"
        assert got.repeated_ids() <= BATCH * CRASHES
        for order, names in got.files_by_order.items():
            log = create_log if order in written_create else copied_log
            assert all(name.startswith(log.name) for name in names), (order, names)
