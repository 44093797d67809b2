"""A fake WeChat API for tests, wired to a ``MockAuthingServer``: it accepts only the tokens
that WeChat itself would accept.

WeChat keeps one latest access token per app. A newer one (fetched by Authing, or by anyone
else holding the app secret) makes the previous one "not latest" (errcode 40001) after a short
overlap, about five minutes on the real service; an expired one gets 42001. The fake reads the
tokens the mock issued (``MockAuthingServer.issued_token``) and decides the same way, on the
mock's clock, so a test can rotate, expire or steal a token and watch its code recover.

``POST /cgi-bin/stable_token`` is modelled as WeChat documents getStableAccessToken: isolated
from ``/cgi-bin/token`` (neither affects the other's tokens), the same token in normal mode, a
new one 5 minutes before expiry with the old one valid until then (``expires_in`` >= 300),
``force_refresh`` limited to 20 a day and 30 s apart and killing the token others hold, and
switches for 40164 (IP not whitelisted) and 40125 (wrong secret).

One decision, ``FakeWechatServer.answer``, served in-process (``FakeWechatTransport``, sync
and async httpx clients) and on loopback (``run_fake_wechat_server``).
"""

from __future__ import annotations

import collections
import contextlib
import json
import logging
import ssl
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

import attrs
import httpx

from authing_wechat._core._clock import Clock
from authing_wechat._core._models import mask_token

from ._app import Answer, MockAuthingServer
from ._server import LoopbackHandler, serve_on_loopback

__all__ = [
    "FakeWechatHandle",
    "FakeWechatRequest",
    "FakeWechatServer",
    "FakeWechatTransport",
    "run_fake_wechat_server",
]
STABLE_TOKEN_PATH: Final = "/cgi-bin/stable_token"  # noqa: S105 - a path
STABLE_LIFETIME: Final = 7200  # seconds a stable token lives
STABLE_EARLY: Final = 300  # WeChat issues the next one this long before expiry
FORCE_PER_DAY: Final = 20
FORCE_SPACING: Final = 30.0

_logger = logging.getLogger("authing_wechat.testing")
_JSON: Final = b"application/json; encoding=utf-8"  # what WeChat sends
_JPEG: Final = b"image/jpeg"
# A tiny JPEG (SOI, APP0 JFIF, EOI): what /wxa/getwxacodeunlimit answers is image bytes.
QR_CODE_IMAGE: Final = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
    + b"\xff\xd9"
)  # fmt: skip
# WeChat's texts for the token errcodes (each real answer ends with " rid: <id>").
ERRMSGS: Final = {
    40001: "invalid credential, access_token is invalid or not latest, could get access_token "
    "by getStableAccessToken, more details at https://mmbizurl.cn/s/JtxxFh33r",
    40014: "invalid access_token",
    41001: "access_token missing",
    42001: "access_token expired",
    40003: "invalid openid",
    40002: "invalid grant_type",
    40013: "invalid appid",
    40164: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist",
    45011: "api minute-quota reach-limit, mustslower retry next minute",
    40125: "invalid appsecret",
    40129: "invalid scene",
    45009: "reach max api daily quota limit",
    47001: "data format error",
}


@attrs.frozen(kw_only=True)
class FakeWechatRequest:
    """One request the fake WeChat received. Its repr shows no whole token and no body.

    Attributes:
        method: HTTP method.
        path: URL path.
        params: Query parameters other than ``access_token`` (first value of each).
        access_token: The ``access_token`` it carried, or ``None``.
        body: The request body.
        status: HTTP status answered.
        errcode: The ``errcode`` answered (0 for a success), ``None`` for a non-JSON answer.
    """

    method: str
    path: str
    params: Mapping[str, str]
    access_token: str | None = attrs.field(
        repr=lambda token: "None" if token is None else mask_token(token)
    )
    body: bytes = attrs.field(repr=False)
    status: int
    errcode: int | None


def _json(payload: Mapping[str, Any], status: int = 200) -> Answer:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Answer(status=status, headers=((b"content-type", _JSON),), body=body)


def _error(errcode: int, errmsg: str | None = None, status: int = 200) -> Answer:
    text = ERRMSGS.get(errcode, "error") if errmsg is None else errmsg
    return _json({"errcode": errcode, "errmsg": f"{text} rid: {uuid.uuid4().hex[:24]}"}, status)


