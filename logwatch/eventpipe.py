"""Events -> a forked process: replay's deciding and printing, on a second core.

`replay` reads and assembles (``replay.file_events``), then decides and
prints (``replay.replay_records``). In a storm of tracebacks each half is
about as much work as the other, and each is done an event at a time, in
order. So a forked process takes the deciding and printing: this one sends it
the events through a pipe, in batches, and goes on reading. The events arrive
as they were made and in their order, so what is printed is the same, byte
for byte, as in one process.

A batch is a pickle: both ends are this program, forked, and the pipe is
theirs alone; what a log line holds travels as strings in it. An event's
origin and exception chain, each shared by many events (the assembler hands
out one chain object for each traceback text it has seen lately), are sent
the first time and named by number after that: pickling a chain costs ten
times what the rest of the event does. What this process would print on
stderr meanwhile ("cannot read") travels among the events, to be printed in
its place. A mark ends the stream: without it, this process was stopped, and
the other prints no more (not the records the input's end would bring).

A traceback's whole text, most of a storm's bytes, is not sent where the
other process does not read it (``replay.decisions_read_texts``): replay
prints no text, and only templates make anything of it. A cut event's is:
masking its exception types reads it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import signal
import stat
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn

from logwatch.jobs import close_inherited, fork, helper_pipe, may_fork, write_all
from logwatch.model import Event, ExceptionInfo, Origin

# Below this much input the fork costs more than it saves.
_MIN_BYTES = 4 << 20
# A batch is sent when it holds this many events or this much text, whichever
# comes first: few enough writes, and little held on either side of the pipe.
_BATCH_EVENTS = 256
_BATCH_CHARS = 1 << 20
# Chains remembered on both sides before both start afresh.
_MAX_CHAINS = 4096
_BUFFER = 1 << 16
# The process's exit status when its stdout was closed (`| head`): 128 + SIGPIPE
# as a shell shows it; this process then ends as one process would.
_STDOUT_CLOSED = 141

Consume = Callable[[Iterator[Event]], None]
# what follows the last batch: the input's end was reached, or reading failed
_END, _FAILED = "end", "failed"
# origin number, then Event's fields in their order, the chain as its number;
# or a line for stderr, printed in its place among the records
_Row = tuple[Any, ...] | str


class SenderGone(Exception):  # noqa: N818 - it names what happened, not a failure here
    """The events stopped short of the input's end: the sender failed, or was stopped."""


class EventPipe:
    """A forked process running ``consume`` over the events this one sends it."""

    def __init__(self, consume: Consume, *, texts: bool = True) -> None:
        """Fork; OSError where a pipe or a process cannot be had.

        ``texts`` False: ``consume`` never reads the text of an event with a
        traceback, which comes to it empty (but for a cut one's).
        """
        # whatever this process has buffered would be printed by both
        sys.stdout.flush()
        sys.stderr.flush()
        read_end, write_end = helper_pipe()  # room for a few batches
        try:
            self._pid = fork(functools.partial(_child, read_end, consume))
        except OSError:
            os.close(write_end)
            raise
        finally:
            os.close(read_end)
        self._fd = write_end
        self._batches = Batches(functools.partial(write_all, write_end), texts=texts)

    @classmethod
    def start(
        cls, consume: Consume, files: Sequence[str], *, texts: bool = True
    ) -> EventPipe | None:
        """The process for replaying ``files``, or None where it would not pay or cannot run.

        Not for standard input or less than a few MiB of files, not where
        ``jobs.may_fork`` says no, and not where the fork fails.
        """
        if not files or "-" in files or not may_fork():
            return None
        size = 0
        for name in files:
            try:
                info = Path(name).stat()
            except OSError:
                continue  # replay reports it
            if stat.S_ISREG(info.st_mode):
                size += info.st_size
        if size < _MIN_BYTES:
            return None
        try:
            return cls(consume, texts=texts)
        except OSError:
            return None

    def note(self, line: str) -> None:
        """Have ``line`` printed on stderr in its place among the records."""
        self._batches.note(line)

    def run(self, events: Iterable[Event]) -> int:
        """Send ``events``, then wait for the process to be done with them: its exit status.

        A process that failed stops the sending (it said why on stderr).
        BrokenPipeError: its stdout was closed, which ends replay as it would
        end one process.
        """
        try:
            for event in events:
                self._batches.add(event)
            self._batches.end()
        except BrokenPipeError:
            pass  # it stopped early: its status says why
        except Exception:
            # Reading failed here: what was read is still decided and printed,
            # as in one process, but not what the input's end would bring,
            # before the error goes on.
            with contextlib.suppress(BrokenPipeError):
                self._batches.end(failed=True)
            self._close_and_reap()
            raise
        except BaseException:
            # Interrupted (Ctrl-C to this process alone, say): so is it, and it
            # prints no more; a batch may be half written.
            self._kill()
            self._close_and_reap()
            raise
        status = self._close_and_reap()
        code = os.waitstatus_to_exitcode(status)
        if code == _STDOUT_CLOSED:
            raise BrokenPipeError("replay's stdout was closed")
        if code < 0:
            name = signal.Signals(-code).name
            print(f"logwatch: replay's deciding process was stopped by {name}", file=sys.stderr)
            return 128 - code
        return code

    def _close_and_reap(self) -> int:
        """Close the pipe, so its end is seen, and wait for the process: its wait status."""
        os.close(self._fd)
        try:
            return os.waitpid(self._pid, 0)[1]
        except ChildProcessError:
            return 0  # reaped already: SIGCHLD was ignored (``cli`` sets it back)
        except KeyboardInterrupt:  # meanwhile: end it first
            self._kill()
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self._pid, 0)
            raise

    def _kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)


