"""The public API: the names PRODUCT.md promises, a sorted ``__all__``, docstrings."""

from __future__ import annotations

import inspect

import authing_wechat
import pytest

CONTRACT = {
    "WechatTokenClient",
    "AsyncWechatTokenClient",
    "WechatAccessToken",
    "RetryPolicy",
    "AuthingError",
    "AuthingAPIError",
    "AuthingConnectionError",
    "AuthingTimeoutError",
    "AuthingResponseError",
    "DeprecatedEndpointError",
    "AuthingDeprecationWarning",
    "TokenStore",
    "AsyncTokenStore",
    "RedisTokenStore",
    "AsyncRedisTokenStore",
    "WechatAuth",
    "WechatTokenRejectedError",
}


def test_all_is_sorted_complete_and_importable() -> None:
    exported = authing_wechat.__all__
    assert exported == sorted(exported)
    assert set(exported) >= CONTRACT
    for name in exported:  # each name loads on first use (and then stays in the namespace)
        member = getattr(authing_wechat, name)
        assert member.__module__.startswith("authing_wechat"), name
    # pytest's assertion rewriting may add "@py..." names; subpackages (testing) are modules.
    public = {
        n
        for n, v in vars(authing_wechat).items()
        if n.isidentifier() and not n.startswith("_") and not inspect.ismodule(v)
    }
    assert set(exported) == public


def test_public_members_are_documented() -> None:
    for name in authing_wechat.__all__:
        member = getattr(authing_wechat, name)
        assert inspect.getdoc(member), name
        for attr, value in vars(member).items():
            if attr.startswith("_") or not callable(value):
                continue
            assert inspect.getdoc(value), f"{name}.{attr}"


def test_error_hierarchy() -> None:
    from authing_wechat import (
        AuthingAPIError,
        AuthingConnectionError,
        AuthingDeprecationWarning,
        AuthingError,
        AuthingResponseError,
        AuthingTimeoutError,
        DeprecatedEndpointError,
        WechatTokenRejectedError,
    )

    for error in (AuthingAPIError, AuthingConnectionError, AuthingResponseError,
                  DeprecatedEndpointError, WechatTokenRejectedError):  # fmt: skip
        assert issubclass(error, AuthingError)
    assert issubclass(AuthingTimeoutError, AuthingConnectionError)
    assert issubclass(AuthingDeprecationWarning, DeprecationWarning)
    assert not issubclass(AuthingError, ValueError | KeyError)


def test_the_version_is_the_installed_distributions() -> None:
    import tomllib
    from importlib.metadata import version
    from pathlib import Path

    pyproject = Path(__file__).parents[2] / "pyproject.toml"
    declared = tomllib.loads(pyproject.read_text())["project"]["version"]
    assert authing_wechat.__version__ == version("authing-wechat") == declared
    with pytest.raises(AttributeError, match="no_such_name"):
        authing_wechat.no_such_name  # type: ignore[attr-defined]  # noqa: B018


def test_sync_users_do_not_import_asyncio_or_redis() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from authing_wechat import WechatTokenClient, RedisTokenStore; "
        "print(sorted(m for m in ('asyncio', 'redis') if m in sys.modules))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "[]"


def test_the_client_does_not_import_the_provider_layer_until_a_provider_is_made() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from authing_wechat import WechatTokenClient\n"
        "def layer(): return any(m.startswith('authing_wechat._provider') for m in sys.modules)\n"
        "client = WechatTokenClient('https://x.authing.cn', 'app')\n"
        "before = layer()\n"
        "client.token_provider(app_id='wx1', app_secret='s' * 16)\n"
        "client.close()\n"
        "print(before, layer())"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.split() == ["False", "True"]


def test_importing_the_client_leaves_the_io_layer_for_the_first_client() -> None:
    # The import budget (scripts/bench.py: at most 1.25x bare httpx): httpcore, h11, attrs and
    # the generated package load with the first client, as httpx loads httpcore itself.
    import subprocess
    import sys

    heavy = ("httpcore", "h11", "attrs", "authing_wechat_client", "authing_wechat._core._call")
    code = (
        "import sys\n"
        "from authing_wechat import WechatTokenClient\n"
        f"heavy = {heavy!r}\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "WechatTokenClient('https://x.authing.cn', 'app').close()\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert shown[0] == "[]"
    assert shown[1] == str(sorted(heavy))


def test_the_default_retry_policy_is_retry_policy() -> None:
    import inspect

    from authing_wechat import RetryPolicy, WechatTokenClient

    default = inspect.signature(WechatTokenClient).parameters["retry"].default
    assert repr(default) == "RetryPolicy()"
    with WechatTokenClient("https://x.authing.cn", "app") as client:
        assert client.retry == RetryPolicy()
        assert isinstance(client.retry, RetryPolicy)
    with WechatTokenClient("https://x.authing.cn", "app", retry=None) as client:
        assert client.retry is None