class FakeWechatServer:
    """A fake of the WeChat API (``api.weixin.qq.com``) that accepts only live tokens.

    A request's ``access_token`` is checked as WeChat does, against what ``authing`` issued:

    - missing: 41001; not issued by the mock (or by ``GET /cgi-bin/token``): 40001;
    - expired (the mock's clock is past its expiry, or ``expire()``): 42001;
    - not the app's latest (after ``rotate`` / ``fetch_elsewhere``) and past the overlap: 40001;
    - a stable token (``/cgi-bin/stable_token``): 40001 once replaced by a force refresh, 42001
      once expired;
    - otherwise the path's answer: realistic JSON for ``/cgi-bin/user/info``,
      ``/cgi-bin/message/subscribe/send``, ``/cgi-bin/get_api_domain_ip`` (and
      ``getcallbackip``), image bytes for
      ``/wxa/getwxacodeunlimit``, a token for ``/cgi-bin/token``; ``{"errcode": 0, "errmsg":
      "ok"}`` for any other path.

    Scripted answers (``add_errcode``) come first, for the next requests of a path.
    Thread-safe; serve it with ``FakeWechatTransport(fake)`` or ``run_fake_wechat_server``.

    Args:
        authing: The mock whose tokens are the valid ones; a fresh ``MockAuthingServer()``
            when ``None``. Its clock is this server's clock.
        overlap: Seconds a replaced token keeps working (WeChat: about 300); 0, the default,
            rejects it at once, which is what most tests want to see.
        max_recorded: How many recent requests ``requests`` keeps (counts stay exact).

    Raises:
        ValueError: ``overlap`` is negative or ``max_recorded`` is negative.
    """

    def __init__(
        self,
        authing: MockAuthingServer | None = None,
        *,
        overlap: float = 0.0,
        max_recorded: int = 10_000,
    ) -> None:
        if overlap < 0 or max_recorded < 0:
            raise ValueError("overlap and max_recorded must not be negative")
        self._authing = MockAuthingServer() if authing is None else authing
        self._overlap = float(overlap)
        self._lock = threading.Lock()
        self._overlaps: dict[str, float] = {}
        self._expired: set[str] = set()
        self._scripted: dict[str, collections.deque[list[Any]]] = collections.defaultdict(
            collections.deque
        )
        self._recorded: collections.deque[FakeWechatRequest] = collections.deque(
            maxlen=max_recorded
        )
        self._counts: collections.Counter[str] = collections.Counter()
        self._rejections = 0
        self._messages = 0
        self._stable: dict[str, tuple[str, float]] = {}  # app id: current stable token, expiry
        self._stable_tokens: dict[str, tuple[float, bool]] = {}  # token: expiry, killed
        self._forced: dict[str, list[float]] = collections.defaultdict(list)
        self._ip_whitelisted = True
        self._secret_accepted = True

    def __repr__(self) -> str:
        return f"<FakeWechatServer requests={self.request_count()} rejections={self.rejections}>"

    @property
    def authing(self) -> MockAuthingServer:
        """The mock Authing server whose tokens this fake accepts."""
        return self._authing

    @property
    def clock(self) -> Clock:
        """The mock's clock: expiry and overlaps follow it (``FakeClock.advance``)."""
        return self._authing.clock

    # --- scripting ------------------------------------------------------------------------

    def rotate(self, app_id: str, *, overlap: float | None = None) -> str:
        """Authing fetched a new token for ``app_id``: the mock serves it from now on, and the
        old one gets 40001 after ``overlap`` seconds.

        Args:
            app_id: The WeChat app id.
            overlap: Seconds the previous token keeps working (default: the server's).

        Returns:
            The new token.
        """
        return self._replace(app_id, overlap, serve=True)

    def fetch_elsewhere(self, app_id: str, *, overlap: float | None = None) -> str:
        """Someone else fetched a token for ``app_id`` (another service with the secret): the
        mock keeps serving its cached token, which WeChat rejects with 40001 after
        ``overlap`` seconds, until the mock's token changes (``rotate``, or its expiry).

        Returns:
            The token the other party got.
        """
        return self._replace(app_id, overlap, serve=False)

    def _replace(self, app_id: str, overlap: float | None, *, serve: bool) -> str:
        previous = self._authing.served_token(app_id)
        fresh = self._authing.rotate_token(app_id, serve=serve)
        if previous is not None and overlap is not None:
            with self._lock:
                self._overlaps[previous] = float(overlap)
        return fresh

    def expire(self, app_id: str) -> str | None:
        """Make the token the mock serves now for ``app_id`` expired (42001) at WeChat.

        The mock keeps serving it until its own expiry, as Authing's cache would.

        Returns:
            That token, or ``None`` if the mock serves none.
        """
        token = self._authing.served_token(app_id)
        if token is not None:
            with self._lock:
                self._expired.add(token)
        return token

    def add_errcode(
        self,
        path: str,
        errcode: int,
        errmsg: str | None = None,
        *,
        times: int | None = 1,
        status: int = 200,
    ) -> None:
        """Answer the next ``times`` requests of ``path`` with ``errcode``, whatever their token.

        Args:
            path: The URL path, e.g. ``"/cgi-bin/user/info"``.
            errcode: The errcode to answer (40001 to simulate a rejection, 45009 a quota ...).
            errmsg: Its text; WeChat's own for known codes when ``None``.
            times: How many requests; ``None``: all from now on.
            status: The HTTP status (WeChat sends 200 with its errors).

        Raises:
            ValueError: ``times`` is not a positive int or ``None``.
        """
        if times is not None and (isinstance(times, bool) or times < 1):
            raise ValueError(f"times must be a positive int or None, got {times!r}")
        with self._lock:
            self._scripted[path].append([_error(errcode, errmsg, status), times])

    def set_ip_whitelisted(self, whitelisted: bool) -> None:
        """``False``: ``/cgi-bin/stable_token`` answers 40164, as for a caller whose IP is not
        on the app's IP whitelist; ``True`` (the default) accepts it again."""
        self._ip_whitelisted = bool(whitelisted)

    def set_secret_accepted(self, accepted: bool) -> None:
        """``False``: ``/cgi-bin/stable_token`` answers 40125 (invalid appsecret)."""
        self._secret_accepted = bool(accepted)

    def stable_token(self, app_id: str) -> str | None:
        """The stable token WeChat holds for ``app_id`` now (``None``: none issued yet)."""
        with self._lock:
            current = self._stable.get(app_id)
        return None if current is None else current[0]

    def force_refresh_elsewhere(self, app_id: str) -> str:
        """Someone else called stable_token with ``force_refresh``: a new stable token, and
        the one every other holder has gets 40001 at once. Not counted against the limits.

        Returns:
            The new stable token.
        """
        with self._lock:
            return self._issue_stable(app_id, self.clock.time(), kill=True)

    # --- inspection -----------------------------------------------------------------------

    @property
    def requests(self) -> list[FakeWechatRequest]:
        """The requests received so far (the most recent ``max_recorded``), oldest first."""
        with self._lock:
            return list(self._recorded)

    def request_count(self, path: str | None = None) -> int:
        """How many requests arrived on ``path`` (``None``: on any path)."""
        with self._lock:
            return self._counts.total() if path is None else self._counts[path]

    @property
    def rejections(self) -> int:
        """How many requests were answered 40001, 40014, 41001 or 42001 for their token."""
        with self._lock:
            return self._rejections

    # --- deciding -------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, query: str, headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
    ) -> Answer:  # fmt: skip
        """Decide the answer to one request, record it and log it (INFO, no token).

        Args:
            method: HTTP method.
            path: URL path.
            query: The raw query string (without ``?``).
            headers: Raw header pairs.
            body: The whole request body.

        Returns:
            What to send.
        """
        pairs = parse_qsl(query, keep_blank_values=True)
        params = {name: value for name, value in reversed(pairs) if name != "access_token"}
        tokens = [value for name, value in pairs if name == "access_token"]
        token = tokens[0] if tokens else None
        if path == "/cgi-bin/token":  # someone fetches a token with the app secret
            return self._record(method, path, params, None, body=body, answer=self._fetch(params))
        if path == STABLE_TOKEN_PATH:  # scripted answers (add_errcode) come first here too
            with self._lock:
                scripted = self._take_scripted(path)
            stable = scripted or self._stable_token(method, body)
            return self._record(method, path, params, None, body=body, answer=stable)
        # The mock is asked first, never under this lock (it has a lock of its own).
        issued = None if token is None else self._authing.issued_token(token)
        now = self.clock.time()
        with self._lock:
            self._counts[path] += 1
            answer = self._take_scripted(path)
            if answer is None:
                answer = self._check_token(token, issued, now)
                if answer is not None:
                    self._rejections += 1
                else:
                    answer = self._path_answer(method, path, params, body)
        return self._record(method, path, params, token, body=body, answer=answer, counted=True)

    def _record(
        self, method: str, path: str, params: Mapping[str, str], token: str | None, *,
        body: bytes, answer: Answer, counted: bool = False,
    ) -> Answer:  # fmt: skip
        errcode = _errcode_of(answer)
        with self._lock:
            if not counted:
                self._counts[path] += 1
            if self._recorded.maxlen:
                self._recorded.append(
                    FakeWechatRequest(
                        method=method, path=path, params=params, access_token=token, body=body,
                        status=answer.status, errcode=errcode,
                    )
                )  # fmt: skip
        _logger.info("WeChat %s %s -> %s errcode %s", method, path, answer.status, errcode)
        return answer

    def _fetch(self, params: Mapping[str, str]) -> Answer:
        # WeChat's token API: each call issues a new token and makes the previous one "not
        # latest" (the mock keeps serving its own): what breaks a token Authing caches.
        if not params.get("appid"):
            return _error(40013)
        if not params.get("secret"):
            return _error(40125)
        token = self._authing.rotate_token(params["appid"], serve=False)
        issued = self._authing.issued_token(token)
        expires_in = 7200 if issued is None else int(issued.expires_at - self.clock.time())
        return _json({"access_token": token, "expires_in": expires_in})

    def _stable_token(self, method: str, body: bytes) -> Answer:  # noqa: PLR0911 - one per errcode
        # getStableAccessToken: POST JSON {grant_type, appid, secret, force_refresh?}.
        payload = _json_body(body) if method == "POST" else None
        if payload is None:
            return _error(47001)
        appid, force = payload.get("appid"), payload.get("force_refresh") is True
        if payload.get("grant_type") != "client_credential":
            return _error(40002)
        if not isinstance(appid, str) or not appid:
            return _error(40013)
        if not payload.get("secret") or not self._secret_accepted:
            return _error(40125)
        if not self._ip_whitelisted:
            return _error(40164)
        now = self.clock.time()
        with self._lock:
            current = self._stable.get(appid)
            if force:
                forced = self._forced[appid] = [t for t in self._forced[appid] if t > now - 86400]
                if len(forced) >= FORCE_PER_DAY:
                    return _error(45009)
                if forced and now - forced[-1] < FORCE_SPACING:
                    return _error(45011)
                forced.append(now)
                self._issue_stable(appid, now, kill=True)
            elif current is None or now >= current[1] - STABLE_EARLY:
                self._issue_stable(appid, now, kill=False)  # the old one lives to its expiry
            token, expires = self._stable[appid]
        return _json({"access_token": token, "expires_in": int(expires - now)})

    def _issue_stable(self, app_id: str, now: float, *, kill: bool) -> str:
        # Under self._lock. A forced refresh kills the previous token at once.
        previous = self._stable.get(app_id)
        if previous is not None and kill:
            self._stable_tokens[previous[0]] = (previous[1], True)
        token = f"stable-{app_id}-{uuid.uuid4().hex}"
        self._stable[app_id] = (token, now + STABLE_LIFETIME)
        self._stable_tokens[token] = (now + STABLE_LIFETIME, False)
        return token

    def _check_stable(self, token: str, now: float) -> Answer | None:
        # Under self._lock: the answer for a stable token, None if it is valid.
        expires, killed = self._stable_tokens[token]
        if killed:
            return _error(40001)
        return _error(42001) if now >= expires else None

    def _take_scripted(self, path: str) -> Answer | None:
        queue = self._scripted.get(path)
        if not queue:
            return None
        entry = queue[0]
        if entry[1] is not None:
            entry[1] -= 1
            if entry[1] == 0:
                queue.popleft()
        answer: Answer = entry[0]
        return answer

    def _check_token(self, token: str | None, issued: Any, now: float) -> Answer | None:
        if not token:
            return _error(41001)
        if issued is None and token in self._stable_tokens:
            return self._check_stable(token, now)
        if issued is None:
            return _error(40001)
        if token in self._expired or now >= issued.expires_at:
            return _error(42001)
        if issued.superseded_at is not None:
            overlap = self._overlaps.get(token, self._overlap)
            if now >= issued.superseded_at + overlap:
                return _error(40001)
        return None

    def _path_answer(
        self, method: str, path: str, params: Mapping[str, str], body: bytes
    ) -> Answer:
        if path == "/cgi-bin/user/info":
            return self._user_info(params)
        posted = _POSTED.get(path)
        if posted is None:
            domains = path in ("/cgi-bin/get_api_domain_ip", "/cgi-bin/getcallbackip")
            return _json(_DOMAIN_IPS if domains else {"errcode": 0, "errmsg": "ok"})
        payload = _json_body(body)
        if payload is None:
            return _error(47001)
        field, errcode = posted
        if not payload.get(field):
            return _error(errcode)
        if path == "/wxa/getwxacodeunlimit":
            return Answer(status=200, headers=((b"content-type", _JPEG),), body=QR_CODE_IMAGE)
        self._messages += 1
        return _json({"errcode": 0, "errmsg": "ok", "msgid": 3_000_000_000 + self._messages})

    def _user_info(self, params: Mapping[str, str]) -> Answer:
        openid = params.get("openid")
        if not openid:
            return _error(40003)
        return _json(
            {
                "subscribe": 1,
                "openid": openid,
                "language": "zh_CN",
                "subscribe_time": 1_700_000_000,
                "unionid": f"u-{openid}",
                "remark": "",
                "groupid": 0,
                "tagid_list": [],
                "subscribe_scene": "ADD_SCENE_QR_CODE",
                "qr_scene": 0,
                "qr_scene_str": "",
            }
        )


