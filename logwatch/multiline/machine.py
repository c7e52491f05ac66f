"""Rows of one stream -> drafts of events: where each event starts and ends.

An explicit state machine over line kinds (see ``kinds``). It decides as soon
as the grammar allows: a line that cannot continue the held event closes it
and is then read afresh. What it holds back is reported by ``pending``:
``tail`` when the held event may already be complete (a record header, a final
exception line that notes or a chained exception could still follow) and
``open`` when it cannot be (inside frames, after a chain separator).

    IDLE ──header/context──▶ RECORD ──Traceback (if the record takes it)──▶ TB_START
      │                        │                                              │
      ├──Traceback────────────────────────────────────────────────────────────┤
      ├──File line──▶ FRAMES ◀──────────────────────File line─────────────────┘
      │                 │ exception line
      ├──Type: msg──▶ EXC ──blank──▶ EXC_BLANK ──separator──▶ SEP ──▶ TB_START|GROUP|FRAMES|EXC
      ├──'  + Exception Group'──▶ GROUP (gutter lines)
      ├──Stack (most recent call last):──▶ STACK   (also after RECORD/EXC/GROUP)
      └──Fatal Python error / Current thread──▶ FAULT
"""

from __future__ import annotations

import enum
import re
from typing import Literal

from logwatch.multiline.headers import Header
from logwatch.multiline.kinds import FRAME_LINE, Kind, is_closing_box, is_exception_line
from logwatch.multiline.rows import Draft, Held, Row

Pending = Literal["none", "tail", "open"]

# Levels whose header may take a traceback that directly follows. logging writes
# a header and its traceback in one write(), so an ERROR header right before
# "Traceback" is that record's; after an INFO/WARNING header the traceback is
# far more likely an unrelated uncaught one (print_exc, excepthook).
_GLUE_LEVELS = frozenset(("ERROR", "CRITICAL"))
# A WARNING header takes the traceback under it (logger.warning(..., exc_info=True))
# unless that traceback starts in the main module: then it is an uncaught one,
# printed by sys.excepthook, that only happens to follow the warning.
_MAIN_FRAMES = frozenset(("<module>", "_run_module_as_main", "_run_code"))
# A headerless line introduces the traceback under it when it reads like an
# error report ("Internal Server Error: /api/orders/").
_INTRODUCES = re.compile(r"(?i)error|exception|fail|fatal|critical|crash|traceback|unhandled")
_MAX_BLANKS = 3  # CPython prints one blank line around a chain separator


class Phase(enum.Enum):
    IDLE = "idle"
    RECORD = "record"  # a header (or CPython context line) and its continuation lines
    TB_START = "tb_start"  # after "Traceback (most recent call last):"
    FRAMES = "frames"  # inside frames: File lines, source, carets
    EXC = "exc"  # after the final exception line: message continuation and notes
    EXC_BLANK = "exc_blank"  # blank lines after it: a chain separator may follow
    SEP = "sep"  # after a chain separator: the next block must come
    GROUP = "group"  # inside an exception group's gutter lines
    STACK = "stack"  # logging's "Stack (most recent call last):" / "Call stack:"
    LOGERR_TAIL = "logerr_tail"  # "Message: ..." of a "--- Logging error ---" block
    FAULT = "fault"  # a faulthandler dump


