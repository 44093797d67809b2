"""A hostile HTTP/1.1 server for the soak, on raw sockets, independent of the package.

It shares no code with ``authing_wechat.testing``: the soak must not trust the project's own
mock. Run as a script (``python tests/hardening/_soak_server.py``) it listens on 127.0.0.1 at a
free port, prints ``port <n>``, then answers commands on stdin, one per line:

- ``count <appId>``: how many complete requests with that ``appId`` it has read;
- ``unparsed``: how many requests it could not read an ``appId`` from;
- ``total``: how many requests it has read in all;
- ``quit`` (or end of input): exit.

What each request gets is chosen by the client, in the request body's ``appId``:
``<call id>:<behaviour>,<behaviour>,...``. The n-th request with that ``appId`` gets the n-th
behaviour (the last one repeats), so a call's fate is fixed by its plan, whatever the thread
scheduling, and a request counts once the server has read it whole. ``BEHAVIOURS`` names them.

Stdlib only: the test process imports this module for the behaviour names and runs it as a
separate process, so its threads and sockets never count against the client's.
"""

from __future__ import annotations

import gzip
import json
import socket
import struct
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

__all__ = ["BEHAVIOURS", "CANARY_TOKEN", "SLOW_BYTE_SECONDS"]

CANARY_TOKEN = "CANARY-soak-token-0d5f2a7c91b3"
SLOW_BYTE_SECONDS = 0.025
EXPIRES_AT = "1735696800"
_HUGE_BYTES = 6 * 1024 * 1024


class Request:
    """One request as read off the socket."""

    def __init__(self, app_id: str | None, secret: str) -> None:
        self.app_id = app_id
        self.secret = secret


# A behaviour writes an answer (or not) and says whether the connection may be reused.
Behaviour = Callable[[socket.socket, Request], bool]


