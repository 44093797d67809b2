"""Constructor arguments, checked once and frozen: the part of a client that never changes."""

from __future__ import annotations

import ipaddress
import math
from typing import Any, Literal

import attrs
import httpx
from authing_wechat_client.models import Lang

from ._secret import Secret

__all__ = ["BRANDS", "Brand", "ClientSettings", "check_credentials"]

Brand = Literal["authing", "genauth"]
BRANDS: tuple[Brand, ...] = ("authing", "genauth")
# The generated request builders' keyword names for each cloud's headers.
_BRAND_KWARGS: dict[str, tuple[str, str]] = {
    "authing": ("x_authing_app_id", "x_authing_lang"),
    "genauth": ("x_genauth_app_id", "x_genauth_lang"),
}


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_header_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must not be empty or blank")
    # What an HTTP/1.1 header can carry as sent: refused here rather than failing (and being
    # retried) as a transport error on every call.
    if value != value.strip() or not (value.isascii() and value.isprintable()):
        raise ValueError(
            f"{name} must be printable ASCII without line breaks or leading/trailing spaces"
        )
    return value


def check_credentials(app_id: object, app_secret: Secret) -> None:
    """Raise before any request if the WeChat app id or secret is not a non-blank str.

    The messages name the argument, never its value.
    """
    for name, value in (("app_id", app_id), ("app_secret", app_secret.reveal())):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, not {type(value).__name__}")
        if not value.strip():
            raise ValueError(f"{name} must not be empty or blank")


def _base_url(app_host: object, *, allow_insecure_http: bool) -> str:
    if not isinstance(app_host, str):
        raise TypeError(f"app_host must be a str, not {type(app_host).__name__}")
    try:
        url = httpx.URL(app_host.strip())
    except httpx.InvalidURL as exc:
        raise ValueError(f"app_host is not a valid URL: {exc}") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise ValueError(
            f"app_host must be an https:// URL with a host, like https://example.authing.cn; "
            f"got {app_host!r}"
        )
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ValueError(
            f"app_host {app_host!r} uses plain http:// to a non-loopback host, which would send "
            "the WeChat app secret unencrypted; use https://, or pass allow_insecure_http=True"
        )
    if url.query or url.fragment or url.userinfo:
        raise ValueError("app_host must not carry a query, fragment or credentials")
    return str(url.copy_with(path=url.path.rstrip("/") or "")).rstrip("/")


def _check_timeout(timeout: object) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"timeout must be a number of seconds, not {type(timeout).__name__}")
    if not math.isfinite(timeout) or timeout <= 0:
        raise ValueError(f"timeout must be a positive, finite number of seconds, not {timeout!r}")
    return float(timeout)


@attrs.frozen(kw_only=True)
class ClientSettings:
    """What a client sends with every call, derived once from its constructor arguments."""

    base_url: str
    brand: Brand
    timeout: float
    # Keyword arguments for the generated request builders: the cloud's app-id and lang headers.
    header_kwargs: dict[str, Any] = attrs.field(repr=False)
    # Headers the spec models as a security scheme (ignored by the generator).
    extra_headers: dict[str, str] = attrs.field(repr=False)

    @classmethod
    def build(
        cls,
        *,
        app_host: object,
        authing_app_id: object,
        brand: object,
        access_token: object,
        lang: object,
        timeout: object,
        allow_insecure_http: bool,
    ) -> ClientSettings:
        """Check every argument and derive the settings.

        Raises:
            ValueError: An argument has the right type but a value that cannot work.
            TypeError: An argument has the wrong type.
        """
        if brand not in BRANDS:
            raise ValueError(f"brand must be one of {BRANDS}, not {brand!r}")
        app_id_kw, lang_kw = _BRAND_KWARGS[str(brand)]
        app_id = _check_header_text("authing_app_id", authing_app_id)
        if " " in app_id:  # the spec's pattern for app ids: visible ASCII, no spaces
            raise ValueError("authing_app_id must not contain spaces")
        header_kwargs: dict[str, Any] = {app_id_kw: app_id}
        if lang is not None:
            try:
                header_kwargs[lang_kw] = Lang(str(lang))
            except ValueError:
                choices = tuple(str(member) for member in Lang)
                raise ValueError(f"lang must be None or one of {choices}, not {lang!r}") from None
        extra_headers: dict[str, str] = {}
        if access_token is not None:
            # Raw value, no "Bearer" prefix: what the Authing servers and official SDKs expect.
            extra_headers["Authorization"] = _check_header_text("access_token", access_token)
        return cls(
            base_url=_base_url(app_host, allow_insecure_http=allow_insecure_http),
            brand="genauth" if brand == "genauth" else "authing",
            timeout=_check_timeout(timeout),
            header_kwargs=header_kwargs,
            extra_headers=extra_headers,
        )
