"""httpx spans from OpenTelemetry without WeChat access tokens (which travel in the URL a span
records) or app secrets in them (the ``otel`` extra): hooks pass each span through ``redact``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.trace import Span

from authing_wechat._core._secret import redact

__all__ = ["instrument_httpx"]


def instrument_httpx(**kwargs: Any) -> HTTPXClientInstrumentor:
    """Trace every httpx request, with access tokens and app secrets removed from the spans.

    Calls ``HTTPXClientInstrumentor().instrument(**kwargs)`` with hooks that call yours, then
    redact the span. httpx has one instrumentation per process: calling this again (or after
    ``opentelemetry-instrument``) replaces it. Clients instrumented one by one
    (``instrument_client``, ``SyncOpenTelemetryTransport``) are not redacted. Example:
    ``instrument_httpx(tracer_provider=provider, request_hook=tag_tenant)``.

    Args:
        **kwargs: What ``instrument`` takes: ``tracer_provider``, ``meter_provider``,
            ``request_hook``, ``response_hook``, ``async_request_hook``, ``async_response_hook``.

    Returns:
        The ``HTTPXClientInstrumentor``; its ``uninstrument()`` undoes this (for tests).

    Raises:
        TypeError: An ``async_*_hook`` is not ``async def`` (the instrumentation drops those).
    """
    for name in ("request_hook", "response_hook"):
        kwargs[name] = _redacting(kwargs.get(name))
        kwargs[f"async_{name}"] = _redacting_async(kwargs.get(f"async_{name}"), f"async_{name}")
    instrumentor = HTTPXClientInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(**kwargs)
    return instrumentor


def _redacting(theirs: Callable[..., Any] | None) -> Callable[..., None]:
    def hook(span: Span, *args: Any) -> None:
        try:
            if theirs is not None:
                theirs(span, *args)
        finally:
            _redact_span(span)

    return hook


def _redacting_async(theirs: Callable[..., Any] | None, name: str) -> Callable[..., Any]:
    if theirs is not None and not inspect.iscoroutinefunction(theirs):
        raise TypeError(f"{name} must be an async def function, got {theirs!r}")

    async def hook(span: Span, *args: Any) -> None:
        try:
            if theirs is not None:
                await theirs(span, *args)
        finally:
            _redact_span(span)

    return hook


def _redact_span(span: Span) -> None:
    # The SDK's spans show their name and attributes; the API's Span (not recording) does not.
    name = getattr(span, "name", None)
    if isinstance(name, str) and (clean := redact(name)) != name:
        span.update_name(clean)
    for key, value in list((getattr(span, "attributes", None) or {}).items()):
        # The SDK keeps a sequence (a captured header's values) as a tuple.
        cleaned = tuple(map(_redacted, value)) if isinstance(value, tuple) else _redacted(value)
        if cleaned != value:
            span.set_attribute(key, cleaned)


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value
