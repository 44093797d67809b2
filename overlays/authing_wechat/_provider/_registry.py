"""One token provider per WeChat app and client: the client's provider registry."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from authing_wechat._core._secret import Secret

__all__ = ["ProviderRegistry"]

_ProviderT = TypeVar("_ProviderT")


class ProviderRegistry(Generic[_ProviderT]):
    """The providers of one client, keyed by WeChat app id: two for one app would race each
    other's refreshes. Only a keyed digest of each secret is kept, to tell if it is the same.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        # app id: (digest of the secret, settings, provider)
        self._entries: dict[str, tuple[bytes, Hashable, _ProviderT]] = {}
        self._lock = threading.Lock()

    def get_or_make(
        self, app_id: str, secret: Secret, settings: Hashable, make: Callable[[], _ProviderT]
    ) -> _ProviderT:
        """The provider for ``app_id``, made by ``make()`` on first use; a ``ValueError`` if
        one exists with another secret or settings."""
        # surrogatepass: a secret is compared as given; refusing it is check_credentials' job.
        plain = secret.reveal().encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, plain, hashlib.sha256).digest()
        with self._lock:
            if app_id not in self._entries:
                self._entries[app_id] = (digest, settings, make())
                return self._entries[app_id][2]
            known, known_settings, provider = self._entries[app_id]
        if not hmac.compare_digest(known, digest) or known_settings != settings:
            raise ValueError(
                f"this client already has a token provider for app_id {app_id!r} with another "
                "app_secret or other settings; use that one"
            )
        return provider

    def providers(self) -> list[_ProviderT]:
        """Every provider made so far."""
        with self._lock:
            return [entry[2] for entry in self._entries.values()]
