"""OpenTelemetry metrics of the providers and WechatAuth: refreshes, gets by state, expiry,
invalidations, store errors and WeChat rejections, each with ``app_id`` and never a secret;
nothing imported or recorded without the API."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from authing_wechat import AuthingAPIError, TokenState, WechatAccessToken
from authing_wechat.testing import FakeClock

from tests._metrics_support import Recorded
from tests._provider_support import TOKEN_PREFIX, MemoryStore, ProviderDriver, Upstream
from tests._wechat_support import APP_ID, SECRET, WechatWorld

REFRESH = "authing_wechat.provider.refresh.duration"
GETS = "authing_wechat.provider.gets"
EXPIRES_IN = "authing_wechat.provider.token.expires_in"
INVALIDATIONS = "authing_wechat.provider.invalidations"
STORE_ERRORS = "authing_wechat.provider.store.errors"
REJECTIONS = "authing_wechat.wechat.rejections"


class SlowUpstream(Upstream):
    """Each fetch takes a quarter of a second of the fake clock."""

    def _answer(self) -> WechatAccessToken:
        self.clock.advance(0.25)
        return super()._answer()


@pytest.fixture(params=["sync", "async"])
def pdriver(request: pytest.FixtureRequest) -> Iterator[ProviderDriver]:
    driver = ProviderDriver(request.param)
    yield driver
    driver.close()


def test_a_refresh_records_its_duration_mode_and_outcome(
    pdriver: ProviderDriver, recorded: Recorded
) -> None:
    upstream = SlowUpstream(FakeClock(), lifetime=7200)
    provider = pdriver.provider(upstream)
    pdriver.get(provider)  # INVALID: a blocking refresh
    upstream.clock.advance(7200 - 200)  # STALE: a background one
    pdriver.get(provider)
    pdriver.settle(provider)
    upstream.fail = True
    upstream.clock.advance(7300)  # expired: a blocking refresh that fails
    with pytest.raises(AuthingAPIError):
        pdriver.get(provider)
    base = {"app_id": "wx1"}
    expected = [
        ({**base, "mode": "blocking", "outcome": "success", "source": "upstream"}, (1, 0.25)),
        ({**base, "mode": "background", "outcome": "success", "source": "upstream"}, (1, 0.25)),
        ({**base, "mode": "blocking", "outcome": "failure", "error.type": "AuthingAPIError"},
         (1, 0.25)),
    ]  # fmt: skip
    points = recorded.points(REFRESH)
    assert len(points) == len(expected)
    assert all(point in expected for point in points)


def test_a_token_from_the_store_is_a_refresh_from_the_store(
    pdriver: ProviderDriver, recorded: Recorded
) -> None:
    from authing_wechat import StoredToken

    upstream, store = Upstream(FakeClock()), MemoryStore()
    now = upstream.clock.time()
    store.entries["token:test"] = StoredToken(
        access_token="shared", expires_at=now + 1000, requested_at=now - 1000
    )
    pdriver.get(pdriver.provider(upstream, store=store))
    ((attributes, _),) = recorded.points(REFRESH)
    assert attributes["source"] == "store"


def test_gets_are_counted_by_state_at_collection_and_stats_still_agree(
    pdriver: ProviderDriver, recorded: Recorded
) -> None:
    upstream = Upstream(FakeClock(), lifetime=7200)
    provider = pdriver.provider(upstream)
    for _ in range(5):  # one INVALID, four FRESH
        pdriver.get(provider)
    # Every state is a series from the start, at 0 until a get() finds it.
    assert recorded.values(GETS, "state") == {"invalid": 1, "fresh": 4, "stale": 0, "must": 0}
    pdriver.get(provider)
    assert recorded.values(GETS, "state")["fresh"] == 5
    # Collections read the lock-free FRESH counter; stats() counts the same calls.
    served = provider.stats().served
    assert served[TokenState.FRESH] == 5
    assert served[TokenState.INVALID] == 1
    ((attributes, _), *_) = recorded.points(GETS)
    assert attributes["app_id"] == "wx1"


def test_two_providers_of_one_app_are_one_series(recorded: Recorded) -> None:
    first, second = ProviderDriver("sync"), ProviderDriver("sync")
    upstream = Upstream(FakeClock())
    a, b = first.provider(upstream), second.provider(upstream)
    first.get(a)
    second.get(b)
    second.get(b)
    assert recorded.values(GETS, "state") == {"invalid": 2, "fresh": 1, "stale": 0, "must": 0}


def test_seconds_until_expiry_are_observed_only_with_a_token(
    pdriver: ProviderDriver, recorded: Recorded
) -> None:
    upstream = Upstream(FakeClock(), lifetime=7200)
    provider = pdriver.provider(upstream)
    assert recorded.points(EXPIRES_IN) == []
    pdriver.get(provider)
    upstream.clock.advance(100)
    assert recorded.points(EXPIRES_IN) == [({"app_id": "wx1"}, 7100.0)]


def test_invalidations_are_counted(pdriver: ProviderDriver, recorded: Recorded) -> None:
    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream)
    token = pdriver.get(provider)
    pdriver.invalidate(provider, token)
    pdriver.invalidate(provider, token)  # dropped already: not counted
    assert recorded.points(INVALIDATIONS) == [({"app_id": "wx1"}, 1)]


def test_store_errors_are_counted_by_step(pdriver: ProviderDriver, recorded: Recorded) -> None:
    upstream, store = Upstream(FakeClock()), MemoryStore()
    store.down = True
    provider = pdriver.provider(upstream, store=store)
    pdriver.get(provider)
    by_step = recorded.values(STORE_ERRORS, "step")
    assert by_step == {"load": 1}
    assert sum(by_step.values()) == provider.stats().store_errors


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_wechat_rejections_are_counted_by_errcode_and_hold_no_secret(
    mode: str, recorded: Recorded
) -> None:
    world = WechatWorld(mode)
    try:
        tokens = {world.token()}
        world.wechat.rotate(APP_ID)
        assert world.request("GET", "/cgi-bin/get_api_domain_ip").status_code == 200
        tokens.add(world.token())
        assert recorded.points(REJECTIONS) == [({"app_id": APP_ID, "errcode": 40001}, 1)]
        every = recorded.collect()
    finally:
        world.close()
    assert set(every) >= {REFRESH, GETS, EXPIRES_IN, INVALIDATIONS, REJECTIONS}
    attributes = repr([dict(p.attributes) for points in every.values() for p in points])
    for canary in (SECRET, *tokens, TOKEN_PREFIX):
        assert canary not in attributes


def test_a_rejection_reported_to_the_provider_is_counted_and_drops_nothing(
    pdriver: ProviderDriver, recorded: Recorded
) -> None:
    upstream = Upstream(FakeClock())
    provider = pdriver.provider(upstream)
    token = pdriver.get(provider)
    provider.record_rejection(42001)
    provider.record_rejection(42001)
    provider.record_rejection(40014)
    assert recorded.values(REJECTIONS, "errcode") == {42001: 2, 40014: 1}
    assert pdriver.get(provider) == token  # still cached: invalidate() drops tokens
    for wrong in (True, "40001", None):
        with pytest.raises(TypeError, match="errcode must be an int"):
            provider.record_rejection(wrong)


def _python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


_PROVIDER = """
import sys
from datetime import UTC, datetime, timedelta
from authing_wechat import WechatAccessToken, WechatTokenProvider
from authing_wechat._core._clock import SystemClock
from authing_wechat._provider._refresh import RefreshTiming

