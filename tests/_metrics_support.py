"""OpenTelemetry metrics in tests: a meter provider of the test's own, and its data points.

The global meter provider can be set once per process, so each test gets an SDK
``MeterProvider`` with an ``InMemoryMetricReader`` of its own, made the one that providers made
during the test record to (``authing_wechat._provider._metrics.use_metrics``). The global path
itself (a provider made before the application sets the SDK) is tested in a subprocess.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from authing_wechat import __version__
from authing_wechat._provider import _metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader


class Recorded:
    """What the providers of one test recorded, read on demand."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        self.reader = reader

    def collect(self) -> dict[str, list[Any]]:
        """Every metric's data points, by instrument name (one collection)."""
        data = self.reader.get_metrics_data()
        found: dict[str, list[Any]] = {}
        if data is None:
            return found
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    found.setdefault(metric.name, []).extend(metric.data.data_points)
        return found

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """``(attributes, value)`` of each point of ``name``; a histogram's value is
        ``(count, sum)``."""
        return [
            (dict(p.attributes), (p.count, p.sum) if hasattr(p, "bucket_counts") else p.value)
            for p in self.collect().get(name, [])
        ]

    def values(self, name: str, key: str) -> dict[Any, Any]:
        """The points of ``name`` by their attribute ``key``."""
        return {attributes.get(key): value for attributes, value in self.points(name)}


def recording() -> Iterator[Recorded]:
    """The body of the ``recorded`` fixture."""
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    own = _metrics.OtelMetrics(meter_provider.get_meter(_metrics.METER_NAME, __version__))
    previous = _metrics.use_metrics(own)
    try:
        yield Recorded(reader)
    finally:
        _metrics.use_metrics(previous)
        meter_provider.shutdown()
