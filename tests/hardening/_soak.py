"""The soak's machinery: the hostile server's process, call plans, and the per-call checks.

The server (``_soak_server.py``) runs in its own process, so its threads and sockets never
count against the client's, and it is stopped by PID. Each call names its plan in the body's
``appId``; the server counts complete requests per ``appId``, which is how requests are matched
to calls whatever the scheduling.
"""

from __future__ import annotations

import logging
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
from authing_wechat import AuthingError, WechatAccessToken, testing

from tests import _support
from tests.hardening._soak_server import BEHAVIOURS, CANARY_TOKEN

__all__ = [
    "CANARIES",
    "CallRecord",
    "LeakWatch",
    "SoakServer",
    "leaked",
    "make_plan",
    "resource_snapshot",
    "soak_seed",
    "violations_of",
]

SEED_ENV = "AUTHING_WECHAT_SOAK_SEED"
CALLS_ENV = "AUTHING_WECHAT_SOAK_CALLS"
FIXED_SEED = 20260610
# Canaries that must never show up in anything the package makes (a token's own value aside).
CANARIES = {"secret": _support.SECRET, "token": CANARY_TOKEN}
_SERVER_SCRIPT = Path(__file__).with_name("_soak_server.py")
_NOT_THE_CLIENT = (
    str(Path(__file__).resolve().parent.parent),
    str(Path(testing.__file__).resolve().parent),
)


def _numbered(prefix: str) -> tuple[str, ...]:
    return tuple(name for name in BEHAVIOURS if re.fullmatch(prefix + r"[0-9]+", name))


# Behaviour families, and how often a plan step picks each (a weight, then its behaviours).
_FAMILIES: dict[str, tuple[int, tuple[str, ...]]] = {
    "success": (30, ("ok", "ok201", "ok10", "okchunked", "ok103", "okgzip", "okextra")),
    "deprecation": (6, _numbered("dep")),
    "status": (16, _numbered("s")),
    "retry_after": (6, _numbered("ra")),
    "retry_after_envelope": (4, _numbered("rae")),
    "retry_after_ms": (4, _numbered("ram")),
    "html": (4, _numbered("html")),
    "shape": (6, _numbered("shape")),
    "transport": (8, ("drop", "reset", "trunc", "truncchunked", "garbage", "http10err")),
    "framing": (4, ("hugeheaders", "twocl", "negcl", "badchunk")),
    "hang": (3, ("hang", "hangpartial", "hangbody")),
    "slow": (2, ("slowbody", "slowheaders")),
    "huge": (2, ("huge", "hugechunked", "gzipbomb")),
    "echo": (6, tuple(name for name in BEHAVIOURS if name.startswith("echo"))),
}


def soak_seed() -> int:
    """The seed: ``AUTHING_WECHAT_SOAK_SEED`` if set, else a fixed one (a random one under fuzz)."""
    text = os.environ.get(SEED_ENV, "").strip()
    if text:
        return int(text)
    if os.environ.get(CALLS_ENV, "").strip():
        return random.SystemRandom().randrange(2**32)
    return FIXED_SEED


def make_plan(rng: random.Random, steps: int) -> list[str]:
    """What the server does to each of a call's requests, one behaviour per attempt."""
    names = list(_FAMILIES)
    weights = [_FAMILIES[name][0] for name in names]
    plan = []
    for _ in range(steps):
        family = rng.choices(names, weights)[0]
        plan.append(rng.choice(_FAMILIES[family][1]))
    return plan


