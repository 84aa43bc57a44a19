"""Waiting in a test for something to happen, never for a fixed time.

A test that sleeps for what "should be enough" passes or fails by luck on a busy machine.
Where the code offers an event (a future, an `Event`, a task's start), a test awaits it;
where it offers only a state to look at (a count, a file, a log, a record in a store), it
polls that state here, with a deadline far beyond what it needs, and fails saying what never
happened. The polling interval costs a test a little latency, never its verdict.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import anyio

T = TypeVar("T")
TIMEOUT_S = 10.0


def _described(what: str | Callable[[], str]) -> str:
    return what if isinstance(what, str) else what()


def polled(get: Callable[[], T], done: Callable[[T], object] = bool, timeout_s: float = TIMEOUT_S,
           every_s: float = 0.05) -> T:
    """`get()`'s value once `done(value)` holds, else its last value at the deadline (for a
    caller whose own assertion on that value says more than a timeout would)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = get()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(every_s)


def wait_until(predicate: Callable[[], T], what: str | Callable[[], str], timeout_s: float = TIMEOUT_S,
               every_s: float = 0.05) -> T:
    """`predicate()`'s first true value; an AssertionError naming `what` (a text, or a function
    that describes the state at the deadline) if it has none within `timeout_s`."""
    value = polled(predicate, bool, timeout_s, every_s)
    if not value:
        raise AssertionError(f"waited {timeout_s:g} s for {_described(what)}")
    return value


async def until(predicate: Callable[[], T], what: str | Callable[[], str], timeout_s: float = TIMEOUT_S,
                every_s: float = 0.005) -> T:
    """`wait_until` inside a test's event loop (asyncio or anyio): the loop runs on meanwhile."""
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout_s:g} s for {_described(what)}")
        await anyio.sleep(every_s)
    return value
