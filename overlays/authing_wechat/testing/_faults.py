"""Scripted faults of the mock server, and the text syntax the CLI takes for them."""

from __future__ import annotations

import re
from typing import Any, Literal, NamedTuple

import attrs

from authing_wechat._core._validation import check_seconds

from ._paths import DEPRECATED_PATH, PATHS, SUCCESSOR_PATH

__all__ = ["FAULT_SPEC_HELP", "Fault", "FaultKind", "FaultSpec", "parse_fault_spec"]

FaultKind = Literal["status", "html", "truncated_json", "envelope_error", "delay", "drop"]

# Statuses whose responses carry no body: a fault page or envelope cannot ride on them.
_BODYLESS_STATUSES = frozenset({204, 205, 304})
_HEADER_VALUE = re.compile(r"[\x20-\x7e]*")
# The longest delay a fault may script: what a FakeClock can still advance by.
_MAX_DELAY = 1e10


def _error_status(value: object, name: str = "status_code") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 400 <= value <= 599:
        raise ValueError(f"{name} must be an int from 400 to 599, got {_shown(value)}")
    return value


def _page_status(value: object, name: str = "status_code") -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 200 <= value <= 599
        or value in _BODYLESS_STATUSES
    ):
        raise ValueError(
            f"{name} must be an int from 200 to 599 that has a body, got {_shown(value)}"
        )
    return value


def _shown(value: object) -> str:
    # An int is shown; anything else only by its type (it may be text a test did not mean).
    return repr(value) if isinstance(value, int) else type(value).__name__


def _seconds(value: object, name: str = "delay_seconds") -> float:
    # On a FakeClock any delay is instant; past its range it could never be slept.
    return check_seconds(name, value, maximum=_MAX_DELAY)


def _header_value(value: object, name: str) -> str | None:
    # Sent verbatim (malformed hints are a legitimate test input), but a CR/LF would break the
    # HTTP framing of the real server rather than test the client.
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
    if not _HEADER_VALUE.fullmatch(value):
        raise ValueError(f"{name} must be printable ASCII")
    return value


