"""A connection found unusable for a request before it could be answered there.

httpcore has closed it by the time this is raised; the clients send the same request again on
another connection (``Call.send``), without counting an attempt: on that connection the
server did not answer it.
"""

from __future__ import annotations

__all__ = ["UnusableConnection"]


class UnusableConnection(Exception):
    """Raised by what finds a connection unusable (the TLS check, the own pool's sender)."""

    def given_up(self) -> Exception:
        """The error when connection after connection is unusable; raised from this one."""
        return RuntimeError(str(self))
