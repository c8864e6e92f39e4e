"""Waiting for something another thread or process does, with a deadline instead of a fixed sleep.

One waiter for the tests and the benchmarks (tests/bench/support.py): a test sees an AssertionError, a
benchmark that reports a timeout instead of failing catches TimeoutError; `NotReached` is both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class NotReached(AssertionError, TimeoutError):
    """The condition did not hold before the deadline."""


def wait_for(check: Callable[[], T], timeout: float = 20.0, interval: float = 0.1) -> T:
    """Call `check` until it returns something true and return that; NotReached after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(interval)
    raise NotReached(f"condition not reached in {timeout:g} s")