def _head(
    status: int, reason: str, headers: list[tuple[str, str]], *, version: str = "HTTP/1.1"
) -> bytes:
    lines = [f"{version} {status} {reason}"] + [f"{name}: {value}" for name, value in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")


def _answer(
    status: int,
    body: bytes,
    *,
    reason: str = "Whatever",
    headers: list[tuple[str, str]] | None = None,
    content_type: str = "application/json",
) -> bytes:
    extra = headers or []
    head = [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra]
    return _head(status, reason, head) + body


def _envelope(status_code: object, message: str = "ok", **fields: object) -> bytes:
    body: dict[str, object] = {"statusCode": status_code, "message": message}
    body.update(fields)
    return json.dumps(body, ensure_ascii=False).encode()


def _success(request_id: str = "req-soak") -> bytes:
    data = {"accessToken": CANARY_TOKEN, "expiresAt": EXPIRES_AT}
    return _envelope(200, "ok", requestId=request_id, data=data)


def _send(data: bytes) -> Behaviour:
    def behave(sock: socket.socket, request: Request) -> bool:
        sock.sendall(data)
        return True

    return behave


def _close_after(data: bytes) -> Behaviour:
    def behave(sock: socket.socket, request: Request) -> bool:
        if data:
            sock.sendall(data)
        return False

    return behave


def _wait_for_close(sock: socket.socket, request: Request) -> bool:
    # A hang: never answer; the client gives up and closes, which ends this thread.
    while sock.recv(65536):
        pass
    return False


def _reset(sock: socket.socket, request: Request) -> bool:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return False


def _trickle(data: bytes, *, after: int) -> Behaviour:
    """Send ``data[:after]`` at once, then one byte every ``SLOW_BYTE_SECONDS``."""

    def behave(sock: socket.socket, request: Request) -> bool:
        sock.sendall(data[:after])
        for index in range(after, len(data)):
            time.sleep(SLOW_BYTE_SECONDS)
            sock.sendall(data[index : index + 1])
        return True

    return behave


def _partial_then_hang(data: bytes) -> Behaviour:
    def behave(sock: socket.socket, request: Request) -> bool:
        sock.sendall(data)
        return _wait_for_close(sock, request)

    return behave


def _chunked(status: int, body: bytes, *, cut: bool = False) -> bytes:
    head = _head(
        status,
        "OK",
        [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")],
    )
    half = len(body) // 2
    chunks = f"{half:x}\r\n".encode() + body[:half] + b"\r\n"
    if cut:
        return head + chunks + f"{len(body) - half + 40:x}\r\n".encode() + body[half:]
    rest = body[half:]
    return head + chunks + f"{len(rest):x}\r\n".encode() + rest + b"\r\n0\r\n\r\n"


def _echo(build: Callable[[str], bytes], *, close: bool = False) -> Behaviour:
    """An answer holding what the client sent as its secret."""

    def behave(sock: socket.socket, request: Request) -> bool:
        sock.sendall(build(request.secret))
        return not close

    return behave


def _lazy(build: Callable[[], bytes]) -> Behaviour:
    # Multi-megabyte answers are built on first use: the test process imports this module
    # only for the behaviours' names.
    made: list[bytes] = []
    lock = threading.Lock()

    def behave(sock: socket.socket, request: Request) -> bool:
        with lock:
            if not made:
                made.append(build())
        sock.sendall(made[0])
        return True

    return behave


def _huge_valid(chunked: bool) -> bytes:
    # A valid envelope padded with whitespace: a client that reads it whole gets a token.
    body = _success()[:-1] + b" " * _HUGE_BYTES + b"}"
    if not chunked:
        return _answer(200, body, reason="OK")
    head = _head(
        200, "OK", [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
    )
    parts = [body[i : i + 65536] for i in range(0, len(body), 65536)]
    return head + b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n" for p in parts) + b"0\r\n\r\n"


def _gzip_bomb() -> bytes:
    # 64 MB of spaces inside a valid envelope, about 64 kB on the wire.
    body = gzip.compress(_success()[:-1] + b" " * (64 * 1024 * 1024) + b"}", compresslevel=9)
    return _answer(200, body, reason="OK", headers=[("Content-Encoding", "gzip")])


RETRY_AFTER = (
    "-1",
    "0",
    "0.05",
    "1e3",
    "99999999999999999999999999",
    "nan",
    "inf",
    "garbage",
    "",
    "5",
    "Wed, 21 Oct 2015 07:28:00 GMT",
    "Fri, 31 Dec 9999 23:59:59 GMT",
    "Fri, 31 Dec 9999 23:59:59 -2359",
    "Fri, 31 Dec 9999 23:59:59 +2359",
    "Mon, 01 Jan 0001 00:00:00 +2359",
    "Sat, 01 Jan 0000 00:00:00 GMT",
    "Sun, 32 Foo 2020 25:61:61 GMT",
    "Thu, 01 Jan 1970 00:00:00 -0000",
    "1" * 400,
)
RETRY_AFTER_MS = ("-5", "20", "0", "1e400", "9" * 30, "abc", "50.5", "nan", " 30 ")
DEPRECATION = (
    [("Deprecation", "@1735689600")],
    [("Deprecation", "@-99999999999999")],
    [("Deprecation", "@999999999999999")],
    [("Deprecation", "true"), ("Sunset", "garbage")],
    [("Sunset", "Fri, 31 Dec 9999 23:59:59 -2359")],
    [("Sunset", "Mon, 01 Jan 0001 00:00:00 +2359")],
    [("Sunset", "Sat, 01 Jan 0000 00:00:00 GMT")],
    [("Sunset", "Fri, 31 Dec 9999 23:59:59 GMT"), ("Deprecation", "@0")],
    [("Deprecation", "@1"), ("Link", '<>; rel="successor-version"')],
    [("Deprecation", "@1"), ("Link", "<" + "x" * 20000 + ">; rel=successor-version")],
    [("Deprecation", "@1"), ("Link", '<https://a>; rel="successor-version", <b>; rel=')],
    [("Deprecation", "@1"), ("Link", ";;;,,,<<>>; rel")],
    [("Deprecation", "@1"), *[("Link", f"<https://l{i}>; rel=alternate") for i in range(50)]],
)
# 2xx bodies that break the documented shape.
BAD_SHAPES: tuple[bytes, ...] = (
    b"",
    b"null",
    b"[]",
    b'"a string"',
    b"12",
    b"{",
    b'{"statusCode": 200}',
    b'{"statusCode": 200, "message": "ok", "data": null}',
    b'{"statusCode": 200, "message": "ok", "data": []}',
    b'{"statusCode": 200, "message": "ok", "data": {"accessToken": 5, "expiresAt": "1"}}',
    b'{"statusCode": 200, "message": "ok", "data": {"accessToken": "t", "expiresAt": 1}}',
    b'{"statusCode": 200, "message": "ok", "data": {"accessToken": "t", "expiresAt": "x"}}',
    b'{"statusCode": 200, "message": "ok", "data": {"accessToken": "t", "expiresAt": "'
    + b"9" * 40
    + b'"}}',
    b'{"statusCode": "200", "message": "ok", "data": {"accessToken": "t", "expiresAt": "1"}}',
    b'{"statusCode": 200.0, "message": "ok", "data": {"accessToken": "t", "expiresAt": "1"}}',
    b'{"statusCode": NaN, "message": "ok"}',
    b'{"statusCode": 1e999, "message": "ok"}',
    b'{"statusCode": ' + b"9" * 5000 + b', "message": "ok"}',
    b"[" * 100000 + b"]" * 100000,
    b'{"statusCode": 200, "message": "\xff\xfe", "data": {"accessToken": "t", "expiresAt": "1"}}',
    b'\xef\xbb\xbf{"statusCode": 200, "message": "ok", "data": {"accessToken": "t", '
    b'"expiresAt": "1"}}',
    b'{"statusCode": 200, "message": {"x": 1}, "data": {"accessToken": "t", "expiresAt": "1"}}',
    b'{"statusCode": 200, "message": "ok", "requestId": 7, "data": {"accessToken": "t", '
    b'"expiresAt": "1"}}',
    b'{"statusCode": 200, "message": "ok", "apiCode": "x", "data": {"accessToken": "t", '
    b'"expiresAt": "1"}}',
    b'{"statusCode": 200, "message": "ok", "data": {"accessToken": "", "expiresAt": "1"}}',
    b'{"statusCode": 200, "message": "ok", "data": {"accessToken": "t", "expiresAt": "-1"}}',
    b'{"statusCode": 200, "statusCode": 500, "message": "dup"}',
)
STATUSES = (
    201, 202, 204, 206, 299, 301, 302, 304, 307, 308, 400, 401, 403, 404, 405, 408, 409, 413,
    418, 422, 429, 451, 499, 500, 501, 502, 503, 504, 507, 520, 521, 522, 529, 599, 600, 999,
)  # fmt: skip
_BODYLESS = (204, 304)


def _status(code: int) -> bytes:
    if code in _BODYLESS:
        return _head(code, "No Body", [("Content-Length", "0")])
    body = _envelope(code, f"soak status {code}", apiCode=code * 10, requestId="req-soak")
    headers = [("Location", "https://elsewhere.example/")] if 300 <= code < 400 else []
    return _answer(code, body, headers=headers)


def _html(code: int) -> bytes:
    page = f"<html><body><h1>{code}</h1><p>proxy says no</p></body></html>".encode()
    return _answer(code, page, reason="Proxy Error", content_type="text/html")


def _retry_after(status: int, name: str, value: str, *, envelope: bool = False) -> bytes:
    code = 200 if envelope else status
    body = _envelope(status, "try later", requestId="req-soak")
    return _answer(code, body, headers=[(name, value)])


def _build() -> dict[str, Behaviour]:
    ok = _answer(200, _success(), reason="OK")
    found: dict[str, Behaviour] = {
        "ok": _send(ok),
        "ok201": _send(_answer(201, _success(), reason="Created")),
        "ok10": _close_after(_head(200, "OK", [], version="HTTP/1.0") + _success()),
        "okchunked": _send(_chunked(200, _success())),
        "ok103": _send(_head(103, "Early Hints", [("Link", "</x>; rel=preload")]) + ok),
        "okgzip": _send(
            _answer(200, gzip.compress(_success()), headers=[("Content-Encoding", "gzip")])
        ),
        # A second answer after the first, then the connection closed: httpcore drops an idle
        # connection that has become readable, so the next request goes on a new one. (One
        # kept open is h11's to handle: tests/unit/test_own_client.py shows what it does.)
        "okextra": _close_after(ok + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra"),
        "drop": _close_after(b""),
        "reset": _reset,
        "hang": _wait_for_close,
        "hangpartial": _partial_then_hang(b"HTTP/1.1 200 OK\r\nContent-Le"),
        "hangbody": _partial_then_hang(_head(200, "OK", [("Content-Length", "500")]) + b'{"s'),
        "trunc": _close_after(ok[:-40]),
        "truncchunked": _close_after(_chunked(200, _success(), cut=True)),
        "garbage": _close_after(b"SPDY/9 lol\r\n\r\n"),
        "http10err": _close_after(
            _head(503, "Unavailable", [("Content-Type", "text/html")], version="HTTP/1.0")
            + b"<html>down</html>"
        ),
        "slowbody": _trickle(ok, after=len(ok) - len(_success())),
        "slowheaders": _trickle(ok, after=5),
        "huge": _lazy(lambda: _huge_valid(chunked=False)),
        "hugechunked": _lazy(lambda: _huge_valid(chunked=True)),
        "gzipbomb": _lazy(_gzip_bomb),
        "hugeheaders": _send(_head(200, "OK", [("X-Big", "x" * 200_000), ("Content-Length", "0")])),
        "twocl": _close_after(
            _head(200, "OK", [("Content-Length", "3"), ("Content-Length", "40")]) + _success()
        ),
        "negcl": _close_after(_head(200, "OK", [("Content-Length", "-1")]) + _success()),
        "badchunk": _close_after(
            _head(200, "OK", [("Transfer-Encoding", "chunked")]) + b"zz\r\nabc\r\n0\r\n\r\n"
        ),
        "s101": _close_after(
            _head(101, "Switching Protocols", [("Upgrade", "soak"), ("Connection", "Upgrade")])
        ),
        "echoreason": _echo(
            lambda s: _answer(502, b"bad gateway", reason=f"Bad {s}", content_type="text/plain")
        ),
        "echoreasonjson": _echo(lambda s: _answer(500, _envelope(500, "x"), reason=f"E {s}")),
        "echomessage": _echo(lambda s: _answer(400, _envelope(400, f"bad appSecret {s}"))),
        "echorequestid": _echo(lambda s: _answer(503, _envelope(503, "x", requestId=s))),
        "echoenvelope": _echo(
            lambda s: _answer(200, _envelope(400, f"secret {s} wrong", requestId=s, apiCode=1))
        ),
        "echosuccessid": _echo(lambda s: _answer(200, _success(request_id=s))),
        "echoheader": _echo(lambda s: _answer(503, _envelope(503, "x"), headers=[("X-Echo", s)])),
        "echolocation": _echo(
            lambda s: _answer(302, b"", headers=[("Location", f"https://e.example/?s={s}")])
        ),
        "echohtml": _echo(lambda s: _answer(502, f"<p>{s}</p>".encode(), content_type="text/html")),
        "echodeprecation": _echo(
            lambda s: _answer(200, _success(), headers=[("Deprecation", "@1"), ("Link", f"<{s}>")])
        ),
    }
    for code in STATUSES:
        found[f"s{code}"] = _send(_status(code))
    for code in (200, 403, 404, 500, 502, 503, 520):
        found[f"html{code}"] = _send(_html(code))
    for index, value in enumerate(RETRY_AFTER):
        found[f"ra{index}"] = _send(_retry_after(503, "Retry-After", value))
        found[f"rae{index}"] = _send(_retry_after(503, "Retry-After", value, envelope=True))
    for index, value in enumerate(RETRY_AFTER_MS):
        found[f"ram{index}"] = _send(_retry_after(429, "retry-after-ms", value))
    for index, headers in enumerate(DEPRECATION):
        found[f"dep{index}"] = _send(_answer(200, _success(), reason="OK", headers=headers))
    for index, body in enumerate(BAD_SHAPES):
        found[f"shape{index}"] = _send(_answer(200, body, reason="OK"))
    return found


BEHAVIOURS: dict[str, Behaviour] = _build()


class _Server:
    def __init__(self) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1024)
        self.port: int = self.listener.getsockname()[1]
        self.counts: Counter[str] = Counter()
        self.unparsed = 0
        self.lock = threading.Lock()

    def serve(self) -> None:
        while True:
            sock, _ = self.listener.accept()
            threading.Thread(target=self._connection, args=(sock,), daemon=True).start()

    def _connection(self, sock: socket.socket) -> None:
        buffer = bytearray()
        try:
            while True:
                request = self._read_request(sock, buffer)
                if request is None or not self._answer(sock, request):
                    return
        except OSError:
            return  # the client went away mid-answer: normal for hangs and huge bodies
        finally:
            sock.close()

    def _read_request(self, sock: socket.socket, buffer: bytearray) -> Request | None:
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            buffer += chunk
        head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            rest += chunk
        body, remainder = rest[:length], rest[length:]
        buffer[:] = remainder
        try:
            parsed = json.loads(body)
            app_id, secret = str(parsed["appId"]), str(parsed["appSecret"])
        except (ValueError, KeyError, TypeError):
            with self.lock:
                self.unparsed += 1
            return Request(None, "")
        return Request(app_id, secret)

    def _answer(self, sock: socket.socket, request: Request) -> bool:
        if request.app_id is None:
            sock.sendall(_answer(400, b'{"statusCode": 400, "message": "unparsed"}'))
            return False
        with self.lock:
            self.counts[request.app_id] += 1
            seen = self.counts[request.app_id]
        _, _, plan_text = request.app_id.partition(":")
        plan = plan_text.split(",") if plan_text else ["ok"]
        name = plan[min(seen, len(plan)) - 1]
        return BEHAVIOURS[name](sock, request)

    def command(self, line: str) -> str:
        verb, _, argument = line.strip().partition(" ")
        with self.lock:
            if verb == "count":
                return str(self.counts[argument])
            if verb == "unparsed":
                return str(self.unparsed)
            if verb == "total":
                return str(sum(self.counts.values()) + self.unparsed)
        return "?"


def main() -> None:
    server = _Server()
    threading.Thread(target=server.serve, daemon=True).start()
    print(f"port {server.port}", flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        print(server.command(line), flush=True)


if __name__ == "__main__":
    main()
