"""s29: asyncio reports through ``logging``: "Task exception was never retrieved" and callbacks."""

from __future__ import annotations

import asyncio

from ._recorder import Recorder

RAISED: list[BaseException] = []  # the live exceptions, for the truth


def fail(error: BaseException) -> None:
    RAISED.append(error)
    raise error


async def job() -> None:
    fail(ValueError("job 7 failed"))


def callback() -> None:
    fail(RuntimeError("callback failed"))


async def serve() -> None:
    raise ConnectionAbortedError("listener closed")


def never_retrieved(rec: Recorder, loop: asyncio.AbstractEventLoop) -> None:
    task = loop.create_task(job())
    finished = loop.create_future()
    # a done-callback, not asyncio.wait(): nothing but ``task`` may keep the task alive
    task.add_done_callback(lambda _: finished.set_result(None))
    loop.run_until_complete(finished)
    with rec.expect(RAISED[-1], "Task exception was never retrieved"):
        del task  # asyncio logs the error when the task is freed


def exception_in_callback(rec: Recorder, loop: asyncio.AbstractEventLoop) -> None:
    loop.call_soon(callback)
    start = rec.offset()
    loop.run_until_complete(asyncio.sleep(0))  # one turn of the loop runs the callback
    rec.record(start, rec.offset(), RAISED[-1], "Exception in callback")


def crash(rec: Recorder) -> None:
    rec.uncaught("uncaught through asyncio.run", lambda: asyncio.run(serve()))


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    loop = asyncio.new_event_loop()
    never_retrieved(rec, loop)
    rec.noise()
    exception_in_callback(rec, loop)
    loop.close()
    rec.noise()
    rec.run_child("crash", expect_status=1)
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main, {"crash": crash})