class SoakServer:
    """The hostile server's process: started on a free loopback port, stopped by PID."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, str(_SERVER_SCRIPT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lock = threading.Lock()
        first = self._read_line()
        self.url = f"http://127.0.0.1:{int(first.split()[1])}"

    def _read_line(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError("the soak server exited")
        return line

    def _ask(self, command: str) -> int:
        assert self._process.stdin is not None
        with self._lock:
            self._process.stdin.write(command + "\n")
            self._process.stdin.flush()
            return int(self._read_line())

    def unparsed(self) -> int:
        """Requests the server could not read an ``appId`` from."""
        return self._ask("unparsed")

    def count(self, app_id: str) -> int:
        """Complete requests the server has read with this ``appId``."""
        return self._ask(f"count {app_id}")

    def settle(self, *, quiet: float = 0.3, patience: float = 5.0) -> None:
        """Wait until the server has read no new request for ``quiet`` seconds.

        A request a client sent just before giving up may still sit unread in the server's
        socket buffer when the call returns.
        """
        give_up = time.monotonic() + patience
        last, since = self._ask("total"), time.monotonic()
        while time.monotonic() < give_up and time.monotonic() - since < quiet:
            time.sleep(0.05)
            total = self._ask("total")
            if total != last:
                last, since = total, time.monotonic()

    def stop(self) -> None:
        """Ask the process to quit, then end it by its PID."""
        process = self._process
        try:
            assert process.stdin is not None
            process.stdin.write("quit\n")
            process.stdin.close()
            process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            os.kill(process.pid, 9)
            process.wait()
        finally:
            if process.stdout is not None:
                process.stdout.close()


def leaked(text: str) -> list[str]:
    """Which canaries ``text`` holds: ``"secret"``, ``"token"``, both or none."""
    return [name for name, canary in CANARIES.items() if canary in text]


def _around(text: str, canary: str) -> str:
    # The line that holds the canary, so a report shows where it came from.
    line = next(line for line in text.splitlines() if canary in line)
    return line.strip()[:200]


def _chain(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _safe(render: Any, value: object) -> str:
    try:
        return str(render(value))
    except Exception as exc:  # a half-built object in some library's frame
        return f"<{render.__name__} failed: {type(exc).__name__}>"


def traceback_with_locals(error: BaseException) -> str:
    """What a debugger or an error tracker shows: every chained error, every frame's locals.

    ``traceback.TracebackException(capture_locals=True)`` stops at the first local whose
    ``repr`` raises; error trackers skip it and go on, and so does this. The tests' own frames
    are left out (they hold the canaries they pass in), and so are the frames of the mock
    server in ``authing_wechat.testing``, which an in-process transport runs inside the call:
    they are the server's, which received the secret.
    """
    parts = []
    for link in _chain(error):
        parts.append(f"{type(link).__name__}: {_safe(str, link)}")
        frame = link.__traceback__
        while frame is not None:
            code = frame.tb_frame.f_code
            if not code.co_filename.startswith(_NOT_THE_CLIENT):
                parts.append(f'  File "{code.co_filename}", line {frame.tb_lineno}')
                parts += [f"    {k} = {_safe(repr, v)}" for k, v in frame.tb_frame.f_locals.items()]
            frame = frame.tb_next
    return "\n".join(parts)


def _request_content(error: BaseException) -> bytes:
    try:
        request = error.request  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):  # httpx raises RuntimeError when none was set
        return b""
    content = getattr(request, "content", b"")
    return content if isinstance(content, bytes) else b""


def _error_leaks(error: BaseException) -> list[str]:
    found = []
    for where, text in (("str(error)", str(error)), ("repr(error)", repr(error))):
        found += [f"{name} leaks into {where}" for name in leaked(text)]
    # Only the secret here: raw response bytes (a token among them) sit in httpcore's and h11's
    # frames of any failed read, which the package does not own.
    formatted = traceback_with_locals(error)
    if _support.SECRET in formatted:
        found.append(
            f"secret leaks into the traceback with locals: {_around(formatted, _support.SECRET)}"
        )
    for index, link in enumerate(_chain(error)):
        content = _request_content(link).decode("utf-8", "replace")
        owner = "error.request" if index == 0 else f"chained {type(link).__name__}.request"
        found += [f"{name} leaks into {owner}.content" for name in leaked(content)]
    return found


def _token_leaks(token: WechatAccessToken) -> list[str]:
    found = []
    for where, text in (
        ("repr(token)", repr(token)),
        ("str(token)", str(token)),
        ("token.request_id", str(token.request_id)),
        ("repr(token.deprecation)", repr(token.deprecation)),
    ):
        found += [f"{name} leaks into {where}" for name in leaked(text)]
    return found


@attrs.define
class CallRecord:
    """One call of the soak: what it was asked to meet and what it did."""

    label: str
    app_id: str
    deadline: float
    outcome: object = None
    elapsed: float = 0.0
    seen: int | None = None
    hung: bool = False
    # How late the event loop woke during the call (async): a timer cannot fire before the loop
    # runs it, so this much is the test process's own load, not the client's.
    loop_lag: float = 0.0


def violations_of(record: CallRecord, slack: float) -> list[str]:
    """Every promise the call broke, one line each (the class of the failure first)."""
    found: list[str] = []
    outcome = record.outcome
    attempts: int | None = None
    if record.hung:
        found.append("hung: the call did not return")
    elif isinstance(outcome, WechatAccessToken):
        attempts = outcome.attempts
        found += _token_leaks(outcome)
    elif isinstance(outcome, AuthingError):
        attempts = outcome.attempts
        found += _error_leaks(outcome)
    elif isinstance(outcome, BaseException):
        found.append(f"escaped: {type(outcome).__name__} is not an AuthingError")
        found += _error_leaks(outcome)
    else:
        found.append(f"returned {type(outcome).__name__}, not a WechatAccessToken")
    if attempts is not None and record.seen is not None and attempts != record.seen:
        found.append(f"attempts mismatch: attempts={attempts}, server saw {record.seen}")
    # The sync client bounds a trickling status line and headers per read only (the client
    # guide says why): such a call ends at the body, past its deadline.
    trickled_headers = record.label.startswith("sync") and "'slowheaders'" in record.label
    if record.elapsed > record.deadline + slack + record.loop_lag and not trickled_headers:
        found.append(
            f"over deadline: {record.elapsed:.2f}s for a deadline of {record.deadline}s "
            f"(the event loop ran up to {record.loop_lag:.2f}s late meanwhile)"
        )
    return found


class LeakWatch(logging.Handler):
    """Sees every log record of every logger at DEBUG and keeps those holding a canary."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.records = 0
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records += 1
        text = self.format(record) + repr(record.args)
        if record.exc_info and record.exc_info[1] is not None:
            text += traceback_with_locals(record.exc_info[1])
        for name in leaked(text):
            self.leaks.append(
                f"{name} leaks into a log record of {record.name!r}: {record.getMessage()[:160]}"
            )

    @contextmanager
    def watching(self) -> Iterator[LeakWatch]:
        """Attach to the root logger, with httpx, httpcore and the package at DEBUG."""
        names = ("", "httpx", "httpcore", "authing_wechat")
        loggers = [logging.getLogger(name) for name in names]
        levels = [logger.level for logger in loggers]
        root = loggers[0]
        # Alone on the root logger: pytest's own capture would format (and later print) every
        # httpcore DEBUG record of thousands of calls.
        others = root.handlers[:]
        root.handlers[:] = [self]
        for logger in loggers:
            logger.setLevel(logging.DEBUG)
        try:
            yield self
        finally:
            root.handlers[:] = others
            for logger, level in zip(loggers, levels, strict=True):
                logger.setLevel(level)


