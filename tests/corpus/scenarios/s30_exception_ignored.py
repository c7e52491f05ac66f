"""s30: "Exception ignored in: <function Conn.__del__ at 0x...>" heads the traceback."""

from __future__ import annotations

import gc
import weakref

from ._recorder import Recorder, hook_unraisable


class Conn:
    def __del__(self) -> None:
        raise RuntimeError("close failed: socket already closed")


class Cache:
    pass


def on_collect(ref: object) -> None:
    raise ValueError("cache finaliser failed")


def main(rec: Recorder) -> None:
    rec.start_logging()
    hook_unraisable(rec, "unraisable exception")
    rec.noise()
    conn = Conn()
    del conn
    rec.noise()
    cache = Cache()
    ref = weakref.ref(cache, on_collect)
    del cache
    gc.collect()
    rec.noise()
    del ref


if __name__ == "__main__":
    Recorder.run(main)
