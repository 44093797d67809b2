"""A client's constructor arguments, checked once, in one frozen record: ``with_options()`` is
``attrs.evolve`` on it, and what every request needs is derived from it once.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from typing import Any, Literal

import attrs
import httpx

from ._body import ACCEPT_ENCODING
from ._clock import Clock
from ._deprecation import DEPRECATION_POLICIES, DeprecationPolicy
from ._models import DeprecationNotice
from ._retry import DEFAULT_RETRY, RetryPolicy
from ._secret import Secret
from ._validation import (
    bool_validator,
    check_clock,
    optional_callable_validator,
    seconds_validator,
)

__all__ = [
    "BRANDS",
    "DEFAULT_RETRY",
    "Brand",
    "ClientOptions",
    "check_credentials",
    "langs",
    "user_agent",
]

Brand = Literal["authing", "genauth"]
BRANDS: tuple[Brand, ...] = ("authing", "genauth")


@functools.cache
def langs() -> tuple[str, ...]:
    """The languages the spec allows, from the generated enum (imported on first use: the
    generated package is not part of importing the client)."""
    from authing_wechat_client.models import Lang  # noqa: PLC0415

    return tuple(str(member) for member in Lang)


# The generated request builders' keyword names for each cloud's headers.
_BRAND_KWARGS: dict[str, tuple[str, str]] = {
    "authing": ("x_authing_app_id", "x_authing_lang"),
    "genauth": ("x_genauth_app_id", "x_genauth_lang"),
}
# DNS: labels of 1-63 characters, 253 in all (RFC 1035); httpx accepts longer ones that then
# fail on every attempt (a UnicodeError from the idna codec).
_HOST_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")


@functools.cache
def user_agent() -> str:
    """``authing-wechat/<version> python-httpx/<version>``: operators can tell this client from
    the official SDKs and bare httpx."""
    from authing_wechat import __version__  # noqa: PLC0415 - metadata is read on first use, not at import

    return f"authing-wechat/{__version__} python-httpx/{httpx.__version__}"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_header_text(name: str, value: object) -> str:
    """Return ``value`` if an HTTP/1.1 header can carry it as it is: a ``TypeError`` for a
    non-``str``, a ``ValueError`` if blank or not printable ASCII without surrounding spaces
    (refused here, not retried as a transport error on every call); never echo it."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty or blank")
    if value != value.strip() or not (value.isascii() and value.isprintable()):
        raise ValueError(
            f"{name} must be printable ASCII without line breaks or leading/trailing spaces"
        )
    return value


def check_credentials(app_id: object, app_secret: Secret) -> None:
    """Raise before any request if the WeChat app id or secret cannot be sent, naming the
    argument, never its value: ``TypeError`` for a non-``str``, ``ValueError`` for an empty or
    blank one, or text JSON cannot carry as UTF-8 (a lone surrogate)."""
    for name, value in (("app_id", app_id), ("app_secret", app_secret.reveal())):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, not {type(value).__name__}")
        if not value.strip():
            raise ValueError(f"{name} must not be empty or blank")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            # The codec's own error would carry the whole text in its repr.
            raise ValueError(f"{name} holds characters UTF-8 cannot encode") from None


def _check_host(host: str) -> None:
    if ":" in host:  # an IPv6 literal; httpx has checked its syntax
        return
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            "app_host's host name is not valid: labels of 1-63 letters, digits or hyphens, "
            "253 characters in all"
        )


def _base_url(app_host: str, *, allow_insecure_http: bool) -> str:
    try:
        url = httpx.URL(app_host.strip())
        host = url.raw_host.decode("ascii")
        port = url.port
    except (httpx.InvalidURL, UnicodeError, ValueError):
        # The value itself is not echoed: it may carry credentials.
        raise ValueError("app_host is not a valid URL") from None
    if url.userinfo:
        raise ValueError("app_host must not carry credentials (user:password@)")
    if url.scheme not in ("https", "http") or not host:
        raise ValueError(
            "app_host must be an https:// URL with a host, like https://example.authing.cn"
        )
    _check_host(host)
    if port is not None and not 0 < port <= 65535:
        raise ValueError("app_host's port must be 1-65535")
    if url.query or url.fragment:
        raise ValueError("app_host must not carry a query or fragment")
    if not (url.path.isascii() and url.path.isprintable()):
        raise ValueError("app_host's path must be printable ASCII")
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ValueError(
            f"app_host {url.scheme}://{url.host} uses plain http:// to a non-loopback host, "
            "which would send the WeChat app secret unencrypted; use https://, or pass "
            "allow_insecure_http=True"
        )
    return str(url.copy_with(path=url.path.rstrip("/") or "")).rstrip("/")


