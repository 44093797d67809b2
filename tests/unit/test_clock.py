"""The clocks: ``FakeClock`` moves time on without waiting, ``SystemClock`` reads real time."""

from __future__ import annotations

import math
import threading
import time

import pytest
from authing_wechat import Clock, SystemClock
from authing_wechat.testing import FakeClock

NOW = 1_700_000_000.0  # FakeClock's default start


def test_fake_clock_starts_where_told() -> None:
    clock = FakeClock()
    assert clock.time() == 1_700_000_000.0
    assert clock.monotonic() == 0.0
    assert clock.sleeps == []
    assert FakeClock(start=42.0).time() == 42.0


def test_fake_clock_sleep_records_and_advances_both_clocks() -> None:
    clock = FakeClock(start=NOW)
    clock.sleep(1.5)
    clock.sleep(0)
    assert clock.sleeps == [1.5, 0.0]
    assert clock.monotonic() == 1.5
    assert clock.time() == NOW + 1.5


def test_fake_clock_advance_does_not_record_a_sleep() -> None:
    clock = FakeClock(start=NOW)
    clock.advance(10)
    assert clock.sleeps == []
    assert clock.monotonic() == 10.0
    assert clock.time() == NOW + 10
    assert "sleeps=0" in repr(clock)


@pytest.mark.anyio
async def test_fake_clock_asleep_records_without_waiting() -> None:
    clock = FakeClock(start=NOW)
    started = time.monotonic()
    await clock.asleep(3600)
    assert time.monotonic() - started < 1.0
    assert clock.sleeps == [3600.0]
    assert clock.time() == NOW + 3600


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_fake_clock_rejects_bad_durations(seconds: float) -> None:
    clock = FakeClock()
    with pytest.raises(ValueError, match="seconds"):
        clock.sleep(seconds)
    with pytest.raises(ValueError, match="seconds"):
        clock.advance(seconds)
    assert clock.sleeps == []
    assert clock.monotonic() == 0.0


def test_fake_clock_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError):
        FakeClock().sleep("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="start"):
        FakeClock(start=math.nan)
    with pytest.raises(TypeError):
        FakeClock(1.0)  # type: ignore[call-arg]


def test_fake_clock_is_safe_across_threads() -> None:
    clock = FakeClock()

    def nap() -> None:
        for _ in range(500):
            clock.sleep(1)

    threads = [threading.Thread(target=nap) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(clock.sleeps) == 2_000
    assert clock.monotonic() == 2_000.0


def test_clocks_satisfy_the_protocol() -> None:
    assert isinstance(FakeClock(), Clock)
    assert isinstance(SystemClock(), Clock)


def test_system_clock_reads_real_time() -> None:
    clock = SystemClock()
    first = clock.monotonic()
    assert clock.monotonic() >= first
    assert abs(clock.time() - time.time()) < 5.0
    clock.sleep(0)
    assert repr(clock) == "SystemClock()"


@pytest.mark.anyio
async def test_system_clock_asleep_zero_returns() -> None:
    await SystemClock().asleep(0)
