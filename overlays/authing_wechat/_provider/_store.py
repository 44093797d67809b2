"""Shared token stores: what a provider needs from an engine to share one token per fleet
(``RedisTokenStore`` on redis-py; implement ``TokenStore`` or ``AsyncTokenStore`` for another)."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

import attrs

from authing_wechat._core._models import WechatAccessToken, mask_token
from authing_wechat._core._secret import Secret

__all__ = ["AsyncStoreLock", "AsyncTokenStore", "StoreLock", "StoredToken", "TokenStore",
           "check_lock_timeout", "store_key"]  # fmt: skip

logger = logging.getLogger("authing_wechat")


@attrs.frozen(kw_only=True)
class StoredToken:
    """One shared token, as a store keeps it (never the app secret).

    Attributes:
        access_token: The WeChat access token.
        expires_at: When it expires, epoch seconds.
        requested_at: When the request that got it from Authing was sent, epoch seconds (by
            the clock of the process that sent it); it orders two writes of one token.
        data: The answer's ``data`` as JSON (``WechatAccessToken.data.to_dict()``), for a store
            to keep as it is; ``None`` (an entry that has none) makes it of the token's fields.
        fallback: Whether the token came from WeChat's stable_token, not from Authing.
    """

    access_token: str = attrs.field(repr=mask_token)
    expires_at: float
    requested_at: float
    data: dict[str, Any] | None = attrs.field(default=None, repr=False)
    fallback: bool = False

    @classmethod
    def of(cls, token: WechatAccessToken, *, requested_at: float) -> StoredToken:
        """The entry that keeps ``token``, its ``data`` included."""
        return cls(
            access_token=token.access_token,
            expires_at=token.expires_at.timestamp(),
            requested_at=requested_at,
            data=token.data.to_dict(),
            fallback=token.fallback,
        )

    def to_token(self) -> WechatAccessToken:
        """The token this entry holds, ``data`` included (``attempts`` 0: no request made)."""
        from authing_wechat_client.models import GetWechatAccessTokenDataDto  # noqa: PLC0415

        expires_at = datetime.fromtimestamp(self.expires_at, UTC)
        token = WechatAccessToken(
            access_token=self.access_token,
            expires_at=expires_at,
            attempts=0,
            fallback=self.fallback,
        )
        try:  # an entry of another version, or made by hand: data that does not fit is made anew
            data = GetWechatAccessTokenDataDto.from_dict(self.data or {})
        except (KeyError, TypeError, ValueError, AttributeError):
            return token
        return attrs.evolve(token, data=data) if data.access_token == self.access_token else token

    def newer_than(self, other: StoredToken) -> bool:
        """Whether this entry should replace ``other`` (what ``save`` compares, atomically)."""
        return (self.expires_at, self.requested_at) > (other.expires_at, other.requested_at)


@runtime_checkable
class StoreLock(Protocol):
    """A lock taken by ``TokenStore.try_lock``; it expires after the store's ``lock_timeout``."""

    def release(self) -> None:
        """Release the lock if this holder still owns it; otherwise do nothing."""


@runtime_checkable
class TokenStore(Protocol):
    """Where the processes of a fleet share one token per WeChat app (blocking I/O). Any
    exception a method raises is a cache miss (the store is skipped a while): fail fast.

    Attributes:
        lock_timeout: Seconds a lock lives unless released; also how long a provider waits
            for another process's refresh before asking Authing itself.
    """

    @property
    def lock_timeout(self) -> float:
        """Seconds a lock taken by ``try_lock`` lives unless released."""

    def load(self, key: str) -> StoredToken | None:
        """The entry under ``key``, or ``None``."""

    def save(self, key: str, token: StoredToken) -> bool:
        """Write ``token`` under ``key`` only if it is ``newer_than`` the entry there (compared
        and written atomically; the entry expires with the token); whether it was written."""

    def discard(self, key: str, access_token: str) -> bool:
        """Delete the entry under ``key`` only while it holds ``access_token``, atomically;
        whether it was deleted."""

    def try_lock(self, key: str) -> StoreLock | None:
        """Take the refresh lock of ``key`` without waiting (SET NX PX, or the like): the held
        lock, or ``None`` if another holder has it."""


@runtime_checkable
class AsyncStoreLock(Protocol):
    """A lock taken by ``AsyncTokenStore.try_lock``."""

    async def release(self) -> None:
        """Release the lock if this holder still owns it; otherwise do nothing."""


@runtime_checkable
class AsyncTokenStore(Protocol):
    """The asyncio twin of ``TokenStore``: the same methods, awaited."""

    @property
    def lock_timeout(self) -> float:
        """Seconds a lock taken by ``try_lock`` lives unless released."""

    async def load(self, key: str) -> StoredToken | None:
        """See ``TokenStore.load``."""

    async def save(self, key: str, token: StoredToken) -> bool:
        """See ``TokenStore.save``."""

    async def discard(self, key: str, access_token: str) -> bool:
        """See ``TokenStore.discard``."""

    async def try_lock(self, key: str) -> AsyncStoreLock | None:
        """See ``TokenStore.try_lock``."""


def store_key(*, host: str, authing_app_id: str, app_id: str, app_secret: Secret) -> str:
    """The key of one WeChat app's entry, the same in every process configured alike: the
    cloud host, the Authing app, the WeChat app and a keyed fingerprint of the secret (another
    secret, another entry; the key reveals nothing usable about the secret)."""
    names = [quote(part, safe="") for part in (host, authing_app_id, app_id)]
    fingerprint = hmac.new(
        "\0".join(names).encode(), app_secret.reveal().encode("utf-8", "surrogatepass"), sha256
    ).hexdigest()[:16]
    return ":".join(["token", *names, fingerprint])


def check_lock_timeout(store: TokenStore | AsyncTokenStore, *, longest_refresh: float) -> None:
    """Say (INFO, not a warning: the newer token still wins) when ``store``'s lock may expire
    before the client's longest call ends, letting a second process ask Authing too."""
    lock_timeout = float(store.lock_timeout)
    if lock_timeout < longest_refresh:
        logger.info("the token store's lock_timeout (%gs) is shorter than the longest refresh "
                    "of this client (%gs: attempts x timeout plus the waits its retry policy "
                    "allows); give the store a longer lock_timeout, or bound the client's calls "
                    "with RetryPolicy(deadline=...) below it",
                    lock_timeout, longest_refresh)  # fmt: skip
