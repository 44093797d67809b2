"""Call an official SDK (``authing`` or ``genauth``) once per scenario; print one JSON report.

Run by ``compare_official_sdks.py`` with the Python of a throwaway venv that holds the SDKs,
never imported by it: ``python sdk_driver.py '<settings as JSON>'``. Standard library only, so
that it runs there; the SDKs and ``requests`` are imported by name at run time.

It wraps ``requests.request`` (which both SDKs call per request) only to record the ``verify``
and ``timeout`` arguments they pass; the call itself goes through unchanged. Exit status 3 when
the SDK does not import, 0 otherwise (a call that raises is a result, not a failure).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import sys
import time
import warnings
from typing import Any

RECORDED_ARGUMENTS = ("verify", "timeout")


def run(settings: dict[str, Any]) -> dict[str, Any]:
    """Make ``settings["calls"]`` calls of ``settings["method"]``; report what happened.

    Args:
        settings: ``sdk``, ``url``, ``method``, ``calls``, ``app_id``, ``app_secret``,
            ``authing_app_id``, ``authing_app_secret`` and ``ask_for_tls_checks``.

    Returns:
        The report: versions, what the calls returned or raised (secrets masked), warnings,
        and the recorded ``requests.request`` arguments.
    """
    # Any: neither the SDKs nor requests are installed (or typed) where this is checked.
    sdk: Any = importlib.import_module(settings["sdk"])
    requests: Any = importlib.import_module("requests")
    seen: list[dict[str, str | None]] = []
    real_request = requests.request

    def recording_request(method: str, url: str, **kwargs: Any) -> Any:
        recorded = {
            name: repr(kwargs[name]) if name in kwargs else None for name in RECORDED_ARGUMENTS
        }
        seen.append(recorded)
        return real_request(method, url, **kwargs)

    requests.request = recording_request
    names = (settings["sdk"], "requests", "urllib3", "websockets")
    report: dict[str, Any] = {
        "package_dir": sdk.__path__[0],
        "versions": {name: importlib.metadata.version(name) for name in names},
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        extra = {"use_unverified_ssl": False} if settings["ask_for_tls_checks"] else {}
        client = sdk.AuthenticationClient(
            app_id=settings["authing_app_id"],
            app_secret=settings["authing_app_secret"],
            app_host=settings["url"],
            **extra,
        )
        method = getattr(client, settings["method"])
        start = time.perf_counter()
        try:
            for _ in range(settings["calls"]):
                value = method(settings["app_id"], settings["app_secret"])
        except Exception as exc:  # what the SDK raises is the measurement
            report["raised"] = f"{type(exc).__module__}.{type(exc).__qualname__}"
            message = str(exc)
            for secret in (settings["app_secret"], settings["authing_app_secret"]):
                message = message.replace(secret, "***")
            report["message"] = message[:200]
        else:
            envelope = value if isinstance(value, dict) else {}
            report["returned"] = type(value).__name__
            report["status_code"] = envelope.get("statusCode")
            report["has_token"] = isinstance(envelope.get("data"), dict) and (
                "accessToken" in envelope["data"]
            )
        report["seconds"] = time.perf_counter() - start
    report["warnings"] = sorted(
        {f"{w.category.__module__}.{w.category.__qualname__}" for w in caught}
    )
    report["request_kwargs"] = seen
    return report


def main(argv: list[str]) -> int:
    """Run with the JSON settings in ``argv[0]``; print the report as one JSON line."""
    settings = json.loads(argv[0])
    try:
        report = run(settings)
    except ImportError as exc:
        print(json.dumps({"import_error": f"{type(exc).__name__}: {exc}"}))
        return 3
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
