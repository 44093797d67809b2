"""The reference mock of the two operations, and its one decision: ``MockAuthingServer.answer``.

Every decision (validation, faults, tokens, headers, variation) is made by that synchronous
method under one lock. The loopback server, the in-process transport and the ASGI wrapper
only read the body, wait out delay faults and send what was decided (or drop the
connection), so every way of serving the mock behaves the same.
"""

from __future__ import annotations

import collections
import functools
import json
import logging
import re
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from typing import Any, ClassVar, Final

import attrs
import httpx

from authing_wechat._core._clock import Clock, SystemClock
from authing_wechat._core._models import mask_token

from ._faults import Fault
from ._paths import CLOUDS, DEPRECATED_PATH, PATHS, SUCCESSOR_PATH, Cloud
from ._varied import Variation

__all__ = ["Answer", "IssuedToken", "MockAuthingServer", "RecordedRequest", "reason_phrase"]

_ASGIMessage = MutableMapping[str, Any]

_logger = logging.getLogger("authing_wechat.testing")
_LANGS: Final = ("zh-CN", "en-US")
_DEFAULT_LANG: Final = "zh-CN"
_JSON: Final = b"application/json; charset=utf-8"
_HTML: Final = b"text/html; charset=utf-8"
# RFC 9745 example date of the spec (2025-01-01T00:00:00Z).
_DEFAULT_DEPRECATED_SINCE: Final = 1_735_689_600


@functools.cache
def _data_examples() -> dict[str, Any]:
    # The spec's example of each property of the token's data but the token and its expiry,
    # written beside the generated models by scripts/regenerate.py: a property added to the
    # spec is in every answer after one regeneration.
    from importlib.resources import files  # noqa: PLC0415 - on the first answer

    examples = files("authing_wechat_client").joinpath("data_examples.json")
    loaded: dict[str, Any] = json.loads(examples.read_text(encoding="utf-8"))
    return loaded


@attrs.frozen
class _Rejection:
    status: int
    api_code: int
    zh: str
    en: str

    def message(self, lang: str, **fields: str) -> str:
        return (self.en if lang == "en-US" else self.zh).format(**fields)


_APP_ID_HEADER_MISSING = _Rejection(400, 1001, "缺少 {field} 请求头", "{field} is required")
_APP_ID_HEADER_BLANK = _Rejection(400, 1002, "{field} 不能为空", "{field} must not be blank")
# The spec's pattern for app ids: visible ASCII, no spaces.
_APP_ID_PATTERN: Final = re.compile(r"[!-~]+")
_APP_ID_HEADER_INVALID = _Rejection(
    400, 1013, "{field} 只能包含可见 ASCII 字符", "{field} must be visible ASCII without spaces"
)
_LANG_INVALID = _Rejection(
    400, 1003, "{field} 必须是 zh-CN 或 en-US", "{field} must be zh-CN or en-US"
)
_NOT_JSON_TYPE = _Rejection(
    415, 1014, "Content-Type 必须是 application/json", "Content-Type must be application/json"
)
_BODY_MISSING = _Rejection(400, 1004, "缺少请求体", "request body is required")
_BODY_NOT_JSON = _Rejection(400, 1005, "请求体不是合法的 JSON", "request body is not valid JSON")
_BODY_NOT_OBJECT = _Rejection(
    400, 1006, "请求体必须是 JSON 对象", "request body must be a JSON object"
)
# Per body field: (missing, not a string, blank).
_FIELD_REJECTIONS: Final = {
    "appId": (
        _Rejection(400, 1007, "appId 是必填项", "appId is required"),
        _Rejection(400, 1008, "appId 必须是字符串", "appId must be a string"),
        _Rejection(400, 1009, "appId 不能为空", "appId must not be blank"),
    ),
    "appSecret": (
        _Rejection(400, 1010, "appSecret 是必填项", "appSecret is required"),
        _Rejection(400, 1011, "appSecret 必须是字符串", "appSecret must be a string"),
        _Rejection(400, 1012, "appSecret 不能为空", "appSecret must not be blank"),
    ),
}
_UNKNOWN_APP = _Rejection(401, 2001, "未知的 appId", "unknown appId")
_WRONG_SECRET = _Rejection(401, 2002, "appSecret 错误", "appSecret is not correct")
_NOT_FOUND = _Rejection(404, 4004, "接口不存在", "not found")
_METHOD_NOT_ALLOWED = _Rejection(405, 4005, "不支持的请求方法", "method not allowed")
_SUCCESS = ("操作成功", "Success")