def _str_validator(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be a str, not {type(value).__name__}")


def _choice_validator(
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]], *, optional: bool = False
) -> Any:
    def validate(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is None and optional:
            return
        allowed = choices() if callable(choices) else choices
        if not isinstance(value, str) or value not in allowed:
            shown = f"one of {allowed}" + (" or None" if optional else "")
            got = repr(value) if isinstance(value, str) else type(value).__name__
            raise ValueError(f"{attribute.name} must be {shown}, not {got}")

    return validate


def _retry_validator(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and not isinstance(value, RetryPolicy):
        raise TypeError(f"retry must be a RetryPolicy or None, not {type(value).__name__}")


def _clock_validator(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    check_clock(attribute.name, value)


def _connections_validator(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{attribute.name} must be an int, not {type(value).__name__}")
    if not 1 <= value <= 10_000:
        raise ValueError(f"{attribute.name} must be from 1 to 10000, not {value!r}")


def _app_id_validator(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    app_id = check_header_text(attribute.name, value)
    if " " in app_id:  # the spec's pattern for app ids: visible ASCII, no spaces
        raise ValueError(f"{attribute.name} must not contain spaces")


def _token_validator(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        check_header_text(attribute.name, value)


@attrs.frozen(kw_only=True)
class ClientOptions:
    """The constructor arguments of both clients (``http_client`` aside), checked
    (``TypeError``, ``ValueError``), and what every request carries, derived from them."""

    app_host: str = attrs.field(validator=_str_validator, repr=False)
    authing_app_id: str = attrs.field(validator=_app_id_validator)
    brand: Brand = attrs.field(default="authing", validator=_choice_validator(BRANDS))
    # A user's credential: never shown.
    access_token: str | None = attrs.field(default=None, validator=_token_validator, repr=False)
    lang: str | None = attrs.field(default=None, validator=_choice_validator(langs, optional=True))
    timeout: float = attrs.field(default=10.0, validator=seconds_validator(positive=True))
    retry: RetryPolicy | None = attrs.field(default=DEFAULT_RETRY, validator=_retry_validator)
    deprecated: DeprecationPolicy = attrs.field(
        default="warn", validator=_choice_validator(DEPRECATION_POLICIES)
    )
    allow_insecure_http: bool = attrs.field(default=False, validator=bool_validator)
    on_deprecation: Callable[[DeprecationNotice], None] | None = attrs.field(
        default=None, validator=optional_callable_validator, repr=False
    )
    clock: Clock | None = attrs.field(default=None, validator=_clock_validator, repr=False)
    pool_timeout: float = attrs.field(default=30.0, validator=seconds_validator(positive=True))
    max_connections: int = attrs.field(default=100, validator=_connections_validator)

    base_url: str = attrs.field(init=False)
    # Keyword arguments for the generated request builders: the cloud's app-id and lang headers.
    header_kwargs: dict[str, Any] = attrs.field(init=False, repr=False)
    # Headers the generator does not send: the security scheme's Authorization, User-Agent.
    extra_headers: dict[str, str] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        app_id_kw, lang_kw = _BRAND_KWARGS[self.brand]
        header_kwargs: dict[str, Any] = {app_id_kw: self.authing_app_id}
        if self.lang is not None:
            from authing_wechat_client.models import Lang  # noqa: PLC0415 - see langs()

            header_kwargs[lang_kw] = Lang(self.lang)
        extra_headers: dict[str, str] = {
            "User-Agent": user_agent(),
            # Only what the bounded body reader decodes (see _body).
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        if self.access_token is not None:
            # Raw value, no "Bearer" prefix: what the Authing servers and official SDKs expect.
            extra_headers["Authorization"] = self.access_token
        base_url = _base_url(self.app_host, allow_insecure_http=self.allow_insecure_http)
        # Frozen: the derived fields are set once, here, and never again.
        object.__setattr__(self, "base_url", base_url)
        object.__setattr__(self, "header_kwargs", header_kwargs)
        object.__setattr__(self, "extra_headers", extra_headers)
