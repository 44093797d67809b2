"""OpenTelemetry metrics of the token providers (``docs/guide/observability.md``) on the API's
global meter provider (without the ``otel`` extra, nothing); labels carry ``app_id``, never a
token or secret; ``gets`` and ``expires_in`` are read from the providers at collection.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Meter, Observation

    from ._refresh import RefreshRule

__all__ = ["METER_NAME", "Metrics", "OtelMetrics", "current_metrics", "use_metrics"]

METER_NAME = "authing_wechat"
# Refreshes take tens of milliseconds to a few seconds; retries and a hung store up to a minute.
_REFRESH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# The counters: what ``Metrics.count`` names them, their instrument, unit and description.
_COUNTERS = {
    "invalidations": ("authing_wechat.provider.invalidations", "{invalidation}",
                      "invalidate() calls that dropped the cached token."),
    "store.errors": ("authing_wechat.provider.store.errors", "{error}",
                     "Failed operations on the shared token store (each one a cache miss)."),
    "rejections": ("authing_wechat.wechat.rejections", "{rejection}",
                   "WeChat answers rejecting the access token (40001, 40014, 42001)."),
}  # fmt: skip


class Metrics:
    """What the providers record; this base records nothing (the OpenTelemetry API is not
    installed), ``OtelMetrics`` records to a meter."""

    def watch(self, rule: RefreshRule[Any]) -> None:
        """Observe ``rule``'s counters (held weakly) at each collection."""

    def refreshed(
        self, app_id: str, *, mode: str, seconds: float, source: str | None, error: str | None
    ) -> None:
        """Record one refresh's duration, mode and outcome."""

    def count(self, counter: str, app_id: str, **attributes: str | int) -> None:
        """Add one to ``counter`` (a key of ``_COUNTERS``)."""


class OtelMetrics(Metrics):
    """The instruments, on ``meter`` (the global provider's, or a test's own)."""

    def __init__(self, meter: Meter) -> None:
        self._watched: weakref.WeakSet[Any] = weakref.WeakSet()
        self._refresh = meter.create_histogram(
            "authing_wechat.provider.refresh.duration",
            unit="s",
            description="Duration of the token provider's refreshes (from Authing or the store).",
            explicit_bucket_boundaries_advisory=_REFRESH_BUCKETS,
        )
        self._counters = {key: meter.create_counter(name, unit=unit, description=description)
                          for key, (name, unit, description) in _COUNTERS.items()}  # fmt: skip
        meter.create_observable_counter("authing_wechat.provider.gets", [self._observe_gets],
                                        unit="{call}", description="get() calls that returned "
                                        "a token, by the token state they found.")  # fmt: skip
        meter.create_observable_gauge("authing_wechat.provider.token.expires_in",
                                      [self._observe_expiry], unit="s", description="Seconds until "
                                      "the cached token expires (absent without one).")  # fmt: skip

    def watch(self, rule: RefreshRule[Any]) -> None:
        self._watched.add(rule)

    def refreshed(
        self, app_id: str, *, mode: str, seconds: float, source: str | None, error: str | None
    ) -> None:
        attributes = {"app_id": app_id, "mode": mode}
        if error is None:
            attributes.update(outcome="success", source=source or "upstream")
        else:
            attributes.update({"outcome": "failure", "error.type": error})
        self._refresh.record(max(seconds, 0.0), attributes)

    def count(self, counter: str, app_id: str, **attributes: str | int) -> None:
        self._counters[counter].add(1, {"app_id": app_id, **attributes})

    def _observe_gets(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation  # noqa: PLC0415 - loaded already

        # Two providers of one app (two clients) are one series: their counts add up.
        totals: dict[tuple[str, str], int] = {}
        for rule in list(self._watched):
            for state, count in rule.stats().served.items():
                key = (rule.app_id, state.value)
                totals[key] = totals.get(key, 0) + count
        return [Observation(n, {"app_id": a, "state": s}) for (a, s), n in totals.items()]

    def _observe_expiry(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation  # noqa: PLC0415 - loaded already

        # Of two providers of one app, the token that expires first.
        soonest: dict[str, float] = {}
        for rule in list(self._watched):
            left = rule.seconds_left()
            if left is not None:
                soonest[rule.app_id] = min(left, soonest.get(rule.app_id, left))
        return [Observation(left, {"app_id": app_id}) for app_id, left in soonest.items()]


_lock = threading.Lock()
_current: Metrics | None = None


def current_metrics() -> Metrics:
    """The instruments new providers record to, made on first use from the global provider."""
    global _current  # noqa: PLW0603 - one set of instruments per process
    with _lock:
        if _current is None:
            try:
                from opentelemetry import metrics  # noqa: PLC0415 - the optional extra
            except ImportError:
                _current = Metrics()
            else:
                from authing_wechat import __version__  # noqa: PLC0415 - loaded by now

                # A proxy meter until the application sets an SDK meter provider.
                _current = OtelMetrics(metrics.get_meter(METER_NAME, __version__))
        return _current


def use_metrics(metrics: Metrics | None) -> Metrics | None:
    """Make providers made from now on record to ``metrics`` (``None``: the global provider's
    again) and return the previous ones; the tests' way to give each test its own meter."""
    global _current
    with _lock:
        previous, _current = _current, metrics
        return previous