_HTML_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def reason_phrase(status: int) -> str:
    """The reason phrase of ``status``, also for statuses the standard library never named."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        # 499, 520, 529 ...: real statuses that the standard library does not name.
        return "Server Error" if status >= 500 else "Client Error"


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@attrs.frozen(kw_only=True)
class Answer:
    """What the mock decided to do with one request (returned by ``MockAuthingServer.answer``).

    Attributes:
        status: HTTP status to send.
        headers: Response headers, lower-case names, as bytes.
        body: Response body.
        delay_seconds: How long to wait before answering (or dropping).
        drop: Close the connection instead of answering.
    """

    status: int
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    delay_seconds: float = 0.0
    drop: bool = False


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request the mock server received. Its repr shows neither headers nor body.

    Attributes:
        method: HTTP method.
        path: URL path, without the query.
        raw_headers: Request headers as received: lower-case names, bytes.
        body: The parsed JSON body, or ``None`` when there was none or it was not JSON. It holds
            the app secret: compare it, do not print it.
        status: HTTP status answered, or ``None`` when the connection was dropped.
        fault: The scripted fault that answered, or ``None``.
    """

    method: str
    path: str
    raw_headers: tuple[tuple[bytes, bytes], ...] = attrs.field(repr=False)
    body: Any = attrs.field(repr=False)
    status: int | None
    fault: Fault | None = None

    @property
    def headers(self) -> httpx.Headers:
        """The request headers, case-insensitive. ``Authorization`` may hold a user token."""
        # Built on demand: recording stays cheap for the requests nobody inspects.
        return httpx.Headers(list(self.raw_headers))

    @property
    def app_id(self) -> str | None:
        """The WeChat ``appId`` of the body, if it held a string one."""
        value = self.body.get("appId") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None


@attrs.frozen(kw_only=True)
class IssuedToken:
    """A WeChat access token the mock issued, as WeChat would know it (``issued_token``).

    Attributes:
        access_token: The token (its repr shows only the first characters).
        app_id: The WeChat app it belongs to.
        issued_at: When it was issued, epoch seconds on the mock's clock.
        expires_at: When it expires, epoch seconds.
        superseded_at: When a newer token of the same app was issued (WeChat then calls this
            one "not latest"), or ``None`` while it is the latest.
        served: Whether the mock serves (or served) it as the cached token; ``False`` for a
            token issued to "someone else" (``rotate_token(..., serve=False)``).
    """

    access_token: str = attrs.field(repr=mask_token)
    app_id: str
    issued_at: float
    expires_at: int
    superseded_at: float | None = None
    served: bool = True


