"""The ``authing-wechat`` command line (also ``python -m authing_wechat``).

Each subcommand is one ``_add_<name>`` function that registers its parser and a handler
taking the parsed arguments and returning the exit status; ``main`` only dispatches.
Subcommands import what they need when they run, so importing this module stays cheap.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

from ._demo import add_demo_command
from ._token import EXIT_INTERRUPTED, EXIT_USAGE, add_token_command, report_failure

if TYPE_CHECKING:
    import logging

    from authing_wechat.testing import FaultSpec

__all__ = ["build_parser", "main"]

_Handler = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when ``None``.

    Returns:
        The exit status: 0 on success, 130 when interrupted (Ctrl-C); see ``EXIT_CODES``.

    Raises:
        SystemExit: As argparse does: 2 on a usage error (after one line on stderr, JSON
            with ``--json``), 0 after ``--help`` or ``--version``.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    as_json = "--json" in argv
    try:
        parser = build_parser()
        try:
            args, unknown = parser.parse_known_args(argv)
            if unknown:
                # argparse would echo every unknown token, and a mistyped option's value may be
                # the secret (--app-secret XYZ): name the options only.
                names = sorted({token.split("=", 1)[0] for token in unknown if token[:1] == "-"})
                if _GUESSED_FLAG in names:
                    parser.error(_NOT_ON_THE_COMMAND_LINE)
                parser.error(
                    "unrecognized arguments: "
                    + (" ".join(names) if names else f"{len(unknown)} value(s) not shown")
                )
        except _UsageError as exc:
            if not as_json:
                exc.parser.print_usage(sys.stderr)
            raise SystemExit(
                report_failure(
                    str(exc), EXIT_USAGE, prog=exc.parser.prog, as_json=as_json, type="UsageError"
                )
            ) from None
        handler: _Handler = args.handler
        return handler(args)
    except KeyboardInterrupt:
        # One line, not a traceback of wherever the call happened to be.
        return report_failure(
            "interrupted", EXIT_INTERRUPTED, prog="authing-wechat", as_json=as_json,
            type="KeyboardInterrupt",
        )  # fmt: skip


# The flag a user guesses for the secret. Its value is never echoed, and the message says
# where the secret comes from instead.
_GUESSED_FLAG = "--app-secret"
_NOT_ON_THE_COMMAND_LINE = (
    "unrecognized arguments: --app-secret: the WeChat app secret comes from the environment "
    "(WECHAT_APP_SECRET) or from standard input (--app-secret-stdin), never from the command "
    "line, where every user of the machine can read it (ps)"
)


def _request_line_formatter() -> logging.Formatter:
    """``2026-12-02T01:23:45.678Z POST /api/v3/... -> 200``: UTC, to the millisecond, so that
    the mock's lines line up with a client's logs whatever their time zones."""
    import logging  # noqa: PLC0415 - only with --log-requests
    import time  # noqa: PLC0415

    formatter = logging.Formatter("%(asctime)s.%(msecs)03dZ %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    return formatter


class _UsageError(Exception):
    """Raised instead of argparse's print-and-exit, so that ``main`` chooses text or JSON."""

    def __init__(self, message: str, parser: argparse.ArgumentParser) -> None:
        super().__init__(message)
        self.parser = parser


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that takes no abbreviations, for itself and its subcommands.

    With abbreviations, a guessed ``--app-secret`` is read as ``--app-secret-stdin`` and its
    value becomes an unknown argument. Errors are raised as ``_UsageError`` for ``main``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise _UsageError(message, self)


class _VersionAction(argparse.Action):
    """``--version``, reading the installed metadata only when asked."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from authing_wechat import __version__  # noqa: PLC0415

        print(f"authing-wechat {__version__}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``authing-wechat`` and all its subcommands.

    Returns:
        The parser; each subcommand sets ``handler`` on the namespace it parses.
    """
    parser = _Parser(
        prog="authing-wechat",
        description="Tools for the WeChat access token API of Authing / GenAuth.",
    )
    parser.add_argument("--version", action=_VersionAction)
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    add_token_command(subcommands)
    add_demo_command(subcommands)
    _add_mock_server(subcommands)
    return parser