class Machine:
    """Event boundaries for one stream of rows."""

    def __init__(self, *, max_lines: int, max_bytes: int) -> None:
        self._max_lines = max_lines
        self._max_bytes = max_bytes
        # Whether this stream writes record headers. Then every record starts with
        # one, so a header-less line after an exception is the message going on;
        # in a header-less stream it is as likely the next record.
        self._headered = False
        # Whether a plain line stood alone here: records of their message alone
        # ("%(message)s", Django's default). Until then, a header-less stream is a
        # program's stderr, where the text after an exception line is its notes.
        self._plain_records = False
        self._reset()

    def _reset(self) -> None:
        self._phase = Phase.IDLE
        self._held = Held(self._max_lines, self._max_bytes)
        self._blanks: list[Row] = []  # blank rows that belong to the event only if it goes on
        self._header: Header | None = None
        self._record_rows = 0
        self._glue = False  # the record takes a traceback that follows it
        self._continues = False  # the record takes continuation lines
        self._context = False  # opened by a CPython context line: a traceback must follow
        self._logerr = False  # a "--- Logging error ---" block
        self._bare = False  # frames with no "Traceback" header (SyntaxError, print_stack)
        self._embedded = False  # the message quotes a whole traceback
        self._quoted = False  # inside a '"""'-quoted remote traceback
        self._group_closed = False
        self._fault = False
        self._tentative = False  # a WARNING record took a traceback; its first frame decides
        self._frameless = False  # the record took a "Type: msg" line under it for its exception
        self._bare_lines = 0  # text lines after the exception line, in a stream without headers
        self._last_text = ""

    # ------------------------------------------------------------------ API

    @property
    def pending(self) -> Pending:
        phase = self._phase
        if phase is Phase.IDLE:
            return "none"
        if phase in (Phase.TB_START, Phase.SEP):
            return "open"
        if phase is Phase.RECORD:
            return "open" if self._context or self._logerr else "tail"
        if phase is Phase.FRAMES:
            return "tail" if self._bare else "open"
        if phase is Phase.GROUP:
            return "tail" if self._group_closed else "open"
        if phase in (Phase.EXC, Phase.EXC_BLANK) and self._quoted:
            return "open"
        return "tail"

    @property
    def first_offset(self) -> int | None:
        if self._held.head:
            return self._held.head[0].offset
        return None

    def feed(self, row: Row, out: list[Draft]) -> None:
        """Consume one row; append the drafts it completes to ``out``."""
        if row.kind is Kind.HEADER:
            self._headered = True
        while not self._step(row, out):
            pass

    @property
    def limits(self) -> tuple[int, int]:
        return self._max_lines, self._max_bytes

    def opened_by_header(self) -> bool:
        """Whether all that is held is a record header, just read (``blocks`` starts here)."""
        return (
            self._phase is Phase.RECORD
            and self._held.count == 1
            and self._header is not None
            and not self._blanks
            and not self._context
            and not self._logerr
            and self._held.head[0].kind is Kind.HEADER
        )

    def idle_after_headers(self) -> bool:
        """Whether a header fed now would only open a record, as ``opened_by_header``
        says, and change nothing else: nothing is held, and headers were seen before."""
        return self._phase is Phase.IDLE and self._headered

    def opening_row(self) -> Row:
        """The first row held (the header, when ``opened_by_header``)."""
        return self._held.head[0]

    def record_header(self) -> Header | None:
        return self._header

    def restart(self) -> None:
        """Drop what is held: ``blocks`` has emitted it."""
        self._reset()

    def flush(self, out: list[Draft]) -> None:
        """Close whatever is held; an unfinished traceback is marked partial."""
        if self._phase is not Phase.IDLE:
            self._close(out)

    # ------------------------------------------------------------ transitions

    def _step(self, row: Row, out: list[Draft]) -> bool:
        """Handle ``row`` in the current phase; False: the event closed, read it again."""
        phase = self._phase
        if phase is Phase.IDLE:
            return self._idle(row, out)
        if phase is Phase.RECORD:
            return self._record(row, out)
        if phase is Phase.TB_START or phase is Phase.FRAMES:
            return self._frames(row, out)
        if phase is Phase.EXC:
            return self._exc(row, out)
        if phase is Phase.EXC_BLANK:
            return self._exc_blank(row, out)
        if phase is Phase.SEP:
            return self._sep(row, out)
        if phase is Phase.GROUP:
            return self._group(row, out)
        if phase is Phase.STACK:
            return self._stack(row, out)
        if phase is Phase.LOGERR_TAIL:
            return self._logerr_tail(row, out)
        return self._fault_dump(row, out)

    def _idle(self, row: Row, out: list[Draft]) -> bool:
        kind = row.kind
        if kind is Kind.BLANK:
            return True  # a blank line between records is nobody's
        if kind is Kind.JSON:
            out.append(Draft((row,), 1, 0, 0, None, json=True))
            return True
        if kind is Kind.HEADER:
            level = row.header.level if row.header else None
            self._open_record(row, glue=level is None or level in _GLUE_LEVELS, continues=True)
        elif kind is Kind.CONTEXT:
            self._open_record(row, glue=True, continues=True)
            self._context = True
        elif kind is Kind.LOGGING_ERROR:
            self._open_record(row, glue=True, continues=False)
            self._logerr = True
        elif kind is Kind.TRACEBACK:
            self._begin(row, Phase.TB_START)
        elif kind is Kind.GROUP_START:
            self._begin(row, Phase.GROUP)
        elif kind is Kind.FRAME:
            self._begin(row, Phase.FRAMES)
            self._bare = True
        elif kind is Kind.STACK:
            self._begin(row, Phase.STACK)
        elif kind is Kind.FAULT or kind is Kind.FAULT_THREAD:
            self._begin(row, Phase.FAULT)
            self._fault = True
        elif kind is Kind.EXCEPTION:
            self._begin(row, Phase.EXC)
            self._note_message_start(row)
        elif kind is Kind.SEPARATOR:
            self._begin(row, Phase.SEP)
        elif kind is Kind.TEXT and _INTRODUCES.search(row.text):
            self._open_record(row, glue=True, continues=False)
            self._plain_records = True
        else:
            out.append(Draft((row,), 1, 0, 0, None))
            self._plain_records = self._plain_records or kind is Kind.TEXT
        return True

    def _record(self, row: Row, out: list[Draft]) -> bool:
        kind = row.kind
        if kind is Kind.BLANK:
            if len(self._blanks) >= _MAX_BLANKS:
                return self._close_and_retry(out)  # a run of blank lines separates records
            self._blanks.append(row)
            return True
        if self._glue:
            if kind is Kind.TRACEBACK:
                return self._enter(row, Phase.TB_START)
            if kind is Kind.GROUP_START:
                return self._enter(row, Phase.GROUP)
            if kind is Kind.FRAME:
                self._bare = True
                return self._enter(row, Phase.FRAMES)
            if self._takes_frameless(row):
                self._enter(row, Phase.EXC)
                self._note_message_start(row)
                self._frameless = True
                return True
        elif kind is Kind.TRACEBACK and self._takes_tentatively():
            self._tentative = True
            return self._enter(row, Phase.TB_START)
        if kind is Kind.STACK:
            return self._enter(row, Phase.STACK)  # stack_info=True belongs to its record
        if self._logerr or not self._continues or kind in _STARTS:
            return self._close_and_retry(out)
        if kind is Kind.EXCEPTION and not self._glue:
            return self._close_and_retry(out)  # an exception line after an INFO record
        self._append_blanks(record=True)
        self._append(row, record=True)
        self._record_rows = self._held.count
        return True

    def _takes_tentatively(self) -> bool:
        header = self._header
        return header is not None and header.level == "WARNING" and not self._blanks

    def _takes_frameless(self, row: Row) -> bool:
        """``sys.tracebacklimit = 0`` prints the exception line alone, right under the header."""
        if self._held.count != 1 or self._blanks:
            return False
        if row.kind is Kind.EXCEPTION:
            return True
        return row.kind is Kind.TEXT and is_exception_line(row.text, strict=True)

    def _frames(self, row: Row, out: list[Draft]) -> bool:
        kind = row.kind
        if self._tentative:
            self._tentative = False
            if kind is Kind.FRAME and _in_main_module(row.text):
                return self._split_off_record(out)
        if kind in _FRAME_CONTENT:
            self._append_blanks()
            self._append(row)
            self._phase = Phase.FRAMES
            return True
        if kind is Kind.BLANK:
            if row.text.startswith("    "):
                self._append(row)  # 3.8 prints a SyntaxError's empty source line as spaces
                return True
            if len(self._blanks) >= _MAX_BLANKS:
                return self._close_and_retry(out)
            self._blanks.append(row)  # loguru puts blank lines between frames
            return True
        if self._is_final_exception(row):
            self._append_blanks()
            self._append(row)
            self._phase = Phase.EXC
            self._note_message_start(row)
            return True
        return self._close_and_retry(out)

    def _is_final_exception(self, row: Row) -> bool:
        """After frames: any "Type: msg" line; after header-less frames, only a likely one."""
        if row.kind is Kind.EXCEPTION:
            return True
        if self._bare or row.kind is not Kind.TEXT:
            return False
        return is_exception_line(row.text, strict=False)

    def _exc(self, row: Row, out: list[Draft]) -> bool:
        kind = row.kind
        if self._quoted:
            if kind in (Kind.HEADER, Kind.JSON):
                return self._close_and_retry(out)
            self._append(row)
            if row.text.strip() == '"""':
                self._quoted = False
            return True
        if kind is Kind.BLANK:
            self._blanks.append(row)
            self._phase = Phase.EXC_BLANK
            return True
        if kind is Kind.SEPARATOR:
            return self._enter(row, Phase.SEP)
        if kind is Kind.STACK or (kind is Kind.CALL_STACK and self._logerr):
            return self._enter(row, Phase.STACK)
        if kind is Kind.TRACEBACK and self._frameless:
            return self._take_back_frameless(row)
        if kind in (Kind.TRACEBACK, Kind.FRAME):
            # A message may quote a whole traceback ("child failed:\nTraceback ...")
            # or lines shaped like frames (a template error); otherwise this is the
            # next, unrelated traceback.
            quoting = self._last_text.rstrip().endswith(":") or (
                kind is Kind.FRAME and self._headered
            )
            if self._embedded or quoting:
                self._embedded = True
                self._append(row)
                return True
            return self._close_and_retry(out)
        if kind in _STARTS:
            return self._close_and_retry(out)
        if not (self._headered or self._embedded or kind is Kind.SOURCE):
            # No header in this stream says where its next record begins. Where no
            # plain line stood alone before either, the lines CPython prints right
            # after the exception line, its notes (3.11+) and its message's own
            # lines, are taken; but only a few, since a program may print on after
            # `traceback.print_exc()`, and none that reads like a record of a
            # format not known here (a time, a level).
            if (
                kind is not Kind.TEXT
                or self._plain_records
                or self._bare_lines >= _MAX_BARE_LINES
                or _RECORD_LIKE.match(row.text) is not None
            ):
                return self._close_and_retry(out)
            self._bare_lines += 1
        self._append(row)
        if row.text.strip() == '"""':
            self._quoted = True
        return True

    def _exc_blank(self, row: Row, out: list[Draft]) -> bool:
        kind = row.kind
        if kind is Kind.BLANK and len(self._blanks) < _MAX_BLANKS:
            self._blanks.append(row)
            return True
        if kind is Kind.SEPARATOR:
            return self._enter(row, Phase.SEP)
        if kind is Kind.TRACEBACK and self._frameless:
            return self._take_back_frameless(row)
        if self._headered and kind not in _STARTS and kind is not Kind.BLANK:
            # in a stream of headed records, text after a blank line is still the
            # message (SQLAlchemy's "(Background on this error at: ...)")
            self._append_blanks()
            self._append(row)
            self._phase = Phase.EXC
            return True
        return self._close_and_retry(out)

    def _sep(self, row: Row, out: list[Draft]) -> bool:
        kind = row.kind
        if kind is Kind.BLANK:
            self._append(row)
            return True
        if kind is Kind.TRACEBACK:
            return self._enter(row, Phase.TB_START)
        if kind is Kind.GROUP_START or kind is Kind.GUTTER:
            self._group_closed = False
            return self._enter(row, Phase.GROUP)
        if kind is Kind.FRAME:
            return self._enter(row, Phase.FRAMES)
        if kind is Kind.EXCEPTION or (
            kind is Kind.TEXT and is_exception_line(row.text, strict=False)
        ):
            # a chained exception that was never raised has no traceback of its own
            self._enter(row, Phase.EXC)
            self._note_message_start(row)
            return True
        return self._close_and_retry(out)

    def _group(self, row: Row, out: list[Draft]) -> bool:
        kind = row.kind
        if kind is Kind.GUTTER or kind is Kind.GROUP_START:
            self._append(row)
            self._group_closed = is_closing_box(row.text)
            return True
        if kind is Kind.BLANK and self._group_closed:
            self._blanks.append(row)
            self._phase = Phase.EXC_BLANK
            return True
        if kind is Kind.STACK:
            return self._enter(row, Phase.STACK)
        return self._close_and_retry(out)

    def _stack(self, row: Row, out: list[Draft]) -> bool:
        kind = row.kind
        if kind in (Kind.FRAME, Kind.SOURCE, Kind.CARET, Kind.REPEAT) or (
            kind is Kind.BLANK and row.text.startswith("    ")
        ):
            self._append(row)
            return True
        if self._logerr and row.text.startswith("Message: "):
            return self._enter(row, Phase.LOGERR_TAIL)
        return self._close_and_retry(out)

    def _logerr_tail(self, row: Row, out: list[Draft]) -> bool:
        if row.text.startswith("Arguments: "):
            self._append(row)
            self._close(out)  # the last line logging prints for a logging error
            return True
        return self._close_and_retry(out)

    def _fault_dump(self, row: Row, out: list[Draft]) -> bool:
        kind = row.kind
        if kind in (Kind.FRAME, Kind.SOURCE, Kind.FAULT_THREAD, Kind.FAULT_EXTRA):
            self._append_blanks()
            self._append(row)
            return True
        if kind is Kind.BLANK and len(self._blanks) < _MAX_BLANKS:
            self._blanks.append(row)
            return True
        return self._close_and_retry(out)

    # --------------------------------------------------------------- helpers

    def _open_record(self, row: Row, *, glue: bool, continues: bool) -> None:
        self._phase = Phase.RECORD
        self._append(row, record=True)
        self._header = row.header
        self._glue = glue
        self._continues = continues
        self._record_rows = 1

    def _begin(self, row: Row, phase: Phase) -> None:
        self._phase = phase
        self._append(row)

    def _enter(self, row: Row, phase: Phase) -> bool:
        """Take ``row`` (after any held blank lines) and move to ``phase``."""
        self._frameless = False  # moving on: the frameless reading stands
        self._bare_lines = 0
        self._append_blanks()
        self._append(row)
        self._phase = phase
        return True

    def _append(self, row: Row, *, record: bool = False) -> None:
        self._held.append(row, record=record)
        if row.kind is not Kind.BLANK:
            self._last_text = row.text

    def _append_blanks(self, *, record: bool = False) -> None:
        for blank in self._blanks:
            self._held.append(blank, record=record)
        self._blanks.clear()

    def _note_message_start(self, row: Row) -> None:
        _, _, message = row.text.partition(": ")
        self._quoted = message.strip() == '"""'

    def _split_off_record(self, out: list[Draft]) -> bool:
        """Undo a tentative glue: emit the record alone, restart at its "Traceback" line."""
        rows = self._held.rows()
        out.append(
            Draft(rows[:-1], len(rows) - 1, self._held.elided, len(self._held.head), self._header)
        )
        traceback = rows[-1]
        self._reset()
        self._begin(traceback, Phase.TB_START)
        return False

    def _take_back_frameless(self, row: Row) -> bool:
        """The record's own traceback follows, so the "Type: msg" line under its header,
        taken for a frameless exception (``sys.tracebacklimit = 0``), and the lines
        after it were its message going on: ``logger.exception("bad port: %s: %s", ...)``
        with a line break after the colon."""
        self._record_rows = self._held.count
        return self._enter(row, Phase.TB_START)

    def _close_and_retry(self, out: list[Draft]) -> bool:
        self._close(out)
        return False

    def _close(self, out: list[Draft]) -> None:
        held = self._held
        out.append(
            Draft(
                rows=held.rows(),
                record_rows=self._record_rows - held.elided_record,
                elided=held.elided,
                elided_at=len(held.head),
                header=self._header,
                partial=self.pending == "open",
                fault=self._fault,
            )
        )
        self._reset()


def _in_main_module(frame_line: str) -> bool:
    match = FRAME_LINE.search(frame_line)
    return match is not None and (match.group("func") or "") in _MAIN_FRAMES


# Lines that start something new wherever they appear outside a traceback.
_STARTS = frozenset(
    (
        Kind.HEADER,
        Kind.JSON,
        Kind.CONTEXT,
        Kind.LOGGING_ERROR,
        Kind.FAULT,
        Kind.FAULT_THREAD,
        Kind.TRACEBACK,
        Kind.GROUP_START,
        Kind.FRAME,
        Kind.SEPARATOR,
        Kind.STACK,
    )
)
# Notes and message lines taken after a bare traceback's exception line, at most.
_MAX_BARE_LINES = 10
# A line that opens a record of its own in a format the assembler does not read:
# a time or a bracket first, or a level name early on.
_RECORD_LIKE = re.compile(r"[\d\[<]|.{0,60}?\b(?:DEBUG|INFO|WARN(?:ING)?|ERROR|CRITICAL|FATAL)\b")
_FRAME_CONTENT = frozenset((Kind.FRAME, Kind.SOURCE, Kind.CARET, Kind.REPEAT, Kind.GUTTER))