def _header_map(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in raw:
        # A repeated header keeps its first value; neither cloud repeats these.
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


class MockAuthingServer:
    """A reference server for both operations: one decision, served in any of three ways.

    It follows ``openapi/authing-wechat.yaml``: ``POST`` on the two paths, the app id in
    ``x-authing-app-id`` or ``x-genauth-app-id`` (one of them only, with ``cloud``),
    ``x-*-lang`` choosing the message language, a JSON body with non-blank string ``appId``
    and ``appSecret``. Valid requests get a token that stays the same per ``appId`` until it
    expires, as the real server's cache does. The deprecated path adds ``Deprecation``,
    ``Link`` (and ``Sunset`` when configured) headers. Scripted faults (``add_fault``) answer
    the next requests of a path instead.

    Serve it in-process with ``MockAuthingTransport(server)`` (sync and async httpx clients),
    over loopback with ``run_mock_server(server)``, or as the ASGI application it also is.
    Thread-safe: one instance may serve several threads and event loops.

    Args:
        expires_in: Lifetime of the tokens it issues, in seconds.
        credentials: ``{appId: appSecret}`` it accepts; any other pair gets HTTP 401. ``None``
            (the default) accepts any non-blank pair.
        cloud: ``"authing"`` requires ``x-authing-app-id`` and reads ``x-authing-lang``,
            ignoring GenAuth's headers; ``"genauth"`` the reverse; ``None`` (the default)
            takes either.
        deprecated_since: Epoch seconds sent as ``Deprecation: @<epoch>`` on the deprecated
            path; ``None`` sends no deprecation headers at all (no ``Link``, no ``Sunset``).
        sunset: Sent as ``Sunset`` on the deprecated path: an aware ``datetime`` (formatted as
            an HTTP-date) or a string sent verbatim; ``None`` sends none.
        clock: Time source: tokens expire by ``clock.time()``, and delay faults wait with
            ``clock.sleep`` (``asleep`` in async code). ``SystemClock()`` by default; pass a
            ``FakeClock`` so delays take no real time and expiry follows ``advance()``. Read
            it back as ``server.clock``.
        varied: Vary the optional parts of every JSON answer, as servers within the contract
            may: ``requestId`` and ``apiCode`` left out, unknown fields added, ``data`` null or
            ``{}`` on failures, the charset of the content type, the deprecation headers.
        seed: Seeds the varied mode's choices: the same seed and requests, the same answers.
        max_recorded: How many recent requests ``requests`` keeps (counts stay exact); ``0``
            keeps none, for long benchmarks.

    Raises:
        ValueError: ``expires_in`` is not a positive int, ``cloud`` is not one of ``CLOUDS``,
            ``sunset`` is a naive datetime, or ``max_recorded`` is negative.
    """

    MAX_SUPERSEDED: ClassVar[int] = 10_000
    """How many tokens that are no app's latest ``issued_token`` remembers (newest first)."""

    def __init__(
        self,
        *,
        expires_in: int = 7200,
        credentials: Mapping[str, str] | None = None,
        cloud: Cloud | None = None,
        deprecated_since: int | None = _DEFAULT_DEPRECATED_SINCE,
        sunset: datetime | str | None = None,
        clock: Clock | None = None,
        varied: bool = False,
        seed: int = 0,
        max_recorded: int = 10_000,
    ) -> None:
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
            raise ValueError(f"expires_in must be a positive int of seconds, got {expires_in!r}")
        if cloud is not None and cloud not in CLOUDS:
            raise ValueError(f"cloud must be one of {CLOUDS} or None, got {cloud!r}")
        if max_recorded < 0:
            raise ValueError(f"max_recorded must be >= 0, got {max_recorded!r}")
        self._clock: Clock = SystemClock() if clock is None else clock
        self._expires_in = expires_in
        self._credentials = None if credentials is None else dict(credentials)
        clouds = CLOUDS if cloud is None else (cloud,)
        self._app_id_headers = tuple(f"x-{name}-app-id" for name in clouds)
        self._lang_headers = tuple(f"x-{name}-lang" for name in clouds)
        self._deprecation_headers = _deprecation_headers(deprecated_since, sunset)
        self._variation = Variation(seed) if varied else None
        self._lock = threading.Lock()
        self._recorded: collections.deque[RecordedRequest] = collections.deque(maxlen=max_recorded)
        self._counts: collections.Counter[str] = collections.Counter()
        self._faults: dict[str, collections.deque[list[Any]]] = {
            path: collections.deque() for path in PATHS
        }
        self._tokens: dict[str, tuple[str, int]] = {}
        self._issued = 0
        self._history: dict[str, IssuedToken] = {}
        self._latest: dict[str, str] = {}

    def __repr__(self) -> str:
        return (
            f"<MockAuthingServer requests={self.request_count()} "
            f"tokens_issued={self.tokens_issued}>"
        )

    @property
    def clock(self) -> Clock:
        """The time source of token expiry and delay faults (share it with your clients)."""
        return self._clock

    # --- scripting and inspection -------------------------------------------------------

    def add_fault(self, path: str, fault: Fault, *, times: int | None = 1) -> None:
        """Queue ``fault`` to answer the next ``times`` POST requests of ``path``.

        Faults of a path answer in the order they were added; when none is left, requests
        get normal answers again.

        Args:
            path: ``SUCCESSOR_PATH`` or ``DEPRECATED_PATH``.
            fault: What to do instead of answering.
            times: How many requests it answers; ``None`` answers all of them from now on
                (faults queued after it are never reached).

        Raises:
            ValueError: ``path`` is not one of the two paths, or ``times`` is not a positive
                int or ``None``.
        """
        if path not in PATHS:
            raise ValueError(f"path must be one of {PATHS}, got {path!r}")
        if times is not None and (
            isinstance(times, bool) or not isinstance(times, int) or times < 1
        ):
            raise ValueError(f"times must be a positive int or None, got {times!r}")
        with self._lock:
            self._faults[path].append([fault, times])

    def clear_faults(self, path: str | None = None) -> None:
        """Drop the faults still queued for ``path`` (``None``: for every path): an outage
        scripted with ``times=None`` ends, and requests get normal answers again."""
        with self._lock:
            for name, queue in self._faults.items():
                if path is None or name == path:
                    queue.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """The requests received so far (at most ``max_recorded`` most recent), oldest first."""
        with self._lock:
            return list(self._recorded)

    def request_count(self, path: str | None = None) -> int:
        """How many requests arrived, any method, on ``path`` or (``None``) on any path.

        Args:
            path: A URL path, or ``None`` for all of them.

        Returns:
            The count, exact even beyond ``max_recorded``.
        """
        with self._lock:
            return self._counts.total() if path is None else self._counts[path]

    @property
    def tokens_issued(self) -> int:
        """How many distinct tokens were minted (a cached token counts once)."""
        with self._lock:
            return self._issued

    def reset(self) -> None:
        """Forget recorded requests, counts, queued faults and cached tokens."""
        with self._lock:
            self._recorded.clear()
            self._counts.clear()
            for queue in self._faults.values():
                queue.clear()
            self._tokens.clear()
            self._issued = 0
            self._history.clear()
            self._latest.clear()

    def rotate_token(self, app_id: str, *, serve: bool = True) -> str:
        """Issue a new token for ``app_id`` now, as a fresh fetch from WeChat would.

        The previous token becomes "not latest" (see ``issued_token``; ``FakeWechatServer``
        then answers it with 40001).

        Args:
            app_id: The WeChat app id.
            serve: ``True``: Authing refetched, and the next requests get the new token.
                ``False``: someone else fetched it: the mock keeps serving its cached token,
                which WeChat no longer accepts (the usual cause of an endless 40001).

        Returns:
            The new token.
        """
        with self._lock:
            token = self._mint(app_id, self._clock.time(), serve=serve)
        return token[0]

    def issued_token(self, access_token: str) -> IssuedToken | None:
        """What the mock knows of a token it issued, or ``None`` for any other string.

        It remembers every app's latest token and the ``MAX_SUPERSEDED`` most recent others
        (older ones are ``None``, which WeChat would refuse anyway): a mock left running with
        short-lived tokens holds a bounded record.
        """
        with self._lock:
            return self._history.get(access_token)

    def served_token(self, app_id: str) -> str | None:
        """The token the mock serves now for ``app_id`` (``None``: none yet, or expired)."""
        with self._lock:
            cached = self._tokens.get(app_id)
            if cached is None or self._clock.time() >= cached[1]:
                return None
            return cached[0]

    def routes(self) -> dict[str, frozenset[str]]:
        """The paths it serves and the methods each one answers (for drift checks).

        Returns:
            ``{path: {"POST"}}`` for both paths.
        """
        return {path: frozenset({"POST"}) for path in PATHS}

    # --- deciding -------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, headers: Iterable[tuple[bytes, bytes]], body: bytes
    ) -> Answer:
        """Decide the answer to one request, record it, and log it.

        Every way of serving the mock calls this; it never waits. Each request is logged at
        ``INFO`` on the ``authing_wechat.testing`` logger (method, path, status, fault; no
        header or body).

        Args:
            method: HTTP method.
            path: URL path, without the query.
            headers: Raw header pairs (any case).
            body: The whole request body.

        Returns:
            What to send, or that the connection is to be dropped, and after what delay.
        """
        raw_headers = tuple(headers)
        header_map = _header_map(raw_headers)
        parsed = _parse_json(body)
        with self._lock:
            self._counts[path] += 1
            fault = self._take_fault(path) if method == "POST" else None
            if fault is not None:
                answer = self._fault_answer(fault, path, header_map, parsed)
            else:
                answer = self._normal_answer(method, path, header_map, parsed)
            status = None if answer.drop else answer.status
            if self._recorded.maxlen:
                self._recorded.append(
                    RecordedRequest(
                        method=method,
                        path=path,
                        raw_headers=raw_headers,
                        body=None if parsed is _NO_BODY or parsed is _INVALID else parsed,
                        status=status,
                        fault=fault,
                    )
                )
        _logger.info(
            "%s %s -> %s%s",
            method,
            path,
            "dropped" if status is None else status,
            "" if fault is None else f" (fault {fault.kind})",
        )
        return answer

    def _take_fault(self, path: str) -> Fault | None:
        queue = self._faults.get(path)
        if not queue:
            return None
        entry = queue[0]
        fault: Fault = entry[0]
        if entry[1] is not None:
            entry[1] -= 1
            if entry[1] == 0:
                queue.popleft()
        return fault

    def _lang(self, headers: Mapping[str, str]) -> tuple[str, str]:
        """The message language, and the name of a header holding an unknown one (or "")."""
        lang = None
        for name in self._lang_headers:
            value = headers.get(name)
            if value is None:
                continue
            if value not in _LANGS:
                return _DEFAULT_LANG, name
            lang = lang or value
        return lang or _DEFAULT_LANG, ""

    def _normal_answer(
        self, method: str, path: str, headers: Mapping[str, str], parsed: Any
    ) -> Answer:
        lang, bad_lang = self._lang(headers)
        if path not in PATHS:
            return self._error(_NOT_FOUND, lang, path)
        if method != "POST":
            return self._error(_METHOD_NOT_ALLOWED, lang, path, extra=((b"allow", b"POST"),))
        rejection, field = (_LANG_INVALID, bad_lang) if bad_lang else self._check_headers(headers)
        if rejection is None:
            rejection = _check_content_type(headers.get("content-type")) or _check_body(parsed)
        if rejection is None and self._credentials is not None:
            expected = self._credentials.get(parsed["appId"])
            if expected is None:
                rejection = _UNKNOWN_APP
            elif expected != parsed["appSecret"]:
                rejection = _WRONG_SECRET
        if rejection is not None:
            return self._error(rejection, lang, path, field=field)
        token, expires_at = self._token(parsed["appId"])
        payload = {
            "statusCode": 200,
            "message": _SUCCESS[lang == "en-US"],
            "requestId": str(uuid.uuid4()),
            "data": {**_data_examples(), "accessToken": token, "expiresAt": str(expires_at)},
        }
        return self._json_answer(200, payload, path)

    def _check_headers(self, headers: Mapping[str, str]) -> tuple[_Rejection | None, str]:
        present = [(name, headers[name]) for name in self._app_id_headers if name in headers]
        if not present:
            return _APP_ID_HEADER_MISSING, " or ".join(self._app_id_headers)
        for name, value in present:
            if not value.strip():
                return _APP_ID_HEADER_BLANK, name
            if not _APP_ID_PATTERN.fullmatch(value):
                return _APP_ID_HEADER_INVALID, name
        return None, ""

    def _token(self, app_id: str) -> tuple[str, int]:
        now = self._clock.time()
        cached = self._tokens.get(app_id)
        if cached is not None and now < cached[1]:
            return cached
        return self._mint(app_id, now, serve=True)

    def _mint(self, app_id: str, now: float, *, serve: bool) -> tuple[str, int]:
        self._issued += 1
        fresh = (f"mock-access-token-{self._issued}", int(now + self._expires_in))
        if serve:
            self._tokens[app_id] = fresh
        previous = self._latest.get(app_id)
        if previous is not None:
            self._history[previous] = attrs.evolve(self._history[previous], superseded_at=now)
        self._latest[app_id] = fresh[0]
        self._history[fresh[0]] = IssuedToken(
            access_token=fresh[0], app_id=app_id, issued_at=now, expires_at=fresh[1], served=serve
        )
        if len(self._history) > len(self._latest) + self.MAX_SUPERSEDED:
            self._forget_oldest_superseded()
        return fresh

    def _forget_oldest_superseded(self) -> None:
        # Oldest first (dicts keep insertion order); an app's latest token stays whatever its age.
        latest = set(self._latest.values())
        oldest = next(token for token in self._history if token not in latest)
        del self._history[oldest]

    def _headers(
        self, path: str, status: int, extra: tuple[tuple[bytes, bytes], ...] = ()
    ) -> list[tuple[bytes, bytes]]:
        headers = [(b"content-type", _JSON), *extra]
        # A 405 is not an answer of the operation, so it does not announce its deprecation.
        if path == DEPRECATED_PATH and status != 405:
            headers += self._deprecation_headers
        return headers

    def _json_answer(
        self,
        status: int,
        payload: dict[str, Any],
        path: str,
        *,
        extra: tuple[tuple[bytes, bytes], ...] = (),
        delay: float = 0.0,
    ) -> Answer:
        headers = self._headers(path, status, extra)
        if self._variation is not None:
            payload, headers = self._variation.vary(payload, headers)
        return Answer(
            status=status, headers=tuple(headers), body=_json(payload), delay_seconds=delay
        )

    def _error(
        self,
        rejection: _Rejection,
        lang: str,
        path: str,
        *,
        field: str = "",
        extra: tuple[tuple[bytes, bytes], ...] = (),
    ) -> Answer:
        payload = {
            "statusCode": rejection.status,
            "message": rejection.message(lang, field=field),
            "apiCode": rejection.api_code,
            "requestId": str(uuid.uuid4()),
        }
        return self._json_answer(rejection.status, payload, path, extra=extra)

    def _fault_answer(
        self, fault: Fault, path: str, headers: Mapping[str, str], parsed: Any
    ) -> Answer:
        delay = fault.delay_seconds
        if fault.kind == "drop":
            return Answer(status=0, drop=True, delay_seconds=delay)
        if fault.kind == "delay":
            # The normal answer is decided now, under the lock, and sent after the wait.
            answer = self._normal_answer("POST", path, headers, parsed)
            return attrs.evolve(answer, delay_seconds=delay)
        hints = tuple(
            (name, value.encode())
            for name, value in (
                (b"retry-after", fault.retry_after),
                (b"retry-after-ms", fault.retry_after_ms),
            )
            if value is not None
        )
        status = fault.status_code or 200
        if fault.kind == "html":
            page = _HTML_PAGE.format(status=status, phrase=reason_phrase(status))
            return Answer(
                status=status,
                headers=((b"content-type", _HTML), *hints),
                body=page.encode(),
                delay_seconds=delay,
            )
        if fault.kind == "truncated_json":
            whole = _json(
                {
                    "statusCode": 200,
                    "message": _SUCCESS[0],
                    "data": {"accessToken": "mock-access-token-0", "expiresAt": "0"},
                }
            )
            # Framed: Content-Length is the short body's, so only the JSON is broken.
            return Answer(
                status=status,
                headers=tuple(self._headers(path, status)),
                body=whole[: len(whole) // 2],
                delay_seconds=delay,
            )
        payload: dict[str, Any] = {
            "statusCode": status,
            "message": fault.message or reason_phrase(status),
            "requestId": str(uuid.uuid4()),
        }
        if fault.api_code is not None:
            payload["apiCode"] = fault.api_code
        http_status = 200 if fault.kind == "envelope_error" else status
        return self._json_answer(http_status, payload, path, extra=hints, delay=delay)

    # --- ASGI -----------------------------------------------------------------------------

    async def __call__(
        self,
        scope: _ASGIMessage,
        receive: Callable[[], Awaitable[_ASGIMessage]],
        send: Callable[[_ASGIMessage], Awaitable[None]],
    ) -> None:
        """Serve one ASGI ``http`` request (for ASGI servers and schemathesis' ``app=``).

        Raises:
            httpx.RemoteProtocolError: A ``drop`` fault: nothing is sent.
            ValueError: An ASGI scope other than ``http`` (``lifespan`` is not needed).
        """
        if scope["type"] != "http":
            raise ValueError(f"unsupported ASGI scope type {scope['type']!r}")
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message["type"] == "http.request" and message.get("more_body", False)
        answer = self.answer(scope["method"], scope["path"], scope["headers"], b"".join(chunks))
        if answer.delay_seconds:
            await self._clock.asleep(answer.delay_seconds)
        if answer.drop:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        headers = [*answer.headers, (b"content-length", str(len(answer.body)).encode())]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})


