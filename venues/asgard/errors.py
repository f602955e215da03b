"""Typed Asgard errors: one root, retry semantics on each.

Asgard answers failures as ``{"error": {"name", "code", "message", "details"}}``: HTTP 422
for a logical refusal (not retryable: asking again gets the same answer), 500 for a server
fault. 5xx, 429, timeouts and connection errors are retryable.
"""

from __future__ import annotations

from typing import Any


class AsgardError(Exception):
    """Root of every error raised by ``venues.asgard``."""

    retryable: bool = False
    code: str = "ASG-0001"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        name: str | None = None,
        wire_code: Any = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        """Asgard's error ``name`` (e.g. ``InsufficientCollateral``)."""
        self.wire_code = wire_code
        """Asgard's own error ``code``; ``code`` is ours (``models.errors``)."""
        self.details = details


class AsgardLogicalError(AsgardError):
    """HTTP 422 (or another 4xx): Asgard refused the request as stated."""


class AsgardServerError(AsgardError):
    """HTTP 5xx."""

    retryable = True
    code = "ASG-0002"


class AsgardRateLimited(AsgardError):
    retryable = True
    code = "GEN-0007"


class AsgardUnavailable(AsgardError):
    """Timeout or connection failure: the request may or may not have been acted on."""

    retryable = True
    code = "NET-0002"


class AsgardProtocolError(AsgardError):
    """A response we cannot understand (changed wire format). Not retryable: it will not
    parse better next time, and acting on a misread response is worse than stopping."""


class UnsupportedOperation(AsgardError):
    """The position's protocol does not support the update (only Kamino and Drift do)."""


class NoRoute(AsgardError):
    """No active protocol has the leverage and borrow capacity for this size."""

    code = "ASG-0003"


class PositionNotFound(AsgardError):
    code = "POS-0001"
