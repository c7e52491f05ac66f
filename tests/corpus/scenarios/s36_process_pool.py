"""s36: a ProcessPoolExecutor failure: a ``_RemoteTraceback`` with a quoted remote traceback."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from ._recorder import Recorder


def work(item: int) -> int:
    if item == 3:
        raise ValueError(f"item {item} is poisoned")
    return item * 2


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    # fork: the workers start fast and need no importable __main__
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(work, 3)
        rec.logged("ProcessPool remote traceback", future.result, "batch failed", "app.batch")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
