"""``FakeClock``: a clock for tests, whose sleeps only move time forward."""

from __future__ import annotations

import threading

from authing_wechat._core._validation import check_seconds

__all__ = ["FakeClock"]


# A fake clock may be moved across years (token lifetimes, sunsets), never past float range.
_FAKE_MAX_SECONDS = 1e10


def _fake_seconds(seconds: float) -> float:
    return check_seconds("seconds", seconds, maximum=_FAKE_MAX_SECONDS)


class FakeClock:
    """A clock for tests: sleeping never blocks, it only moves time forward.

    ``sleep`` and ``asleep`` return at once after advancing both the monotonic and the wall
    clock by the delay and appending it to ``sleeps``, so a test can assert on the exact backoff
    sequence. ``asleep`` does not yield to the event loop either, which keeps runs deterministic.
    Safe to share between threads.

    Args:
        start: The initial wall-clock reading, in epoch seconds. The monotonic reading starts
            at ``0.0``.

    Attributes:
        sleeps: Every delay passed to ``sleep`` or ``asleep``, in order.
    """

    def __init__(self, *, start: float = 1_700_000_000.0) -> None:
        start = check_seconds("start", start, maximum=_FAKE_MAX_SECONDS)
        self._lock = threading.Lock()
        self._wall = float(start)
        self._monotonic = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        """The fake monotonic reading: ``0.0`` plus every advance and sleep so far."""
        with self._lock:
            return self._monotonic

    def time(self) -> float:
        """The fake wall-clock reading in epoch seconds."""
        with self._lock:
            return self._wall

    def advance(self, seconds: float) -> None:
        """Move both readings forward by ``seconds`` without recording a sleep.

        Raises:
            ValueError: If ``seconds`` is negative or not finite (time never goes backwards).
            TypeError: If ``seconds`` is not a number.
        """
        seconds = _fake_seconds(seconds)
        with self._lock:
            self._monotonic += seconds
            self._wall += seconds

    def sleep(self, seconds: float) -> None:
        """Record ``seconds`` in ``sleeps`` and advance time by it; returns at once.

        Raises:
            ValueError: If ``seconds`` is negative or not finite, as ``time.sleep`` would.
            TypeError: If ``seconds`` is not a number.
        """
        seconds = _fake_seconds(seconds)
        with self._lock:
            self.sleeps.append(seconds)
            self._monotonic += seconds
            self._wall += seconds

    async def asleep(self, seconds: float) -> None:
        """The same as ``sleep``, awaitable; never suspends."""
        self.sleep(seconds)

    def __repr__(self) -> str:
        with self._lock:
            return (
                f"FakeClock(monotonic={self._monotonic}, time={self._wall}, "
                f"sleeps={len(self.sleeps)})"
            )