# Sentinels for bodies that hold no JSON value (``None`` is the JSON value ``null``).
_NO_BODY: Final[Any] = object()
_INVALID: Final[Any] = object()


def _parse_json(body: bytes) -> Any:
    if not body:
        return _NO_BODY
    try:
        return json.loads(body)
    except ValueError:
        return _INVALID


def _check_content_type(content_type: str | None) -> _Rejection | None:
    # No Content-Type at all is read as JSON, as lenient servers do; a named other type is not.
    media_type = (content_type or "application/json").partition(";")[0].strip().lower()
    if media_type == "application/json" or media_type.endswith("+json"):
        return None
    return _NOT_JSON_TYPE


def _check_body(parsed: Any) -> _Rejection | None:
    if parsed is _NO_BODY:
        return _BODY_MISSING
    if parsed is _INVALID:
        return _BODY_NOT_JSON
    if not isinstance(parsed, dict):
        return _BODY_NOT_OBJECT
    for name, rejections in _FIELD_REJECTIONS.items():
        rejection = _check_field(parsed.get(name, _NO_BODY), *rejections)
        if rejection is not None:
            return rejection
    return None


def _check_field(
    value: Any, missing: _Rejection, not_string: _Rejection, blank: _Rejection
) -> _Rejection | None:
    if value is _NO_BODY:
        return missing
    if not isinstance(value, str):
        return not_string
    return None if value.strip() else blank


def _deprecation_headers(
    since: int | None, sunset: datetime | str | None
) -> tuple[tuple[bytes, bytes], ...]:
    if isinstance(sunset, datetime):
        if sunset.tzinfo is None:
            raise ValueError("sunset must be an aware datetime (or an HTTP-date string)")
        sunset = format_datetime(sunset.astimezone(UTC), usegmt=True)
    if since is None:
        return ()
    headers: tuple[tuple[bytes, bytes], ...] = (
        (b"deprecation", f"@{int(since)}".encode()),
        (b"link", f'<{SUCCESSOR_PATH}>; rel="successor-version"'.encode()),
    )
    if sunset is not None:
        headers += ((b"sunset", sunset.encode()),)
    return headers