class Batches:
    """Events -> pickled batches handed to ``write``, for ``received`` to rebuild."""

    def __init__(self, write: Callable[[bytes], object], *, texts: bool = True) -> None:
        """``texts`` False: an event with a traceback, not cut, is sent with its text empty."""
        self._write = write
        self._texts = texts
        self._origins: dict[Origin, int] = {}
        self._chains: dict[int, int] = {}  # id of a chain sent -> its number
        self._sent: list[tuple[ExceptionInfo, ...]] = []  # keeps those ids meaning them
        self._fresh = False  # the chain numbers start again with this batch
        self._new_origins: list[Origin] = []
        self._new_chains: list[tuple[ExceptionInfo, ...]] = []
        self._rows: list[_Row] = []
        self._chars = 0
        self._cut = False  # a write failed: a batch may be half written

    def add(self, event: Event) -> None:
        """Hold ``event``; send the batch once it is full."""
        origin = self._origins.get(event.origin)
        if origin is None:
            origin = self._origins[event.origin] = len(self._origins)
            self._new_origins.append(event.origin)
        chain = self._chains.get(id(event.chain))
        if chain is None:
            if len(self._sent) >= _MAX_CHAINS:
                self.send()  # the rows held name chains by the numbers about to go
                self._chains.clear()
                self._sent.clear()
                self._fresh = True
            chain = self._chains[id(event.chain)] = len(self._sent)
            self._sent.append(event.chain)
            self._new_chains.append(event.chain)
        # a cut event's text is read: it says which types were read from a secret's
        # line (``redact.masked_type``)
        cut = "truncated" in event.flags
        text = event.text if self._texts or not event.chain or cut else ""
        self._rows.append((
            origin, event.first_line, event.last_line, event.start_offset, event.end_offset,
            text, event.message, event.level, event.logger, event.timestamp, chain,
            event.fingerprint, event.flags, event.fields, event.context,
        ))
        self._chars += len(text)
        if len(self._rows) >= _BATCH_EVENTS or self._chars >= _BATCH_CHARS:
            self.send()

    def note(self, line: str) -> None:
        """Hold a line for stderr, in its place after the events added so far."""
        self._rows.append(line)

    def send(self) -> None:
        """Send what is held."""
        if not self._rows:
            return
        batch = (self._fresh, self._new_origins, self._new_chains, self._rows)
        self._put(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
        self._fresh = False
        self._new_origins, self._new_chains, self._rows = [], [], []
        self._chars = 0

    def end(self, *, failed: bool = False) -> None:
        """Send what is held, then that nothing follows (``failed``: nor the input's end).

        Nothing, after a failed write.
        """
        if not self._cut:
            self.send()
            self._put(pickle.dumps(_FAILED if failed else _END))

    def _put(self, data: bytes) -> None:
        if self._cut:
            raise BrokenPipeError("an earlier batch was not sent whole")
        self._cut = True
        self._write(data)
        self._cut = False


def received(stream: IO[bytes]) -> Iterator[Event]:
    """The events a ``Batches`` sent down ``stream``, rebuilt, in order.

    A line noted among them is printed on stderr when its place is reached,
    after what was printed for the events before it. SenderGone: the
    stream stopped short of the input's end.
    """
    origins: list[Origin] = []
    chains: list[tuple[ExceptionInfo, ...]] = []
    while True:
        try:
            # sent by the process that forked this one, down a pipe only the two hold
            batch = pickle.load(stream)  # noqa: S301
        except (EOFError, pickle.UnpicklingError) as exc:
            raise SenderGone("the events ended without their end") from exc
        if batch == _END:
            return
        if batch == _FAILED:
            raise SenderGone("reading failed: the input's end was not reached")
        fresh, new_origins, new_chains, rows = batch
        if fresh:
            chains.clear()
        origins += new_origins
        chains += new_chains
        for row in rows:
            if isinstance(row, str):
                sys.stdout.flush()
                print(row, file=sys.stderr, flush=True)
                continue
            (origin, first_line, last_line, start_offset, end_offset, text, message, level,
             logger, timestamp, chain, fingerprint, flags, fields, context) = row
            yield Event(
                origins[origin], first_line, last_line, start_offset, end_offset, text,
                message, level, logger, timestamp, chains[chain], fingerprint, flags, fields,
                context,
            )


def _child(read_end: int, consume: Consume, masked: Iterable[int]) -> NoReturn:
    """The forked process: consume what arrives, then leave without this one's exit code."""
    code = 1
    try:
        # the write end too: the parent's end is its end
        close_inherited((read_end, *_fds(sys.stdout, sys.stderr)))
        # the input may be this process's stdin: the parent alone reads it
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        signal.pthread_sigmask(signal.SIG_SETMASK, masked)
        with os.fdopen(read_end, "rb", buffering=_BUFFER) as stream:
            consume(received(stream))
        sys.stdout.flush()
        code = 0
    except BrokenPipeError:
        code = _STDOUT_CLOSED
    except KeyboardInterrupt:
        code = 130
    except SenderGone:
        # The parent failed (and says why) or was stopped: what was printed
        # stays, as one process's would, and the input's end brings nothing.
        with contextlib.suppress(BrokenPipeError):
            sys.stdout.flush()
        code = 1
    except BaseException:  # noqa: BLE001 - whatever it is, this process must not go on
        traceback.print_exc()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _fds(*streams: IO[str]) -> Iterator[int]:
    """The descriptors under ``streams`` (a test's capture may have put them elsewhere)."""
    for stream in streams:
        with contextlib.suppress(AttributeError, OSError, ValueError):
            yield stream.fileno()
