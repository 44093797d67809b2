"""Each attempt's request: built by the generated package, shown in errors without credentials.

The body is a stream of ours (``RequestBody``): the transport reads it once it has a connection
and wrote the headers, the public sign that the request is leaving.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
from authing_wechat_client.models import GetWechatAccessTokenDto

from ._operations import Operation
from ._secret import REDACTED, Secret
from ._settings import ClientOptions

__all__ = ["RequestBody", "build_request", "redacted_copy"]


class RequestBody(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A request's JSON body that calls ``on_send`` each time a transport starts reading it."""

    def __init__(self, content: bytes, on_send: Callable[[], None]) -> None:
        self._content = content
        self._on_send = on_send

    def __iter__(self) -> Iterator[bytes]:
        self._on_send()
        yield self._content

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._on_send()
        yield self._content


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    operation: Operation,
    settings: ClientOptions,
    *,
    app_id: str,
    app_secret: Secret,
    timeout: httpx.Timeout,
    on_send: Callable[[], None],
) -> tuple[httpx.Request, bytes]:
    """One attempt's request, built with the generated builder on ``http`` (its base headers
    and cookies apply), and its body; the request's stream is a ``RequestBody`` calling
    ``on_send``."""
    # Positional, in the spec's order: a field renamed in the spec reaches the wire by itself.
    body = GetWechatAccessTokenDto(app_id, app_secret.reveal())
    kwargs = operation.endpoint._get_kwargs(body=body, **settings.header_kwargs)
    headers = kwargs["headers"]
    headers.update(settings.extra_headers)
    built = http.build_request(
        kwargs["method"].upper(),
        _parsed_url(settings.base_url + kwargs["url"]),
        json=kwargs["json"],
        headers=headers,
        timeout=timeout,
    )
    # Its headers (Content-Length included) as httpx built them; only the body is ours.
    request = httpx.Request(
        built.method,
        built.url,
        headers=built.headers,
        stream=RequestBody(built.content, on_send),
        extensions=built.extensions,
    )
    return request, built.content


@functools.lru_cache(maxsize=64)
def _parsed_url(url: str) -> httpx.URL:
    # A client's calls go to one or two URLs: each is parsed once (httpx.URL is immutable).
    return httpx.URL(url)


def redacted_copy(request: httpx.Request, secret: Secret, content: bytes) -> httpx.Request:
    """``request`` (whose body is ``content``) as errors carry it for debuggers and error
    trackers (``exc.request``): what was sent, the app secret and ``Authorization`` replaced."""
    body = json.loads(content)
    plain = secret.reveal()
    if isinstance(body, dict):
        body = {key: REDACTED if value == plain else value for key, value in body.items()}
    headers = request.headers.copy()
    if "authorization" in headers:
        headers["authorization"] = REDACTED
    headers.pop("content-length", None)
    return httpx.Request(request.method, request.url, headers=headers, json=body)
