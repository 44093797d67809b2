"""``instrument_httpx``: httpx spans of WeChat and Authing calls, with no access token or app
secret in any name, attribute or event; the caller's own hooks still called. Against the
loopback mock Authing and fake WeChat (the instrumentation sees httpx's own transport only),
with each test's own tracer provider."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authing_wechat import AsyncWechatTokenClient, WechatAuth, WechatTokenClient
from authing_wechat.integrations.otel import instrument_httpx
from authing_wechat.testing import (
    SUCCESSOR_PATH,
    FakeWechatServer,
    MockAuthingServer,
    run_fake_wechat_server,
    run_mock_server,
)
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, SpanKind

from tests._support import SECRET, Driver
from tests._wechat_support import APP_ID

SEND = "/cgi-bin/message/subscribe/send"
MESSAGE = {"touser": "o1", "template_id": "t", "data": {"k": {"value": "v"}}}


class Traced:
    """A tracer provider of the test's own, its finished spans, and the servers to call."""

    def __init__(self, authing_url: str, wechat_url: str) -> None:
        self.authing_url, self.wechat_url = authing_url, wechat_url
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))

    def spans(self) -> tuple[ReadableSpan, ...]:
        return tuple(self.exporter.get_finished_spans())

    def spans_to(self, path: str) -> list[ReadableSpan]:
        return [span for span in self.spans() if path in url_of(span)]


@pytest.fixture
def traced() -> Iterator[Traced]:
    authing = MockAuthingServer()
    with run_mock_server(authing) as mock, run_fake_wechat_server(FakeWechatServer(authing)) as wx:
        yield Traced(mock.url, wx.url)
    instrumentor = HTTPXClientInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()


def url_of(span: ReadableSpan) -> str:
    attributes = span.attributes or {}
    return str(attributes.get("url.full", attributes.get("http.url", "")))


def assert_holds_no_secret(spans: tuple[ReadableSpan, ...], *secrets: str) -> None:
    """No name, attribute, event or link of any span holds one of ``secrets``."""
    assert spans
    for span in spans:
        shown = span.to_json()
        for secret in (SECRET, *secrets):
            assert secret not in shown, shown


def call_wechat(mode: str, traced: Traced) -> str:
    """One WeChat call through ``WechatAuth`` in ``mode``; the access token it carried."""
    if mode == "sync":
        with WechatTokenClient(traced.authing_url, "authing-app", retry=None) as client:
            auth = WechatAuth(client.token_provider(app_id=APP_ID, app_secret=SECRET))
            with httpx.Client(base_url=traced.wechat_url, auth=auth) as wx:
                answer = wx.post(SEND, json=MESSAGE)
    else:

        async def run() -> httpx.Response:
            async with AsyncWechatTokenClient(
                traced.authing_url, "authing-app", retry=None
            ) as client:
                auth = WechatAuth(client.token_provider(app_id=APP_ID, app_secret=SECRET))
                async with httpx.AsyncClient(base_url=traced.wechat_url, auth=auth) as wx:
                    return await wx.post(SEND, json=MESSAGE)

        answer = asyncio.run(run())
    assert answer.json()["errcode"] == 0
    token = answer.request.url.params["access_token"]
    assert len(token) >= 8
    return token


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_wechat_call_has_a_span_without_the_token(mode: str, traced: Traced) -> None:
    instrument_httpx(tracer_provider=traced.tracer_provider)
    token = call_wechat(mode, traced)
    (span,) = traced.spans_to(SEND)
    assert span.kind is SpanKind.CLIENT
    assert url_of(span).endswith(f"{SEND}?access_token=[redacted]")
    assert_holds_no_secret(traced.spans(), token)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_without_it_the_instrumentation_exports_the_token(mode: str, traced: Traced) -> None:
    # The defect instrument_httpx exists for: the plain instrumentation keeps the whole URL.
    HTTPXClientInstrumentor().instrument(tracer_provider=traced.tracer_provider)
    token = call_wechat(mode, traced)
    (span,) = traced.spans_to(SEND)
    assert url_of(span).endswith(f"access_token={token}")