def _optional_int(value: object, name: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
    return value


def _optional_text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str or None, not {type(value).__name__}")
    try:
        value.encode("utf-8")  # it goes into a JSON body
    except UnicodeEncodeError:
        raise ValueError(f"{name} holds characters UTF-8 cannot encode") from None
    return value


def _field(check: Any) -> Any:
    # Direct Fault(...) construction is checked too, naming the attribute.
    def validate(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check(value, attribute.name)

    return validate


@attrs.frozen(kw_only=True)
class Fault:
    """One scripted misbehaviour of the mock server, answering one request in place of it.

    Make them with the constructors (``Fault.status(503)``, ``Fault.html(502)``, ...) and queue
    them with ``MockAuthingServer.add_fault``. Faults answer before the request is validated,
    as an outage or a proxy would.

    Attributes:
        kind: What the fault does; see the constructors.
        status_code: The HTTP status (``status``, ``html``, ``truncated_json``) or the
            envelope's ``statusCode`` (``envelope_error``); ``None`` for ``delay`` and ``drop``.
        retry_after: Value of a ``Retry-After`` header to send, verbatim, or ``None``.
        retry_after_ms: Value of a ``retry-after-ms`` header to send, verbatim, or ``None``.
        api_code: The envelope's ``apiCode``, or ``None`` to leave it out.
        message: The envelope's ``message``, or ``None`` for a stock one in the request's language.
        delay_seconds: How long the server waits before it answers (or drops the connection).
    """

    kind: FaultKind
    status_code: int | None = None
    retry_after: str | None = attrs.field(default=None, validator=_field(_header_value))
    retry_after_ms: str | None = attrs.field(default=None, validator=_field(_header_value))
    api_code: int | None = attrs.field(default=None, validator=_field(_optional_int))
    message: str | None = attrs.field(default=None, validator=_field(_optional_text))
    delay_seconds: float = attrs.field(default=0.0, validator=_field(_seconds))

    @classmethod
    def status(
        cls,
        status: int,
        *,
        retry_after: str | None = None,
        retry_after_ms: str | None = None,
        api_code: int | None = None,
        message: str | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Answer with HTTP ``status`` and the JSON error envelope (``statusCode`` = ``status``).

        Args:
            status: Any error status from 400 to 599, including 499, 520 and 529.
            retry_after: ``Retry-After`` header value (seconds or an HTTP-date), sent verbatim.
            retry_after_ms: ``retry-after-ms`` header value, sent verbatim.
            api_code: The envelope's ``apiCode``; left out when ``None``.
            message: The envelope's ``message``; a stock one when ``None``.
            delay: Seconds to wait before answering.

        Returns:
            The fault.

        Raises:
            ValueError: ``status`` is outside 400-599, a header value is not printable ASCII,
                or ``delay`` is negative or not finite.
        """
        return cls(
            kind="status",
            status_code=_error_status(status, "status"),
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            api_code=api_code,
            message=message,
            delay_seconds=_seconds(delay, "delay"),
        )

    @classmethod
    def html(
        cls,
        status: int = 502,
        *,
        retry_after: str | None = None,
        retry_after_ms: str | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Answer with an HTML error page (``text/html``), as a reverse proxy does.

        Args:
            status: The HTTP status, 200-599 (a 200 page is what a captive portal sends).
            retry_after: ``Retry-After`` header value, sent verbatim.
            retry_after_ms: ``retry-after-ms`` header value, sent verbatim.
            delay: Seconds to wait before answering.

        Returns:
            The fault.

        Raises:
            ValueError: ``status`` cannot carry a page, a header value is not printable ASCII,
                or ``delay`` is negative or not finite.
        """
        return cls(
            kind="html",
            status_code=_page_status(status, "status"),
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            delay_seconds=_seconds(delay, "delay"),
        )

    @classmethod
    def truncated_json(cls, *, status: int = 200, delay: float = 0.0) -> Fault:
        """Answer ``application/json`` whose body is a success envelope cut off half-way.

        Args:
            status: The HTTP status, 200 unless told.
            delay: Seconds to wait before answering.

        Returns:
            The fault.

        Raises:
            ValueError: ``status`` cannot carry a body, or ``delay`` is negative or not finite.
        """
        return cls(
            kind="truncated_json", status_code=_page_status(status, "status"), delay_seconds=delay
        )

    @classmethod
    def envelope_error(
        cls,
        status_code: int = 500,
        *,
        api_code: int | None = None,
        message: str | None = None,
        retry_after: str | None = None,
        retry_after_ms: str | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Answer HTTP 200 with an error envelope: a business failure such as ``statusCode`` 500.

        Args:
            status_code: The envelope's ``statusCode``, 400-599 (429 and 5xx are retryable).
            api_code: The envelope's ``apiCode``; left out when ``None``.
            message: The envelope's ``message``; a stock one when ``None``.
            retry_after: ``Retry-After`` header value, sent verbatim.
            retry_after_ms: ``retry-after-ms`` header value, sent verbatim.
            delay: Seconds to wait before answering.

        Returns:
            The fault.

        Raises:
            ValueError: ``status_code`` is outside 400-599, a header value is not printable
                ASCII, or ``delay`` is negative or not finite.
        """
        return cls(
            kind="envelope_error",
            status_code=_error_status(status_code),
            api_code=api_code,
            message=message,
            retry_after=retry_after,
            retry_after_ms=retry_after_ms,
            delay_seconds=_seconds(delay, "delay"),
        )

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        """Wait ``seconds``, then answer normally (use it to trip the client's timeout).

        Args:
            seconds: How long to wait, through the server's ``sleep`` (injectable).

        Returns:
            The fault.

        Raises:
            ValueError: ``seconds`` is negative or not finite.
        """
        return cls(kind="delay", delay_seconds=_seconds(seconds, "seconds"))

    @classmethod
    def drop(cls, *, delay: float = 0.0) -> Fault:
        """Close the connection without answering.

        The loopback server closes the socket; in-process (``httpx.ASGITransport``,
        ``MockAuthingTransport``) the call raises ``httpx.RemoteProtocolError``, the error
        httpx raises when a real server disconnects without a response.

        Args:
            delay: Seconds to wait before dropping.

        Returns:
            The fault.

        Raises:
            ValueError: ``delay`` is negative or not finite.
        """
        return cls(kind="drop", delay_seconds=_seconds(delay, "delay"))


class FaultSpec(NamedTuple):
    """A parsed fault spec; queue it with ``server.add_fault(path, fault, times=times)``."""

    path: str
    """The path whose requests the fault answers."""
    fault: Fault
    """The fault."""
    times: int | None
    """How many requests it answers; ``None`` for all of them."""


FAULT_SPEC_HELP = """\
fault SPEC syntax: ENDPOINT:KIND[:OPTION]...
  ENDPOINT  info (the successor path), legacy (the deprecated path), or a full path
  KIND      NNN             HTTP status NNN (400-599) with the JSON error envelope
            htmlNNN         an HTML error page with status NNN, as a proxy sends (html502)
            envelopeNNN     HTTP 200 whose envelope has statusCode NNN (envelope500)
            truncated       HTTP 200 application/json cut off half-way
            drop            close the connection without answering
            delay=SECONDS   wait, then answer normally
  OPTION    retry-after=VALUE     send Retry-After: VALUE (seconds or an HTTP-date)
            retry-after-ms=VALUE  send retry-after-ms: VALUE
            delay=SECONDS         wait this long before the fault answers
            xN                    answer the next N requests (default x1)
            always                answer every request from now on
  Faults of one endpoint answer its POST requests in the order given.
  examples: info:503:retry-after=2:x3  legacy:html502  info:drop  info:delay=1.5
            info:truncated  info:envelope500:always  info:429:retry-after-ms=250"""

_ENDPOINTS = {"info": SUCCESSOR_PATH, "successor": SUCCESSOR_PATH}
_ENDPOINTS.update({"legacy": DEPRECATED_PATH, "deprecated": DEPRECATED_PATH})
_KIND = re.compile(
    r"(?P<status>\d{3})|html(?P<html>\d{3})|envelope(?P<envelope>\d{3})"
    r"|(?P<truncated>truncated)|(?P<drop>drop)|delay=(?P<delay>[^:]+)"
)
_OPTION_NAMES = ("retry-after=", "retry-after-ms=", "delay=")
_TIMES = re.compile(r"x(?P<times>[1-9]\d*)|(?P<always>always)")


def _options(text: str) -> list[str]:
    # An HTTP-date (``Wed, 21 Oct 2015 07:28:00 GMT``) holds colons, so a token that does not
    # start a known option continues the previous option's value.
    options: list[str] = []
    for token in text.split(":") if text else []:
        if options and not (token.startswith(_OPTION_NAMES) or _TIMES.fullmatch(token)):
            options[-1] += ":" + token
        else:
            options.append(token)
    return options


def parse_fault_spec(text: str) -> FaultSpec:
    """Parse a fault in the CLI's text syntax (see ``FAULT_SPEC_HELP``), e.g. ``info:503:x3``.

    Args:
        text: ``ENDPOINT:KIND[:OPTION]...``.

    Returns:
        The path, the fault and how many requests it answers.

    Raises:
        ValueError: The text does not follow the syntax or names impossible values.
        TypeError: ``text`` is not a ``str``.
    """
    if not isinstance(text, str):
        raise TypeError(f"a fault spec must be a str, not {type(text).__name__}")
    endpoint, _, rest = text.strip().partition(":")
    path = _ENDPOINTS.get(endpoint, endpoint)
    if path not in PATHS:
        raise ValueError(f"unknown endpoint {endpoint!r} in fault {text!r}: use info or legacy")
    kind_text, _, option_text = rest.partition(":")
    kind = _KIND.fullmatch(kind_text)
    if kind is None:
        raise ValueError(f"unknown fault kind {kind_text!r} in fault {text!r}")
    times: int | None = 1
    headers: dict[str, str] = {}
    delay = 0.0
    for option in _options(option_text):
        name, _, value = option.partition("=")
        count = _TIMES.fullmatch(option)
        if count is not None:
            times = None if count["always"] else int(count["times"])
        elif name in {"retry-after", "retry-after-ms"} and value:
            headers[name.replace("-", "_")] = value
        elif name == "delay" and value:
            delay = _parse_seconds(value, text)
        else:
            raise ValueError(f"unknown option {option!r} in fault {text!r}")
    fault = _build(kind, headers, delay, text)
    return FaultSpec(path=path, fault=fault, times=times)


def _parse_seconds(value: str, text: str) -> float:
    try:
        return _seconds(float(value))
    except ValueError:
        raise ValueError(f"bad delay {value!r} in fault {text!r}") from None


def _build(kind: re.Match[str], headers: dict[str, str], delay: float, text: str) -> Fault:
    if kind["delay"] is not None:
        if headers:
            raise ValueError(f"a delay fault answers normally and takes no headers: {text!r}")
        return Fault.delay(_parse_seconds(kind["delay"], text) + delay)
    if kind["drop"] or kind["truncated"]:
        if headers:
            raise ValueError(f"retry hints need an answer with a status: {text!r}")
        if kind["drop"]:
            return Fault.drop(delay=delay)
        return Fault.truncated_json(delay=delay)
    after, after_ms = headers.get("retry_after"), headers.get("retry_after_ms")
    if kind["html"] is not None:
        return Fault.html(
            int(kind["html"]), delay=delay, retry_after=after, retry_after_ms=after_ms
        )
    if kind["envelope"] is not None:
        return Fault.envelope_error(
            int(kind["envelope"]), delay=delay, retry_after=after, retry_after_ms=after_ms
        )
    return Fault.status(
        int(kind["status"]), delay=delay, retry_after=after, retry_after_ms=after_ms
    )
