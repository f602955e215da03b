"""The one place outside workflows that reads the wall clock. Everything else takes a clock
(a ``Callable[[], datetime]``) so tests and the market simulator can substitute their own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
