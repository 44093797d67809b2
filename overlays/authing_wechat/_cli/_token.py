"""``authing-wechat token``: fetch the WeChat access token from a shell or a CI job.

The app secret comes only from the environment or stdin, never argv (argv is visible to every
user of the machine in ``ps``). Output is the bare token, or JSON with ``--json``; a failure is
one line on stderr (JSON with ``--json``) with the request id and no traceback. Exit codes are
``EXIT_CODES``. Messages name settings as the user gave them (``--app-host``, or
``environment variable AUTHING_APP_HOST``), never as the Python argument behind them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TextIO

__all__ = [
    "EXIT_CODES",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "add_token_command",
    "client_log_lines",
    "report_failure",
]

EXIT_OK, EXIT_API, EXIT_USAGE, EXIT_CONNECTION, EXIT_RESPONSE = 0, 1, 2, 3, 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_API: "the server answered with an error",
    EXIT_USAGE: "usage or configuration error",
    EXIT_CONNECTION: "connection error or timeout",
    EXIT_RESPONSE: "malformed response",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}
_PROG = "authing-wechat token"

# The settings that come from a flag or, failing that, an environment variable: (the client's
# argument name, flag, variable). The argument name is what the client's messages say.
_FROM_FLAG_OR_ENV = (
    ("app_host", "--app-host", "AUTHING_APP_HOST"),
    ("authing_app_id", "--authing-app-id", "AUTHING_APP_ID"),
    ("brand", "--brand", "AUTHING_BRAND"),
    ("lang", "--lang", "AUTHING_LANG"),
    ("app_id", "--app-id", "WECHAT_APP_ID"),
)
_ENVIRONMENT_HELP = """\
environment:
  AUTHING_APP_HOST      app URL, for --app-host
  AUTHING_APP_ID        Authing / GenAuth app id, for --authing-app-id
  AUTHING_BRAND         for --brand
  AUTHING_LANG          for --lang
  AUTHING_ACCESS_TOKEN  a user's access token, sent as Authorization (optional)
  WECHAT_APP_ID         WeChat app id, for --app-id
  WECHAT_APP_SECRET     WeChat app secret (or --app-secret-stdin)
A flag wins over its variable."""


def add_token_command(subcommands: Any) -> None:
    """Register ``token`` on the ``authing-wechat`` subcommand parsers."""
    import attrs  # noqa: PLC0415 - keeps `import _cli` cheap

    # The choices and defaults the client itself takes.
    from authing_wechat._core._settings import BRANDS, DEFAULT_RETRY, ClientOptions, langs  # noqa: PLC0415

    timeout_default = attrs.fields(ClientOptions).timeout.default
    codes = "\n".join(f"  {code:<3}  {meaning}" for code, meaning in EXIT_CODES.items())
    parser: argparse.ArgumentParser = subcommands.add_parser(
        "token",
        help="fetch the WeChat access token that Authing / GenAuth caches",
        description=(
            "Fetch the WeChat access token (POST /api/v3/get-wechat-access-token-info) and\n"
            "print it. The WeChat app secret is read from WECHAT_APP_SECRET or, with\n"
            "--app-secret-stdin, from standard input; never from the command line."
        ),
        epilog=f"{_ENVIRONMENT_HELP}\n\nexit codes:\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--app-host", metavar="URL", help="app URL, e.g. https://<app>.authing.cn")
    add("--authing-app-id", metavar="ID", help="Authing / GenAuth app id")
    for flag, choices, what in (
        ("--brand", BRANDS, "which cloud's headers to send (default authing)"),
        ("--lang", langs(), "language of server messages (default: the server's)"),
    ):
        add(flag, type=_one_of(choices), metavar="{" + ",".join(choices) + "}", help=what)
    add("--app-id", metavar="WX_APP_ID", help="WeChat app id")
    add("--app-secret-stdin", action="store_true", help="read the WeChat app secret from stdin")
    add(
        "--timeout",
        type=_seconds,
        default=timeout_default,
        metavar="SECONDS",
        help="seconds per attempt (default %(default)s)",
    )
    add(
        "--max-attempts",
        type=_attempts,
        default=DEFAULT_RETRY.max_attempts,
        metavar="N",
        help="attempts including retries (default %(default)s; 1 disables retries)",
    )
    add("--legacy", action="store_true", help="call the deprecated get-wechat-access-token")
    add(
        "--json",
        action="store_true",
        help="print token, expiry, request id, attempts and deprecation as JSON; "
        "errors as JSON on stderr",
    )
    add("--allow-insecure-http", action="store_true", help="allow http:// to a non-loopback host")
    parser.set_defaults(handler=run_token)


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    # argparse's own `choices` would echo the value.
    def check(text: str) -> str:
        if text not in choices:
            raise argparse.ArgumentTypeError(_not_one_of(choices))
        return text

    return check


def _not_one_of(choices: tuple[str, ...]) -> str:
    return f"must be one of {', '.join(choices)}"


def _seconds(text: str) -> float:
    # Not echoed: a value typed in the wrong place may be a secret.
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds") from None


def _attempts(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None


class UsageError(Exception):
    """A setting that cannot work, described in the command line's words."""


