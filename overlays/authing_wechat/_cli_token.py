"""``authing-wechat token``: fetch the WeChat access token from a shell or a CI job.

The app secret comes only from the environment or stdin, never argv (argv is visible to every
user of the machine in ``ps``). Output is the bare token, or JSON with ``--json``; a failure is
one line on stderr with the request id and no traceback. Exit codes are ``EXIT_CODES``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from typing import Any

__all__ = ["EXIT_CODES", "add_token_command"]

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_CONNECTION, EXIT_RESPONSE = 0, 1, 2, 3, 4
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_API: "the server answered with an error",
    EXIT_USAGE: "usage or configuration error",
    EXIT_CONNECTION: "connection error or timeout",
    EXIT_RESPONSE: "malformed response",
}
_PROG = "authing-wechat token"


def add_token_command(subcommands: Any) -> None:
    """Register ``token`` on the ``authing-wechat`` subcommand parsers."""
    from ._settings import BRANDS, LANGS  # noqa: PLC0415 - the choices the client itself takes

    codes = "\n".join(f"  {code}  {meaning}" for code, meaning in EXIT_CODES.items())
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "token",
        help="fetch the WeChat access token that Authing / GenAuth caches",
        description=(
            "Fetch the WeChat access token (POST /api/v3/get-wechat-access-token-info) and\n"
            "print it. The WeChat app secret is read from WECHAT_APP_SECRET or, with\n"
            "--app-secret-stdin, from standard input; never from the command line."
        ),
        epilog=f"exit codes:\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    env = os.environ.get
    parser.add_argument(
        "--app-host",
        default=env("AUTHING_APP_HOST"),
        help="app URL, e.g. https://<app>.authing.cn (env AUTHING_APP_HOST)",
    )
    parser.add_argument(
        "--authing-app-id",
        default=env("AUTHING_APP_ID"),
        help="Authing / GenAuth app id (env AUTHING_APP_ID)",
    )
    parser.add_argument(
        "--brand",
        choices=BRANDS,
        default=env("AUTHING_BRAND", "authing"),
        help="which cloud's headers to send (env AUTHING_BRAND; default authing)",
    )
    parser.add_argument(
        "--app-id", default=env("WECHAT_APP_ID"), help="WeChat app id (env WECHAT_APP_ID)"
    )
    parser.add_argument(
        "--app-secret-stdin",
        action="store_true",
        help="read the WeChat app secret from standard input",
    )
    parser.add_argument(
        "--lang",
        choices=LANGS,
        default=env("AUTHING_LANG"),
        help="language of server messages (env AUTHING_LANG)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per attempt")
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=3,
        help="attempts including retries (default 3; 1 disables retries)",
    )
    parser.add_argument(
        "--legacy",
        action="store_true",
        help="call the deprecated POST /api/v3/get-wechat-access-token",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print token, expiry, request id, attempts and deprecation as JSON",
    )
    parser.add_argument(
        "--allow-insecure-http", action="store_true", help="allow http:// to a non-loopback host"
    )
    parser.set_defaults(handler=run_token)  # fmt: skip


def _fail(code: int, message: str) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr)
    return code


def _read_secret(args: argparse.Namespace) -> str | None:
    if args.app_secret_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return os.environ.get("WECHAT_APP_SECRET")


def _describe(error: Any) -> str:
    from ._errors import AuthingAPIError, AuthingResponseError  # noqa: PLC0415

    details = []
    if isinstance(error, AuthingAPIError):
        details.append(f"statusCode {error.status_code}")
        if error.api_code is not None:
            details.append(f"apiCode {error.api_code}")
    if isinstance(error, AuthingAPIError | AuthingResponseError) and error.request_id:
        details.append(f"request id {error.request_id}")
    details.append(f"{error.attempts} attempt{'s' if error.attempts != 1 else ''}")
    return f"{error.message} ({', '.join(details)})"


def _exit_code(error: Any) -> int:
    from ._errors import AuthingAPIError, AuthingConnectionError  # noqa: PLC0415

    if isinstance(error, AuthingAPIError):
        return EXIT_API
    if isinstance(error, AuthingConnectionError):
        return EXIT_CONNECTION
    return EXIT_RESPONSE


def _fetch(args: argparse.Namespace, secret: str) -> Any:
    from ._client import WechatTokenClient  # noqa: PLC0415 - keeps `import _cli` cheap
    from ._retry import RetryPolicy  # noqa: PLC0415

    with WechatTokenClient(
        args.app_host,
        args.authing_app_id,
        brand=args.brand,
        lang=args.lang,
        timeout=args.timeout,
        retry=RetryPolicy(max_attempts=args.max_attempts),
        access_token=os.environ.get("AUTHING_ACCESS_TOKEN") or None,
        allow_insecure_http=args.allow_insecure_http,
    ) as client, warnings.catch_warnings(record=True) as caught:  # fmt: skip
        warnings.simplefilter("always")
        if args.legacy:
            fetch = client.get_wechat_mp_access_token  # type: ignore[deprecated]
        else:
            fetch = client.get_wechat_mp_access_token_info
        token = fetch(app_id=args.app_id, app_secret=secret)
        for warning in caught:
            print(f"{_PROG}: warning: {warning.message}", file=sys.stderr)
    return token


def _render(token: Any, *, as_json: bool) -> str:
    if not as_json:
        return str(token.access_token)
    notice = token.deprecation
    return json.dumps({
        "accessToken": token.access_token,
        "expiresAt": token.expires_at.isoformat(),
        "expiresAtEpoch": int(token.expires_at.timestamp()),
        "requestId": token.request_id,
        "attempts": token.attempts,
        "deprecation": None if notice is None else {
            "endpoint": notice.endpoint,
            "deprecatedAt": notice.deprecated_at and notice.deprecated_at.isoformat(),
            "sunset": notice.sunset and notice.sunset.isoformat(),
            "successor": notice.successor,
        },
    }, indent=2)  # fmt: skip


def run_token(args: argparse.Namespace) -> int:
    """Run ``authing-wechat token``; returns the exit status."""
    from ._errors import AuthingError  # noqa: PLC0415 - keeps `import _cli` cheap

    secret = _read_secret(args)
    missing = [
        flag
        for flag, value in (
            ("--app-host / AUTHING_APP_HOST", args.app_host),
            ("--authing-app-id / AUTHING_APP_ID", args.authing_app_id),
            ("--app-id / WECHAT_APP_ID", args.app_id),
            ("the secret (WECHAT_APP_SECRET or --app-secret-stdin)", secret),
        )
        if not value
    ]
    if missing:
        return _fail(EXIT_USAGE, "missing " + ", ".join(missing))
    # Retries are worth a line on stderr; the token stays alone on stdout.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{_PROG}: %(message)s"))
    logger = logging.getLogger("authing_wechat")
    logger.addHandler(handler)
    try:
        token = _fetch(args, str(secret))
    except (ValueError, TypeError) as exc:
        return _fail(EXIT_USAGE, str(exc))
    except AuthingError as exc:
        return _fail(_exit_code(exc), _describe(exc))
    finally:
        logger.removeHandler(handler)
    print(_render(token, as_json=args.json))
    return EXIT_OK
