"""s45: several frames in a row without source: ``<decorator-gen-39>``, ``<string>``."""

from __future__ import annotations

from typing import Any

from ._recorder import Recorder

DECORATED = "def ci(handler, *args):\n    return handler(*args)\n"
INNER = "def step(handler, value):\n    return handler(value)\n"


def generated(filename: str, source: str, name: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


def parse(value: str) -> int:
    return int(value)


def call() -> None:
    ci = generated("<decorator-gen-39>", DECORATED, "ci")
    step = generated("<string>", INNER, "step")
    ci(step, parse, "forty-two")


def main(rec: Recorder) -> None:
    rec.start_logging()
    rec.noise()
    rec.logged("frames from generated code", call, "handler failed")
    rec.noise()


if __name__ == "__main__":
    Recorder.run(main)
