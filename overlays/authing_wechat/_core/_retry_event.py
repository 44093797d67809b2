"""``RetryEvent``: what an ``on_retry`` hook receives.

A module of its own: it is made only when a call retries with a hook, so importing the client
does not create its class.
"""

from __future__ import annotations

import attrs

from ._errors import AuthingError

__all__ = ["RetryEvent"]


@attrs.frozen(kw_only=True)
class RetryEvent:
    """What an ``on_retry`` hook receives before each retry's sleep.

    Attributes:
        attempt: The 1-based attempt that just failed.
        delay: The seconds the client will now sleep before the next attempt.
        elapsed: Seconds since the call began, sleeps included.
        reason: Why the attempt counts as retryable, such as ``"HTTP 503"``,
            ``"envelope statusCode 500 in HTTP 200"``, ``"timeout"`` or ``"connection error"``.
        http_status: The HTTP status of the failed attempt's response, or ``None`` when none
            arrived.
        error: The attempt's error. It holds no secret, so the event is safe to log.
        operation: The client method being called, such as
            ``"get_wechat_mp_access_token_info"``.
    """

    attempt: int
    delay: float
    elapsed: float
    reason: str
    http_status: int | None
    error: AuthingError
    operation: str = ""
