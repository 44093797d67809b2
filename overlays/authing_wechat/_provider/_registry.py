"""One token provider per WeChat app and client: the client's provider registry."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import attrs

from authing_wechat._core._secret import Secret

__all__ = ["ProviderRegistry"]

_ProviderT = TypeVar("_ProviderT")


@attrs.frozen
class _Entry(Generic[_ProviderT]):
    secret_digest: bytes = attrs.field(repr=False)
    settings: Hashable
    provider: _ProviderT


class ProviderRegistry(Generic[_ProviderT]):
    """The providers of one client, keyed by WeChat app id.

    Two providers for one app would race each other's refreshes, so asking again with the same
    secret and settings returns the same provider. The secret itself is not kept: a keyed digest
    of it (the key is random per registry) is enough to tell whether it is the same one.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._entries: dict[str, _Entry[_ProviderT]] = {}
        self._lock = threading.Lock()

    def _digest(self, secret: Secret) -> bytes:
        # surrogatepass: a secret is compared as given; refusing it is check_credentials' job.
        plain = secret.reveal().encode("utf-8", "surrogatepass")
        return hmac.new(self._key, plain, hashlib.sha256).digest()

    def get_or_make(
        self,
        app_id: str,
        secret: Secret,
        settings: Hashable,
        make: Callable[[], _ProviderT],
    ) -> _ProviderT:
        """The provider for ``app_id``, made by ``make()`` on first use.

        Raises:
            ValueError: A provider for ``app_id`` exists with another secret or settings.
        """
        digest = self._digest(secret)
        with self._lock:
            entry = self._entries.get(app_id)
            if entry is None:
                entry = _Entry(digest, settings, make())
                self._entries[app_id] = entry
                return entry.provider
        if not hmac.compare_digest(entry.secret_digest, digest) or entry.settings != settings:
            raise ValueError(
                f"this client already has a token provider for app_id {app_id!r} with another "
                "app_secret or other settings; use that one"
            )
        return entry.provider

    def providers(self) -> list[_ProviderT]:
        """Every provider made so far."""
        with self._lock:
            return [entry.provider for entry in self._entries.values()]