# --- mock-server ------------------------------------------------------------------------


def _fault_spec(text: str) -> FaultSpec:
    from authing_wechat.testing._faults import parse_fault_spec  # noqa: PLC0415 - keeps `import _cli` cheap

    try:
        return parse_fault_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _credential(text: str) -> tuple[str, str]:
    app_id, equals, secret = text.partition("=")
    if not (equals and app_id.strip() and secret.strip()):
        raise argparse.ArgumentTypeError("expected APP_ID=APP_SECRET, both non-blank")
    return app_id, secret


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("a port is a number from 0 to 65535") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, got {port}")
    return port


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {value}")
    return value


def _add_mock_server(subcommands: Any) -> None:
    # Cheap modules only: building the parser must not import httpx.
    from authing_wechat.testing._faults import FAULT_SPEC_HELP  # noqa: PLC0415 - keeps `import _cli` cheap
    from authing_wechat.testing._paths import CLOUDS  # noqa: PLC0415 - as above

    parser: argparse.ArgumentParser = subcommands.add_parser(
        "mock-server",
        help="serve the reference mock of both endpoints over HTTP on loopback",
        description=(
            "Serve the reference mock of POST /api/v3/get-wechat-access-token (deprecated)\n"
            "and POST /api/v3/get-wechat-access-token-info, with scripted faults.\n"
            "Prints 'mock server listening on URL' once it accepts connections, then\n"
            "serves until SIGINT or SIGTERM and exits 0."
        ),
        epilog=FAULT_SPEC_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--port", type=_port, default=0, help="TCP port; 0 (default) picks a free one")
    add("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    add(
        "--fault",
        type=_fault_spec,
        action="append",
        default=[],
        metavar="SPEC",
        help="queue a fault (repeatable; syntax below)",
    )
    add(
        "--cloud",
        choices=CLOUDS,
        help="require this cloud's app-id header (x-<cloud>-app-id); default: either",
    )
    add(
        "--credentials",
        type=_credential,
        action="append",
        metavar="APP_ID=APP_SECRET",
        help="accept only these WeChat app credentials, others get HTTP 401 (repeatable; "
        "test values only: argv is visible to other processes)",
    )
    add(
        "--expires-in",
        type=_positive_int,
        default=7200,
        metavar="SECONDS",
        help="lifetime of issued tokens (default 7200)",
    )
    add(
        "--sunset",
        metavar="HTTP-DATE",
        help="send this Sunset header on the deprecated endpoint, "
        "e.g. 'Wed, 31 Dec 2025 23:59:59 GMT'",
    )
    add(
        "--varied",
        action="store_true",
        help="vary the optional parts of every answer, as the contract allows",
    )
    add("--seed", type=int, default=0, help="seed of --varied (default 0)")
    add(
        "--log-requests",
        action="store_true",
        help="print one line per request on stderr (UTC time, method, path, status, fault)",
    )
    parser.set_defaults(handler=_run_mock_server)


def _run_mock_server(args: argparse.Namespace) -> int:
    import logging  # noqa: PLC0415 - as above

    from authing_wechat.testing import MockAuthingServer, run_mock_server  # noqa: PLC0415 - as above

    server = MockAuthingServer(
        expires_in=args.expires_in,
        sunset=args.sunset,
        cloud=args.cloud,
        credentials=None if args.credentials is None else dict(args.credentials),
        varied=args.varied,
        seed=args.seed,
    )
    for spec in args.fault:
        server.add_fault(spec.path, spec.fault, times=spec.times)
    if args.log_requests:
        log = logging.getLogger("authing_wechat.testing")
        lines = logging.StreamHandler(sys.stderr)
        lines.setFormatter(_request_line_formatter())
        log.addHandler(lines)
        log.setLevel(logging.INFO)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with run_mock_server(server, host=args.host, port=args.port) as handle:
            print(f"mock server listening on {handle.url}", flush=True)
            stop.wait()
    except OSError as exc:
        print(f"authing-wechat mock-server: cannot listen: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
