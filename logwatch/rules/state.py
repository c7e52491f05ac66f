"""Rules stage memory: sliding windows and per-group records, behind one Protocol.

The engine keeps everything it must remember between events here: threshold
windows, the last alert of each group (cooldown), occurrences held back since
then, whether the group is firing (resolve), alerts waiting for a digest
(``kind="digest"`` records), and which fingerprints this host has seen
(``notify_on: [new, regression]``). Times are float epoch seconds so that
every backend (memory, SQLite, later Redis) stores plain numbers.

Each operation stands on its own, so a networked backend can make each one
atomic (``window_add`` is a ZADD + ZREMRANGEBYSCORE + ZCARD; ``put`` a SET with
an expiry and a ZADD into a due index).
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import json
import math
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class GroupState:
    """What the engine remembers about one (rule, group) pair."""

    rule: str
    last_seen: float  # the latest matching occurrence, sent or not
    last_sent_at: float | None = None  # when the group last produced a firing alert
    last_sent_id: str | None = None  # the id of that alert; re-reading it re-sends it
    # The current incident: opened by the first alert, closed by `resolved`.
    incident_id: str | None = None
    incident_first_seen: float | None = None
    incident_count: int = 0
    # Occurrences held back by the cooldown since the last alert.
    pending: int = 0
    pending_first_seen: float | None = None
    pending_last_id: str | None = None
    # The payload (already redacted) of the latest occurrence, from which
    # time-driven alerts are built when no event is at hand.
    snapshot: Mapping[str, Any] = field(default_factory=dict)
    due_at: float | None = None  # when `tick` has work for this group
    expires_at: float | None = None  # when the record may be forgotten
    # "group": the above, per (rule, group_by key). "digest": alerts waiting
    # for group_wait / group_interval; `pending` counts them, `snapshot` holds
    # their summary (rules/digest.py), `last_sent_at` is the last flush.
    kind: str = "group"
    cooldown_s: float | None = None  # the current cooldown, when it grows
    # Where the occurrences the next alert counts were seen (held back, or
    # below the threshold); more than one host when daemons share the state.
    hosts: tuple[str, ...] = ()
    # Of an open incident: the notifiers its firing alerts went to, and the
    # quiet that resolves it. A reload may remove its rule, or the rule's
    # `resolve_after`: the incident is still resolved, there, then.
    notified: tuple[str, ...] = ()
    resolve_after_s: float | None = None
    # Where the incident's occurrences (incident_count) were seen: the hosts of
    # its `resolved` notice, whichever alert or summary went out last.
    incident_hosts: tuple[str, ...] = ()

    def replace(self, **changes: Any) -> GroupState:
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GroupState:
        data = json.loads(text)
        names = {f.name for f in dataclasses.fields(cls)}
        for name in ("hosts", "notified", "incident_hosts"):
            if name in data:
                data[name] = tuple(data[name])  # JSON has lists only
        if (
            "resolve_after_s" not in data
            and data.get("incident_id") is not None
            and data.get("due_at") is not None
        ):
            # Written before the span was stored: its due time is the resolve, or
            # a cooldown end before it. Resolving then is early, never late.
            data["resolve_after_s"] = max(data["due_at"] - data["last_seen"], 0.0)
        # Fields written by a newer version are ignored rather than fatal.
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True, slots=True)
class FingerprintState:
    """What this host knows about one fingerprint, for ``notify_on``."""

    first_seen: float
    last_seen: float
    resolved_at: float | None = None  # set when a group of it resolved; cleared when seen
    # The occurrence that made it new (or regressed): reading those bytes again
    # after a crash must decide the same way.
    opened_by: str = ""
    opened_as: str = "new"  # "new" | "regression"


class RuleState(Protocol):
    """Where the engine keeps windows and group records."""

    def window_add(self, key: str, member: str, at: float, within: float) -> tuple[int, float]:
        """Record occurrence ``member`` at ``at`` in the sliding window ``key``.

        Forget members older than ``at - within``; adding a member twice (the
        same bytes re-read after a crash) counts it once. Return how many
        members the window holds and the time of the oldest.
        """
        ...

    def get(self, key: str) -> GroupState | None: ...

    def put(self, key: str, value: GroupState) -> None: ...

    def delete(self, key: str) -> None: ...

    def due(self, now: float) -> list[tuple[str, GroupState]]:
        """Return the groups whose ``due_at`` has come, oldest first."""
        ...

    def prune(self, now: float) -> int:
        """Forget records past their ``expires_at`` and windows gone quiet; return how many."""
        ...

    def quiet_until(self) -> float | None:
        """A time before which ``due`` finds no group and ``prune`` nothing to forget.

        None where it cannot tell (a state other daemons write to): any tick may
        have work. An idle daemon sleeps until then rather than ticking every second.
        """
        ...

    def sighting(self, fingerprint: str, occurrence: str, at: float) -> FingerprintState | None:
        """Record that ``fingerprint`` was seen at ``at``; return what was known before.

        None means never seen. A fingerprint that was resolved is no longer
        resolved afterwards, and ``opened_by``/``opened_as`` are set to
        ``occurrence`` and "new"/"regression" when this sighting opened it.
        One atomic read-and-write on a networked backend.
        """
        ...

    def resolve_fingerprint(self, fingerprint: str, at: float) -> None:
        """Mark a known fingerprint resolved: its next sighting is a regression."""
        ...

    def hold(self, key: str) -> AbstractContextManager[None]:
        """Keep other daemons sharing this state off group ``key`` during the block.

        The engine reads, decides and writes a group inside it, so that two
        hosts seeing one error at once send one alert. A state no other
        daemon uses has nothing to do here (``contextlib.nullcontext()``).
        """
        ...


def next_sighting(
    before: FingerprintState | None, occurrence: str, at: float
) -> FingerprintState:
    """The record after a sighting; backends share this so they agree on it."""
    if before is None:
        return FingerprintState(at, at, None, occurrence, "new")
    if before.resolved_at is not None:
        return FingerprintState(before.first_seen, at, None, occurrence, "regression")
    return dataclasses.replace(before, last_seen=max(before.last_seen, at))


class MemoryRuleState:
    """A RuleState in dicts: for replay, tests, and daemons that accept forgetting."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[list[float], dict[str, float]]] = {}
        self._window_span: dict[str, float] = {}
        self._groups: dict[str, GroupState] = {}
        self._fingerprints: dict[str, FingerprintState] = {}
        # `due` and `prune` run on every tick (every record, and every due time,
        # in replay): a scan of every group each time would cost the square of
        # their number. Heaps of (time, key) answer in the log of it: an entry
        # counts while its group still has that time, and the others are
        # dropped when they come to the top (or all at once, when they are
        # most of the heap). No window of span S is quiet while `now - S` is
        # at most `_window_floor[S]` (the latest time of each window never
        # goes back, so a stale floor is lower still: it costs a scan, never a
        # missed record).
        self._due: list[tuple[float, str]] = []
        self._expiry: list[tuple[float, str]] = []
        self._window_floor: dict[float, float] = {}

    def window_add(self, key: str, member: str, at: float, within: float) -> tuple[int, float]:
        times, members = self._windows.setdefault(key, ([], {}))
        self._window_span[key] = within
        if member not in members:
            members[member] = at
            bisect.insort(times, at)
        cut = bisect.bisect_left(times, at - within)
        if cut:
            horizon = times[cut - 1]
            del times[:cut]
            for name in [name for name, seen in members.items() if seen <= horizon]:
                del members[name]
        latest = times[-1] if times else -math.inf
        if latest < self._window_floor.get(within, math.inf):
            self._window_floor[within] = latest
        return len(times), times[0]

    def get(self, key: str) -> GroupState | None:
        return self._groups.get(key)

    def put(self, key: str, value: GroupState) -> None:
        before = self._groups.get(key)
        self._groups[key] = value
        if value.due_at is not None and (before is None or before.due_at != value.due_at):
            self._push(self._due, (value.due_at, key))
        if value.expires_at is not None and (
            before is None or before.expires_at != value.expires_at
        ):
            self._push(self._expiry, (value.expires_at, key))

    def delete(self, key: str) -> None:
        self._groups.pop(key, None)

    def first_due(self, now: float) -> float | None:
        """The earliest ``due_at`` of any group, if it has come by ``now``."""
        heap = self._due
        while heap:
            at, key = heap[0]
            group = self._groups.get(key)
            if group is not None and group.due_at == at:
                return at if at <= now else None
            heapq.heappop(heap)
        return None

    def due(self, now: float) -> list[tuple[str, GroupState]]:
        ready = self._take(self._due, now, "due_at")
        # Those listed now count too: until the caller rewrites them they stay due.
        for entry in ready:
            heapq.heappush(self._due, entry)
        return [(key, self._groups[key]) for _, key in ready]

    def prune(self, now: float) -> int:
        return self._prune_groups(now) + self._prune_windows(now)

    def quiet_until(self) -> float:
        # heap tops and window floors are lower bounds: stale entries only make it earlier.
        # No list or generator: replay asks before every event, mostly of empty heaps.
        quiet = math.inf
        if self._due:
            quiet = self._due[0][0]
        if self._expiry:
            quiet = min(quiet, self._expiry[0][0])
        for span, floor in self._window_floor.items():
            quiet = min(quiet, floor + span)
        return quiet

    def _prune_groups(self, now: float) -> int:
        gone = self._take(self._expiry, now, "expires_at")
        for _, key in gone:
            del self._groups[key]
        return len(gone)

    def _take(
        self, heap: list[tuple[float, str]], now: float, name: str
    ) -> list[tuple[float, str]]:
        """Off ``heap``: the groups whose time ``name`` has come by ``now``, once each,
        oldest first (then by key)."""
        found: dict[str, float] = {}
        while heap and heap[0][0] <= now:
            at, key = heapq.heappop(heap)
            group = self._groups.get(key)
            if group is not None and getattr(group, name) == at:
                found[key] = at
        return sorted((at, key) for key, at in found.items())

    def _push(self, heap: list[tuple[float, str]], entry: tuple[float, str]) -> None:
        heapq.heappush(heap, entry)
        if len(heap) > 2 * len(self._groups) + 64:
            # mostly entries whose group has another time now, or is gone: start afresh
            name = "due_at" if heap is self._due else "expires_at"
            heap[:] = [(at, key) for key, group in self._groups.items()
                       if (at := getattr(group, name)) is not None]
            heapq.heapify(heap)

    def _prune_windows(self, now: float) -> int:
        floors = self._window_floor
        if not floors or not any(floor < now - span for span, floor in floors.items()):
            return 0
        quiet = [
            key
            for key, (times, _) in self._windows.items()
            if not times or times[-1] < now - self._window_span[key]
        ]
        for key in quiet:
            del self._windows[key]
            del self._window_span[key]
        floors = {}
        for key, (times, _) in self._windows.items():
            span = self._window_span[key]
            floors[span] = min(times[-1], floors.get(span, math.inf))
        self._window_floor = floors
        return len(quiet)

    def sighting(self, fingerprint: str, occurrence: str, at: float) -> FingerprintState | None:
        before = self._fingerprints.get(fingerprint)
        self._fingerprints[fingerprint] = next_sighting(before, occurrence, at)
        return before

    def resolve_fingerprint(self, fingerprint: str, at: float) -> None:
        known = self._fingerprints.get(fingerprint)
        if known is not None:
            self._fingerprints[fingerprint] = dataclasses.replace(known, resolved_at=at)

    def hold(self, key: str) -> AbstractContextManager[None]:
        return nullcontext()  # one engine per MemoryRuleState