def test_a_second_call_replaces_any_instrumentation_before_it(traced: Traced) -> None:
    HTTPXClientInstrumentor().instrument(tracer_provider=traced.tracer_provider)
    instrument_httpx(tracer_provider=traced.tracer_provider)
    instrument_httpx(tracer_provider=traced.tracer_provider)
    token = call_wechat("sync", traced)
    assert len(traced.spans_to(SEND)) == 1  # one span per request, not one per call above
    assert_holds_no_secret(traced.spans(), token)


def test_the_callers_hooks_are_called_and_what_they_add_is_redacted(traced: Traced) -> None:
    seen: list[tuple[str, object]] = []

    def request_hook(span: Span, request: Any) -> None:
        seen.append(("request", request.method))
        span.update_name(f"{request.method.decode()} {request.url}")  # theirs: the URL, whole
        span.set_attribute("app.token", request.url.params.get("access_token", "none"))

    def response_hook(span: Span, request: Any, response: Any) -> None:
        seen.append(("response", response.status_code))

    async def async_request_hook(span: Span, request: Any) -> None:
        seen.append(("async request", request.method))
        span.set_attribute("url.full", str(request.url))

    async def async_response_hook(span: Span, request: Any, response: Any) -> None:
        seen.append(("async response", response.status_code))

    instrument_httpx(
        tracer_provider=traced.tracer_provider,
        request_hook=request_hook,
        response_hook=response_hook,
        async_request_hook=async_request_hook,
        async_response_hook=async_response_hook,
    )
    tokens = [call_wechat("sync", traced)]
    sync_spans = len(traced.spans())  # WeChat's, and Authing's when through httpx's transport
    tokens.append(call_wechat("async", traced))
    async_spans = len(traced.spans()) - sync_spans
    calls = [name for name, _ in seen]
    assert calls.count("request") == calls.count("response") == sync_spans
    assert calls.count("async request") == calls.count("async response") == async_spans
    assert {value for name, value in seen if "response" in name} == {200}
    sent, asent = traced.spans_to(SEND)
    assert sent.name == f"POST {traced.wechat_url}{SEND}?access_token=[redacted]"
    assert (sent.attributes or {})["app.token"] == "[redacted]"
    assert url_of(asent) == f"{traced.wechat_url}{SEND}?access_token=[redacted]"
    assert_holds_no_secret(traced.spans(), *tokens)


def test_an_app_secret_in_a_url_is_redacted_while_the_package_holds_it(traced: Traced) -> None:
    # WeChat's own /cgi-bin/token takes the secret in the query; the provider holds the secret.
    instrument_httpx(tracer_provider=traced.tracer_provider)
    with WechatTokenClient(traced.authing_url, "authing-app") as client:
        client.token_provider(app_id=APP_ID, app_secret=SECRET)
        params = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
        answer = httpx.get(f"{traced.wechat_url}/cgi-bin/token", params=params)
    assert SECRET in str(answer.request.url)
    (span,) = traced.spans()
    assert "secret=[redacted]" in url_of(span)
    assert_holds_no_secret(traced.spans())


def test_an_async_hook_that_is_not_async_is_refused(traced: Traced) -> None:
    with pytest.raises(TypeError, match="async_request_hook must be an async def function"):
        instrument_httpx(async_request_hook=lambda span, request: None)
    assert not HTTPXClientInstrumentor().is_instrumented_by_opentelemetry


@pytest.mark.parametrize("given", [False, True], ids=["own client", "given http_client"])
def test_each_call_to_authing_has_a_span_without_secrets(
    driver: Driver, given: bool, traced: Traced
) -> None:
    instrument_httpx(tracer_provider=traced.tracer_provider)
    http = driver.http_client() if given else None
    client = driver.client_for(traced.authing_url, retry=None, http_client=http)
    token = driver.fetch_once(client, app_id=APP_ID, http=http)
    (span,) = traced.spans()
    assert span.kind is SpanKind.CLIENT
    assert span.name == "POST"
    assert url_of(span) == f"{traced.authing_url}{SUCCESSOR_PATH}"
    assert_holds_no_secret(traced.spans(), token.access_token)
