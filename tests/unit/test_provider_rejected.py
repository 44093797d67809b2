"""The provider's side of a token WeChat rejected: ``invalidate(token)`` acts only on the
cached token (WxJava's rule), and after ``invalidate(token, rejected=True)`` a refresh that
brings that token back is a failed refresh: ``WechatTokenRejectedError`` at once for every
caller, and the failure backoff. A plain ``invalidate(token)`` takes back what comes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from authing_wechat import WechatAccessToken, WechatTokenRejectedError
from authing_wechat.testing import FakeClock

from tests._provider_support import MemoryStore, ProviderDriver, Upstream


@pytest.fixture(params=["sync", "async"])
def pdriver(request: pytest.FixtureRequest) -> Iterator[ProviderDriver]:
    made = ProviderDriver(request.param)
    yield made
    made.close()


class SameToken(Upstream):
    """Authing with one cached token, handed out until ``renew()``."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.current = "CANARY-cached-token-1"

    def renew(self) -> None:
        self.current = f"CANARY-cached-token-{self.count + 1}"

    def _answer(self) -> WechatAccessToken:
        expires = datetime.fromtimestamp(self.clock.time() + 7200, UTC)
        return WechatAccessToken(access_token=self.current, expires_at=expires)


def test_a_rejected_token_brought_back_fails_and_backs_off(pdriver: ProviderDriver) -> None:
    upstream = SameToken(FakeClock())
    provider = pdriver.provider(upstream)
    bad = pdriver.get(provider)
    pdriver.invalidate(provider, bad, rejected=True)
    with pytest.raises(WechatTokenRejectedError) as caught:
        pdriver.get(provider)
    assert caught.value.errcode is None
    assert caught.value.app_id == "wx1"
    assert bad.access_token not in str(caught.value)
    assert upstream.count == 2
    for _ in range(5):  # in the backoff: at once, no request
        with pytest.raises(WechatTokenRejectedError):
            pdriver.get(provider)
    assert upstream.count == 2
    upstream.clock.advance(1)
    with pytest.raises(WechatTokenRejectedError):
        pdriver.get(provider)  # asked again after 1 s: the same token again
    assert upstream.count == 3
    upstream.renew()
    upstream.clock.advance(2)
    assert pdriver.get(provider).access_token != bad.access_token
    stats = provider.stats()
    assert stats.consecutive_failures == 0
    assert stats.blocking.failed == 2


def test_a_bare_invalidate_takes_back_what_authing_answers(pdriver: ProviderDriver) -> None:
    upstream = SameToken(FakeClock())
    provider = pdriver.provider(upstream)
    token = pdriver.get(provider)
    pdriver.invalidate(provider)  # "drop the cache", not "WeChat rejected this token"
    assert pdriver.get(provider).access_token == token.access_token
    assert upstream.count == 2
    pdriver.invalidate(provider, token)  # named, but not said to be rejected: the same
    assert pdriver.get(provider).access_token == token.access_token
    assert upstream.count == 3


def test_invalidating_another_token_than_the_cached_one_does_nothing(
    pdriver: ProviderDriver,
) -> None:
    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream)
    old = pdriver.get(provider)
    pdriver.invalidate(provider, old)
    new = pdriver.get(provider)
    for _ in range(10):  # late reports of the old token: the new one stays
        pdriver.invalidate(provider, old)
    assert pdriver.get(provider).access_token == new.access_token
    assert upstream.count == 2
    assert provider.stats().invalidations == 1


def test_a_token_dropped_bare_then_named_is_refused_too(pdriver: ProviderDriver) -> None:
    upstream = SameToken(FakeClock())
    provider = pdriver.provider(upstream, min_refresh_interval=0)
    token = pdriver.get(provider)
    pdriver.invalidate(provider)
    # WeChat's answer names it while the cache is empty
    pdriver.invalidate(provider, token, rejected=True)
    with pytest.raises(WechatTokenRejectedError):
        pdriver.get(provider)


def test_the_store_cannot_hand_back_a_rejected_token_either(pdriver: ProviderDriver) -> None:
    upstream, store = SameToken(FakeClock()), MemoryStore()
    provider = pdriver.provider(upstream, store=store)
    bad = pdriver.get(provider)
    pdriver.invalidate(provider, bad, rejected=True)
    with pytest.raises(WechatTokenRejectedError):
        pdriver.get(provider)
    assert upstream.count == 2


def test_rejected_needs_the_token_and_a_bool(pdriver: ProviderDriver) -> None:
    provider = pdriver.provider(Upstream(FakeClock()))
    token = pdriver.get(provider)
    with pytest.raises(TypeError, match="needs the token"):
        provider.invalidate(rejected=True)
    with pytest.raises(TypeError, match="rejected"):
        provider.invalidate(token, rejected="yes")