def report_failure(message: str, code: int, *, prog: str, as_json: bool, **details: Any) -> int:
    """Write one failure line on stderr, as text or as JSON; returns ``code``.

    Args:
        message: What went wrong, in the command line's words; never holds a secret.
        code: The exit status the command ends with.
        prog: The command, to prefix the text line.
        as_json: Write ``{"error": {...}}`` instead of ``prog: error: message``.
        details: More JSON fields (camelCase) for ``as_json``.

    Returns:
        ``code``.
    """
    if as_json:
        error = {"message": message, "exitCode": code, **details}
        print(json.dumps({"error": error}), file=sys.stderr)
    else:
        print(f"{prog}: error: {message}", file=sys.stderr)
    return code


@contextlib.contextmanager
def client_log_lines(stream: TextIO, fmt: str) -> Iterator[None]:
    """Show the client's log lines from INFO up (its retries) on ``stream`` during the block.

    Only the ``authing_wechat`` logger's own records: a mock server in the same process logs
    every request on ``authing_wechat.testing``. The logger's level is put back afterwards.

    Args:
        stream: Where the lines go.
        fmt: Their ``logging.Formatter`` format.
    """
    logger = logging.getLogger("authing_wechat")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(fmt))
    handler.addFilter(lambda record: record.name == logger.name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _resolve(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, str]]:
    """Each flag-or-environment setting's value, and how to name it in messages."""
    import attrs  # noqa: PLC0415 - loaded by the parser already

    from authing_wechat._core._settings import BRANDS, ClientOptions, langs  # noqa: PLC0415

    values: dict[str, Any] = {}
    names: dict[str, str] = {}
    for argument, flag, variable in _FROM_FLAG_OR_ENV:
        given = getattr(args, flag[2:].replace("-", "_"))
        if given is not None:
            values[argument], names[argument] = given, flag
        else:
            values[argument] = os.environ.get(variable) or None
            names[argument] = f"environment variable {variable}"
    for argument, choices in (("brand", BRANDS), ("lang", langs())):
        # A flag's value is checked by argparse (`_one_of`), a variable's here.
        if values[argument] is not None and values[argument] not in choices:
            raise UsageError(f"{names[argument]} {_not_one_of(choices)}")
    values["brand"] = values["brand"] or attrs.fields(ClientOptions).brand.default
    return values, names


_MISSING_FROM_ENV = "the secret (WECHAT_APP_SECRET or --app-secret-stdin)"
_MISSING_FROM_STDIN = (
    "the secret: standard input was empty (--app-secret-stdin reads it from the first line)"
)


def _path_hint(error: Any, settings: dict[str, Any], names: dict[str, str]) -> str:
    """For a 404 from an app host with a path: the hint that it is the base URL."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    path = urlsplit(str(settings["app_host"])).path
    if error.http_status != 404 or path in ("", "/"):
        return ""
    return (
        f"; {names['app_host']} is the base URL of your app, with no path "
        f"(e.g. https://<app>.authing.cn), and it has {path!r}"
    )


def _read_secret(args: argparse.Namespace) -> tuple[str | None, str]:
    if args.app_secret_stdin:
        return sys.stdin.readline().rstrip("\r\n"), "the app secret read from stdin"
    return os.environ.get("WECHAT_APP_SECRET"), "environment variable WECHAT_APP_SECRET"


def _in_cli_words(message: str, names: dict[str, str]) -> str:
    """``message`` of the client's ``ValueError`` / ``TypeError`` with its names replaced."""
    names = {"allow_insecure_http=True": "--allow-insecure-http", **names}
    pattern = r"\b(" + "|".join(re.escape(name) for name in names) + r")(?!\w)"
    return re.sub(pattern, lambda match: names[match.group(1)], message)


