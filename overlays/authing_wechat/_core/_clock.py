"""Time sources and sleepers, the only place retries touch real time: tests pass
``authing_wechat.testing.FakeClock`` to run whole retry sequences without sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What a client needs from time: two readings and two ways to wait."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards (for deadlines)."""
        ...

    def time(self) -> float:
        """Wall-clock time in epoch seconds (for ``Retry-After`` HTTP-dates)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds``."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Suspend the calling task for ``seconds``."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic``, ``time.time``, ``time.sleep`` and ``asyncio.sleep``."""

    def monotonic(self) -> float:
        """Return ``time.monotonic()``."""
        return time.monotonic()

    def time(self) -> float:
        """Return ``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """Call ``time.sleep(seconds)``."""
        time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        """Await ``asyncio.sleep(seconds)``."""
        import asyncio  # noqa: PLC0415 - sync users should not pay for importing it

        await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"