_DOMAIN_IPS: Final = {"ip_list": ["101.226.103.0/25", "101.226.233.128/25"]}
# The JSON-posting paths answered: the field each requires, and the errcode without it.
_POSTED: Final = {
    "/cgi-bin/message/subscribe/send": ("touser", 40003),
    "/wxa/getwxacodeunlimit": ("scene", 40129),
}


def _json_body(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _errcode_of(answer: Answer) -> int | None:
    if not answer.headers or answer.headers[0][1] != _JSON:
        return None
    payload = json.loads(answer.body)
    value = payload.get("errcode", 0) if isinstance(payload, dict) else 0
    return int(value)


class FakeWechatTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serve a ``FakeWechatServer`` in-process to ``httpx.Client`` and ``httpx.AsyncClient``.

    Example::

        fake = FakeWechatServer(authing_mock)
        wx = httpx.Client(transport=FakeWechatTransport(fake), base_url="https://api.weixin.qq.com",
                          auth=WechatAuth(provider))

    Args:
        server: The fake to serve; a fresh ``FakeWechatServer()`` when ``None``.

    Attributes:
        server: The fake served.
    """

    def __init__(self, server: FakeWechatServer | None = None) -> None:
        self.server = FakeWechatServer() if server is None else server

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in the calling thread."""
        return self._respond(request, request.read())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` in the calling task."""
        return self._respond(request, await request.aread())

    def _respond(self, request: httpx.Request, body: bytes) -> httpx.Response:
        url = request.url
        query = url.query.decode("ascii", "replace")
        answer = self.server.answer(request.method, url.path, query, request.headers.raw, body)
        headers = [*answer.headers, (b"content-length", b"%d" % len(answer.body))]
        return httpx.Response(answer.status, headers=headers, stream=httpx.ByteStream(answer.body))


@attrs.frozen(kw_only=True)
class FakeWechatHandle:
    """A running loopback fake WeChat (yielded by ``run_fake_wechat_server``).

    Attributes:
        url: Its base URL, e.g. ``http://127.0.0.1:54321``: the ``base_url`` of your WeChat
            client in place of ``https://api.weixin.qq.com``.
        host: The address it listens on.
        port: The TCP port.
        server: The ``FakeWechatServer`` answering.
    """

    url: str
    host: str
    port: int
    server: FakeWechatServer


class _FakeWechatHandler(LoopbackHandler):
    def decide(self, headers: list[tuple[bytes, bytes]], body: bytes) -> Any:
        target = urlsplit(self.path)
        fake: FakeWechatServer = self.server.app
        return fake.answer(self.command, target.path or "/", target.query, headers, body)


@contextlib.contextmanager
def run_fake_wechat_server(
    server: FakeWechatServer | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ssl_context: ssl.SSLContext | None = None,
) -> Iterator[FakeWechatHandle]:
    """Serve ``server`` over HTTP/1.1 keep-alive on loopback, like ``run_mock_server``.

    Args:
        server: The fake to serve; a fresh ``FakeWechatServer()`` when ``None``.
        host: Address to listen on.
        port: TCP port; ``0`` picks a free one.
        ssl_context: Serve HTTPS with this server-side context; plain HTTP when ``None``.

    Yields:
        The handle: ``url``, ``host``, ``port``, ``server``.

    Raises:
        OSError: The address cannot be bound.
    """
    fake = FakeWechatServer() if server is None else server
    with serve_on_loopback(fake, _FakeWechatHandler, host, port, ssl_context) as (url, listener):
        yield FakeWechatHandle(url=url, host=host, port=listener.server_address[1], server=fake)