def fetch():
    expires = datetime.now(UTC) + timedelta(hours=2)
    return WechatAccessToken(access_token="t", expires_at=expires)

def make():
    return WechatTokenProvider(fetch, app_id="wx1", timing=RefreshTiming(), clock=SystemClock())
"""


def test_without_the_api_nothing_is_imported_or_recorded() -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        + _PROVIDER
        + """
provider = make()
token = provider.get(); provider.get(); provider.invalidate(token); provider.get()
from authing_wechat._provider import _metrics
print(type(_metrics.current_metrics()).__name__,
      sorted(m for m in sys.modules if m.startswith("opentelemetry.")))
"""
    )
    assert _python(code) == "Metrics []"


def test_a_provider_made_before_the_sdk_records_through_the_global_provider() -> None:
    code = (
        _PROVIDER
        + """
from authing_wechat import WechatTokenClient
WechatTokenClient("https://app.authing.cn", "app").close()
before = "opentelemetry" in sys.modules  # not with the client: with the first provider
provider = make()
provider.get(); provider.get()
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
provider.get()
(scope,) = reader.get_metrics_data().resource_metrics[0].scope_metrics
import authing_wechat
assert (scope.scope.name, scope.scope.version) == ("authing_wechat", authing_wechat.__version__)
gets = {m.name: m for m in scope.metrics}["authing_wechat.provider.gets"]
print(before, sorted((dict(p.attributes)["state"], p.value) for p in gets.data.data_points))
"""
    )
    # Counted before the SDK was there too: the provider's own counts are read.
    assert _python(code) == "False [('fresh', 2), ('invalid', 1), ('must', 0), ('stale', 0)]"


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_refreshes_are_labelled_with_their_source_fallback_included(
    mode: str, recorded: Recorded
) -> None:
    world = WechatWorld(mode, fallback=True)
    try:
        world.authing_down()
        assert world.run(world.provider.get()).fallback
        world.authing_up()
        world.clock.advance(31)
        world.token()
        world.settle()
        assert not world.run(world.provider.get()).fallback
        sources = {(a.get("source"), a["outcome"], a["mode"]) for a, _ in recorded.points(REFRESH)}
    finally:
        world.close()
    assert sources == {("fallback", "success", "blocking"), ("upstream", "success", "background")}
