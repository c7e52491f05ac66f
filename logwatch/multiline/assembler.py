"""Lines of one file -> events: envelopes off, grammar per stream, events built.

Pure: no I/O and no clock. The caller feeds lines as it reads them and
decides, from ``pending``, when idle time means a held event should be
flushed; the events depend only on the lines, never on how they were batched.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from operator import attrgetter
from typing import Literal, cast

from logwatch.model import Event, ExceptionInfo, Line, Lines, Origin
from logwatch.multiline import blocks, jsontext
from logwatch.multiline.ansi import strip_ansi
from logwatch.multiline.envelopes import Unwrapped, docker_record, unwrap
from logwatch.multiline.fingerprint import fingerprint, fingerprint_frames, fingerprint_record
from logwatch.multiline.headers import HeaderParser
from logwatch.multiline.jsonrecords import read_record
from logwatch.multiline.kinds import Kind, classify
from logwatch.multiline.knownbodies import KnownBodies, KnownBody, Recipe
from logwatch.multiline.machine import Machine, Pending
from logwatch.multiline.rows import Draft, Row, limits
from logwatch.multiline.timestamps import reader_for
from logwatch.multiline.tracebacks import ELISION_PREFIX, parse_frames, parse_traceback

Format = Literal["auto", "text", "json"]

DEFAULT_MAX_LINES = 1000
DEFAULT_MAX_BYTES = 1 << 20
_FATAL = ("Fatal Python error", "Windows fatal exception")
_NO_FLAGS: frozenset[str] = frozenset()
_TRUNCATED = frozenset(("truncated",))
_IS_TRUNCATED = attrgetter("truncated")


class Assembler:
    """Turn the lines of one file into events, as soon as the grammar proves them complete."""

    def __init__(
        self,
        origin: Origin,
        *,
        format: Format = "auto",  # shadows the builtin: it is the config key's name
        max_lines: int = DEFAULT_MAX_LINES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        header_pattern: re.Pattern[str] | None = None,
        timezone: str = "UTC",
        known: KnownBodies | None = None,
    ) -> None:
        """``timezone``: the zone of the times the files write without one
        (``sources[].timezone``: an IANA name, ``UTC`` or ``local``). ``known``: where
        to keep the records replayed from memory, for a framer to mark
        (``knownbodies``); only with logging's usual headers, not in JSON."""
        if max_lines < 1 or max_bytes < 1:
            raise ValueError(f"max_lines and max_bytes must be positive: {max_lines}, {max_bytes}")
        self._origin = origin
        self._format = format
        self._max_lines = max_lines
        self._max_bytes = max_bytes
        self._header_pattern = header_pattern
        self._times = reader_for(timezone)
        self._headers = HeaderParser(header_pattern, self._times)
        self._machines: dict[str, Machine] = {}  # one per stream (stdout/stderr, pid, ...)
        self._split: dict[str, list[tuple[Line, Unwrapped]]] = {}  # runtime-split lines
        # Records of the usual shape repeat (a storm is one bug, logged again
        # and again): what the grammar made of one is replayed for the next.
        self._blocks = blocks.SHARED if format != "json" else None
        self._known = known if self._blocks is not None and header_pattern is None else None
        self._head_bytes = limits(max_lines, max_bytes)[2]  # what a block replayed may hold
        self._made: list[Event] = []  # made in a feed ahead of its drafts: ``_made_and``

    @property
    def keeps_known(self) -> bool:
        """Whether it keeps records for a framer to mark (``known`` was given and is used)."""
        return self._known is not None

    def feed(self, lines: Iterable[Line]) -> list[Event]:
        """Consume lines; return the events the grammar proves complete (in completion order)."""
        drafts: list[Draft] = []
        if self._blocks is None:
            for line in lines:
                self._line(line, drafts)
        else:
            self._feed_blocks(lines if isinstance(lines, list | Lines) else list(lines), drafts)
        return self._made_and(drafts)

    def _made_and(self, drafts: list[Draft]) -> list[Event]:
        """The events made already while feeding (``_made_again``), then those of ``drafts``."""
        made, self._made = self._made, []
        made.extend(map(self._event, drafts))
        return made

    def _feed_blocks(self, lines: Sequence[Line], drafts: list[Draft]) -> None:
        """``_line`` for each line, but a record seen before is not stepped through again.

        A block is a record header, the lines under it, and the next header,
        all in this batch: the header before always closes what is held, and
        the one after closes the block, so the drafts in between depend only
        on the block's text (``blocks``).
        """
        bounds = blocks.Boundaries(
            lines, self._header_pattern, json_records=self._format != "text"
        )
        known = lines.known if isinstance(lines, Lines) else None
        count = len(lines)
        index = 0
        while index < count:
            at = index
            index += 1
            if known and at in known:
                self._known_record(cast(Lines, lines), bounds, at, known[at], drafts)
                continue
            head = self._header_row(bounds, at) if at in bounds.starts else None
            if head is None:
                self._line(lines[at], drafts)
            else:
                index = self._blocks_under(head, lines, index, bounds, drafts)

    def _blocks_under(
        self, head: Row, lines: Sequence[Line], index: int, bounds: blocks.Boundaries,
        drafts: list[Draft],
    ) -> int:
        """Take the header row ``head`` (``lines[index - 1]``) and the blocks that follow
        it, replaying those seen before; return the index of the first line not taken."""
        memo = self._blocks
        assert memo is not None
        json_records = self._format != "text"
        setting = (self._max_lines, self._max_bytes)
        self._emit_row("", head, drafts)
        machine = self._machines[""]
        if not machine.opened_by_header():
            return index
        # Whether the machine holds ``head``. A replay emits what it held, and
        # the header after a replayed block is fed to it only when the next
        # block is not replayed too: an idle machine fed a header emits
        # nothing, so the drafts are the same whenever that happens.
        held = True
        known = lines.known if isinstance(lines, Lines) else None
        while True:
            end = bounds.end(index)
            if end is None or not memo.fits(setting, head, bounds, index, end):
                break
            texts = tuple(bounds.texts[index:end])
            key = memo.key(setting, json_records, head, texts, self._header_pattern)
            template = memo.get(key)
            if template is None:
                if not held:
                    self._emit_row("", head, drafts)
                    held = True
                record = machine.record_header()
                first = len(drafts)
                plain = True
                for at in range(index, end + 1):
                    plain = self._line(lines[at], drafts) and plain
                if plain:
                    memo.learn(key, machine, lines, index - 1, end, drafts, first, record)
                if known and end in known:
                    self._known_body(cast(Lines, lines), end, known[end], drafts)
                    return end + 1
                index = end + 1
                if not machine.opened_by_header():
                    return index
                head = machine.opening_row()
                if head.text != head.raw:
                    return index  # ANSI codes were cleaned off the header: replay would lose them
                continue
            if held:
                machine.restart()
                held = False
            template.replay(head, texts, bounds.rows_from(index), drafts)
            if self._known is not None:
                self._remember(self._known, head, lines, index, end, texts, template)
            if known and end in known:
                return end  # a header with what lies under it: ``_known_record``
            index = end + 1
            after = self._header_row(bounds, end)
            if after is None:
                self._line(lines[end], drafts)
                return index
            head = after
        if not held:
            self._emit_row("", head, drafts)
        return index

    def _known_record(
        self, lines: Lines, bounds: blocks.Boundaries, at: int, body: KnownBody,
        drafts: list[Draft],
    ) -> None:
        """Take the header line ``at`` and ``body``, the lines under it, seen before."""
        head = self._header_row(bounds, at)
        if head is None:
            self._line(lines[at], drafts)
        else:
            machine = self._machines.get("")
            # Where the header would only open a record, which the block's end
            # closes, it need not be fed at all.
            if (
                machine is not None
                and machine.idle_after_headers()
                and self._made_again(head, body, drafts)
            ):
                return
            self._emit_row("", head, drafts)
        self._known_body(lines, at, body, drafts)

    def _known_body(self, lines: Lines, at: int, body: KnownBody, drafts: list[Draft]) -> None:
        """Take ``body``, the lines under the header line ``at``, which was just fed.

        Where the header opened a record the way a block's does
        (``_blocks_under``), what the same lines under a like header made
        before is made again; otherwise the lines are fed one by one.
        """
        machine = self._machines.get("")
        if machine is not None and machine.opened_by_header():
            head = machine.opening_row()
            if (
                head.offset == lines.offsets[at]
                and head.text == head.raw
                and self._made_again(head, body, drafts)
            ):
                machine.restart()
                return
        offset, lineno = lines.ends[at], lines.linenos[at]
        for text in body.texts:
            lineno += 1
            end = offset + len(text) + 1
            self._line(Line(text, offset, end, lineno), drafts)
            offset = end

    def _made_again(self, head: Row, body: KnownBody, drafts: list[Draft]) -> bool:
        """Make what ``body`` made under a header like ``head``, if that is known and
        nothing of it would be cut (``BlockMemo.fits``)."""
        header = head.header
        if header is None:
            return False
        made = body.made.get((header.level, head.text.rstrip().endswith(":")))
        # What ``BlockMemo.fits`` asks of a block replayed: a header longer than the
        # one it was kept under may take it past the head of the held buffer.
        # (Its lines were as many then: they fit.)
        if made is None or head.end - head.offset + body.size > self._head_bytes:
            return False
        if isinstance(made, Recipe):
            # the event comes after those of the drafts before it, which no line to
            # come can change: they are made now, in their order
            self._made.extend(map(self._event, drafts))
            drafts.clear()
            self._made.append(self._known_event(head, body, made))
        else:
            made.replay(head, body.texts, body.rows_under(head), drafts)
        return True

    def _known_event(self, head: Row, body: KnownBody, recipe: Recipe) -> Event:
        """``_event`` of the one draft a block of ``head`` and ``body`` replays to."""
        header = head.header
        assert header is not None
        return Event(
            self._origin, head.first_lineno, head.last_lineno + len(body.texts), head.offset,
            head.end + body.size, f"{head.text}\n{body.text}", header.message + recipe.tail,
            header.level, header.logger, header.timestamp or head.timestamp, recipe.chain,
            recipe.fingerprint, _NO_FLAGS,
        )

    def _remember(
        self, known: KnownBodies, head: Row, lines: Sequence[Line], index: int, end: int,
        texts: tuple[str, ...], template: blocks.Template,
    ) -> None:
        """Keep the block ``texts`` under ``head``, just replayed (so seen twice at
        least), for the framer to mark (``knownbodies``): the event itself where
        the block makes one of all its lines, with a traceback, or else the
        drafts' template."""
        header = head.header
        if header is None or not isinstance(lines, Lines):
            return
        tag = (header.level, head.text.rstrip().endswith(":"))
        if known.has(texts, tag):
            return
        # its bytes are its texts joined: nothing the framer took off or passed over
        size = sum(map(len, texts)) + len(texts)
        if lines.offsets[index] != head.end or lines.ends[end - 1] - head.end != size:
            return
        if not all(map(str.isascii, texts)):
            return
        made: Recipe | blocks.Template = template
        record_rows = template.whole_record_rows()
        if record_rows is not None:
            chain, key = _chain(texts[record_rows - 1 :])
            if chain:
                tail = "".join("\n" + text for text in texts[: record_rows - 1])
                made = Recipe(tail, chain, key)
        known.add(texts, tag, made)

    @property
    def pending(self) -> Pending:
        """What is held back: "none", "tail" (may be complete) or "open" (unfinished)."""
        states = {machine.pending for machine in self._machines.values()}
        if "open" in states or self._split:
            return "open"
        return "tail" if "tail" in states else "none"

    def pending_offset(self) -> int | None:
        """Byte offset of the first line of the oldest event not yet emitted."""
        offsets = [m.first_offset for m in self._machines.values() if m.first_offset is not None]
        offsets.extend(parts[0][0].offset for parts in self._split.values())
        return min(offsets, default=None)

    def flush(self) -> list[Event]:
        """Emit everything held; unfinished tracebacks get the flag "partial"."""
        drafts: list[Draft] = []
        for stream in list(self._split):
            self._emit_row(stream, self._join(stream, None), drafts)
        machines = sorted(
            (m for m in self._machines.values() if m.first_offset is not None),
            key=lambda machine: machine.first_offset or 0,
        )
        for machine in machines:
            machine.flush(drafts)
        return self._made_and(drafts)

    # ------------------------------------------------------------------ rows

    def _line(self, line: Line, drafts: list[Draft]) -> bool:
        """Take one line; True when it had no envelope (it went to the stream "")."""
        wrapped = unwrap(line.text, self._times)
        if wrapped is None:
            self._emit_row("", self._row(line.text, line, line, line.text, None), drafts)
            return True
        stream = f"{wrapped.envelope}:{wrapped.stream}"
        if wrapped.partial:
            parts = self._split.setdefault(stream, [])
            parts.append((line, wrapped))
            if sum(len(piece.text) for _, piece in parts) > self._max_bytes:
                # a line that never ends: cut it here rather than hold it forever
                self._emit_row(stream, self._join(stream, None), drafts)
            return False
        if stream in self._split:
            row = self._join(stream, (line, wrapped))
        else:
            row = self._row(wrapped.text, line, line, line.text, wrapped)
        self._emit_row(stream, row, drafts)
        return False

    def _header_row(self, bounds: blocks.Boundaries, at: int) -> Row | None:
        """The row of line ``at``, which ``blocks`` found to start with a record header;
        None: use ``_line``.

        Such a line has no envelope (those put no space after the date, and a
        source's own pattern's headers were asked, ``headerlines``) and is a
        header whatever the grammar's state, so only the header is read; one
        with ANSI codes in it goes the general way.
        """
        text = bounds.texts[at]
        header = None if "\x1b" in text else self._headers.parse(text)
        if header is None:
            return None
        return bounds.row(at, Kind.HEADER, header)

    def _join(self, stream: str, last: tuple[Line, Unwrapped] | None) -> Row:
        """One row from the pieces a runtime split a long line into."""
        parts = self._split.pop(stream)
        if last is not None:
            parts.append(last)
        text = "".join(piece.text for _, piece in parts)
        truncated = len(text) > self._max_bytes
        row = self._row(
            text[: self._max_bytes],
            parts[0][0],
            parts[-1][0],
            "\n".join(line.text for line, _ in parts),
            parts[0][1],
        )
        if truncated or last is None:
            row = replace(row, truncated=True)
        return row

    def _row(self, text: str, first: Line, last: Line, raw: str, wrapped: Unwrapped | None) -> Row:
        clean = strip_ansi(text)
        kind, header = classify(clean, self._headers, json_records=self._format != "text")
        doc = None
        if kind is Kind.JSON or self._format == "json":
            doc = _json_object(clean)
            if (
                doc is not None
                and wrapped is None
                and (inner := docker_record(doc, self._times)) is not None
            ):
                # a Docker record whose keys came in an unusual order
                return self._row(inner.text, first, last, raw, inner)
            if doc is None and kind is Kind.JSON:
                kind, header = classify(clean, self._headers, json_records=False)
        return Row(
            text=clean,
            raw=raw,
            first_lineno=first.lineno,
            last_lineno=last.lineno,
            offset=first.offset,
            end=last.end,
            kind=Kind.JSON if doc is not None else kind,
            header=header,
            timestamp=wrapped.timestamp if wrapped else None,
            truncated=first.truncated or last.truncated,
            doc=doc,
        )

    def _emit_row(self, stream: str, row: Row, drafts: list[Draft]) -> None:
        if self._format == "json":
            # every line is a record of its own; nothing is reassembled
            drafts.append(Draft((row,), 1, 0, 0, row.header, json=row.doc is not None))
            return
        machine = self._machines.get(stream)
        if machine is None:
            machine = Machine(max_lines=self._max_lines, max_bytes=self._max_bytes)
            self._machines[stream] = machine
        machine.feed(row, drafts)

    # ---------------------------------------------------------------- events

    def _event(self, draft: Draft) -> Event:
        if draft.json and draft.rows[0].doc is not None:
            return self._json_event(draft.rows[0])
        rows = draft.rows
        if len(rows) == 1 and draft.record_rows == 1 and not draft.fault and not draft.elided:
            return self._record_event(draft, rows[0])
        raw: Sequence[str]
        clean: Sequence[str]
        if draft.texts is not None:
            raw = clean = draft.texts
        else:
            raw = [row.raw for row in rows]
            clean = [row.text for row in rows]
        record_rows = draft.record_rows
        if draft.elided:
            marker = f"{ELISION_PREFIX}{draft.elided} lines elided ..."
            at = draft.elided_at
            raw = [*raw[:at], marker, *raw[at:]]
            clean = [*clean[:at], marker, *clean[at:]]
            if record_rows > at:
                record_rows += 1
        header = draft.header
        record = clean[:record_rows]
        body = tuple(clean[record_rows:])
        chain, chain_key = _chain(body) if body and not draft.fault else ((), "")
        flags: set[str] = set()
        level = header.level if header else None
        if header is not None:
            message = "\n".join((header.message, *record[1:]))
        else:
            message = "\n".join(record)
        if draft.fault:
            message = clean[0]
            flags.add("faulthandler")
            if clean[0].startswith(_FATAL):
                flags.add("crash")
                level = "CRITICAL"  # a dying interpreter prints no level; this is one
            else:
                flags.add("stack")  # faulthandler.dump_traceback(): a stack, not a crash
            key = fingerprint_frames(clean[0].split(" 0x", 1)[0], parse_frames(body))
        elif chain:
            key = chain_key
        elif not record and body:
            # Closed inside a traceback (partial): its exception line never came.
            # Otherwise a stack printed on purpose: print_stack(), stack_info.
            flags.add("cut" if draft.partial else "stack")
            key = fingerprint_frames("stack", parse_frames(body))
        else:
            if draft.partial and body:
                flags.add("cut")  # a record's traceback, cut off as above
            key = fingerprint_record(level, header.logger if header else None, message)
        if draft.partial:
            flags.add("partial")
        if draft.elided or any(map(_IS_TRUNCATED, rows)):
            flags.add("truncated")
        return Event(
            origin=self._origin,
            first_line=rows[0].first_lineno,
            last_line=rows[-1].last_lineno,
            start_offset=rows[0].offset,
            end_offset=rows[-1].end,
            text="\n".join(raw),
            message=message,
            level=level,
            logger=header.logger if header else None,
            timestamp=(header.timestamp if header else None) or rows[0].timestamp,
            chain=chain,
            fingerprint=key,
            flags=frozenset(flags),
        )

    def _record_event(self, draft: Draft, row: Row) -> Event:
        """``_event`` for the common case, a one-line record: no traceback, nothing joined."""
        header = draft.header
        if header is not None:
            level = header.level
            logger = header.logger
            message = header.message
            timestamp = header.timestamp or row.timestamp
        else:
            level = logger = None
            message = row.text
            timestamp = row.timestamp
        if draft.partial:
            flags = frozenset(("partial", "truncated") if row.truncated else ("partial",))
        else:
            flags = _TRUNCATED if row.truncated else _NO_FLAGS
        return Event(
            origin=self._origin,
            first_line=row.first_lineno,
            last_line=row.last_lineno,
            start_offset=row.offset,
            end_offset=row.end,
            text=row.raw,
            message=message,
            level=level,
            logger=logger,
            timestamp=timestamp,
            chain=(),
            fingerprint=fingerprint_record(level, logger, message),
            flags=flags,
        )

    def _json_event(self, row: Row) -> Event:
        assert row.doc is not None
        record = read_record(row.doc, self._times)
        if record.traceback is not None:
            chain = parse_traceback([strip_ansi(line) for line in record.traceback.splitlines()])
        else:
            chain = record.structured
        key = (
            fingerprint(chain)
            if chain
            else fingerprint_record(record.level, record.logger, record.message)
        )
        return Event(
            origin=self._origin,
            first_line=row.first_lineno,
            last_line=row.last_lineno,
            start_offset=row.offset,
            end_offset=row.end,
            text=row.raw,
            message=record.message,
            level=record.level,
            logger=record.logger,
            timestamp=record.timestamp or row.timestamp,
            chain=chain,
            fingerprint=key,
            flags=frozenset(("json", "truncated") if row.truncated else ("json",)),
            fields=record.fields,
        )


@functools.lru_cache(maxsize=128)  # a storm prints the same traceback again and again
def _chain(body: tuple[str, ...]) -> tuple[tuple[ExceptionInfo, ...], str]:
    """The exception chain these lines show, and its fingerprint."""
    chain = parse_traceback(body)
    return chain, fingerprint(chain) if chain else ""


def _json_object(text: str) -> dict[str, object] | None:
    try:
        doc = jsontext.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested past the recursion limit
        return None
    return doc if isinstance(doc, dict) else None