def resource_snapshot() -> tuple[dict[str, str], list[str]]:
    """Open file descriptors (number to target) and live threads (names)."""
    fds: dict[str, str] = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor, closed by now
            continue
    return fds, sorted(thread.name for thread in threading.enumerate())


def settle_resources(
    baseline: tuple[dict[str, str], list[str]], *, patience: float = 3.0
) -> list[str]:
    """Wait for descriptors and threads to return to ``baseline``; what is still extra."""
    import gc

    give_up = time.monotonic() + patience
    while True:
        gc.collect()
        fds, threads = resource_snapshot()
        extra_fds = sorted(set(fds.items()) - set(baseline[0].items()))
        extra_threads = (
            sorted(set(threads) - set(baseline[1])) if len(threads) > len(baseline[1]) else []
        )
        if (not extra_fds and not extra_threads) or time.monotonic() > give_up:
            break
        time.sleep(0.05)
    found = [f"file descriptor leak: {fd} -> {target}" for fd, target in extra_fds]
    found += [f"thread leak: {name}" for name in extra_threads]
    return found


def describe(outcome: Any) -> str:
    """A short account of an outcome for the failure report."""
    if isinstance(outcome, WechatAccessToken):
        return f"token (attempts={outcome.attempts})"
    if isinstance(outcome, BaseException):
        return f"{type(outcome).__name__}: {str(outcome)[:160]}"
    return repr(outcome)