def _describe(error: Any, max_retry_after: float) -> str:
    from authing_wechat._core._errors import AuthingAPIError, AuthingResponseError  # noqa: PLC0415

    details = []
    if isinstance(error, AuthingAPIError):
        details.append(f"statusCode {error.status_code}")
        if error.api_code is not None:
            details.append(f"apiCode {error.api_code}")
    if isinstance(error, AuthingAPIError | AuthingResponseError) and error.request_id:
        details.append(f"request id {error.request_id}")
    details.append(f"{error.attempts} attempt{'s' if error.attempts != 1 else ''}")
    text = f"{error.message} ({', '.join(details)})"
    if error.retry_after is not None:
        text += (
            f"; not retried: the server asked to wait {error.retry_after:g} s (Retry-After), "
            f"longer than the {max_retry_after:g} s this command waits"
        )
    return text


def _error_fields(error: Any) -> dict[str, Any]:
    return {
        "type": type(error).__name__,
        "attempts": error.attempts,
        "httpStatus": error.http_status,
        "statusCode": getattr(error, "status_code", None),
        "apiCode": getattr(error, "api_code", None),
        "requestId": getattr(error, "request_id", None),
        "retryAfter": error.retry_after,
    }


def _exit_code(error: Any) -> int:
    from authing_wechat._core._errors import AuthingAPIError, AuthingConnectionError  # noqa: PLC0415

    if isinstance(error, AuthingAPIError):
        return EXIT_API
    if isinstance(error, AuthingConnectionError):
        return EXIT_CONNECTION
    return EXIT_RESPONSE


def _fetch(args: argparse.Namespace, settings: dict[str, Any], secret: str) -> Any:
    from authing_wechat._core._client import WechatTokenClient  # noqa: PLC0415 - keeps `import _cli` cheap
    from authing_wechat._core._retry import RetryPolicy  # noqa: PLC0415

    with WechatTokenClient(
        settings["app_host"],
        settings["authing_app_id"],
        brand=settings["brand"],
        lang=settings["lang"],
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
        token = fetch(app_id=settings["app_id"], app_secret=secret)
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
    from authing_wechat._core._errors import AuthingError  # noqa: PLC0415 - keeps `import _cli` cheap
    from authing_wechat._core._settings import DEFAULT_RETRY  # noqa: PLC0415

    def usage_error(message: str) -> int:
        return report_failure(message, EXIT_USAGE, prog=_PROG, as_json=args.json, type="UsageError")

    try:
        settings, names = _resolve(args)
    except UsageError as exc:
        return usage_error(str(exc))
    secret, names["app_secret"] = _read_secret(args)
    names.update(
        access_token="environment variable AUTHING_ACCESS_TOKEN",  # noqa: S106 - a name
        timeout="--timeout",
        max_attempts="--max-attempts",
    )
    missing = [
        what
        for what, value in (
            ("--app-host / AUTHING_APP_HOST", settings["app_host"]),
            ("--authing-app-id / AUTHING_APP_ID", settings["authing_app_id"]),
            ("--app-id / WECHAT_APP_ID", settings["app_id"]),
            (_MISSING_FROM_STDIN if args.app_secret_stdin else _MISSING_FROM_ENV, secret),
        )
        if not value
    ]
    if missing:
        return usage_error("missing " + ", ".join(missing))
    # Retries are worth a line on stderr; the token stays alone on stdout.
    try:
        with client_log_lines(sys.stderr, f"{_PROG}: %(message)s"):
            token = _fetch(args, settings, str(secret))
    except (ValueError, TypeError) as exc:
        return usage_error(_in_cli_words(str(exc), names))
    except AuthingError as exc:
        return report_failure(
            _describe(exc, DEFAULT_RETRY.max_retry_after) + _path_hint(exc, settings, names),
            _exit_code(exc),
            prog=_PROG,
            as_json=args.json,
            **_error_fields(exc),
        )
    print(_render(token, as_json=args.json))
    return EXIT_OK
