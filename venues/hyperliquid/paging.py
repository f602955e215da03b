"""Reading a time-ranged ``/info`` endpoint completely.

The venue caps each answer (500 rows for funding, 500 to 2,000 for fills depending on the
endpoint's vintage) and does not say whether it truncated. Some endpoints answer oldest first
(the rest of the window is newer: move the start up), one has answered newest first (the rest
is older: move the end down); the direction is read from each page. Cursors stay *on* the
boundary millisecond, because several rows can share one (a funding payment per coin each
hour, the fills of one order), and rows already seen are dropped by key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from datetime import datetime
from typing import TypeVar

from venues.hyperliquid.parse import dt_to_ms

T = TypeVar("T")

TRUNCATION_THRESHOLD = 500
"""A page this long may have been cut short: ask again."""


async def read_all(
    page: Callable[[int, int | None], Awaitable[list[T]]],
    start: datetime,
    end: datetime | None,
    *,
    time_of: Callable[[T], datetime],
    key: Callable[[T], Hashable],
    threshold: int = TRUNCATION_THRESHOLD,
) -> list[T]:
    """Every row with ``start <= time <= end``, oldest first."""
    lo = dt_to_ms(start)
    hi = dt_to_ms(end) if end is not None else None
    out: list[T] = []
    seen: set[Hashable] = set()
    while True:
        rows = await page(lo, hi)
        fresh = [r for r in rows if key(r) not in seen]
        seen.update(key(r) for r in fresh)
        out.extend(fresh)
        if len(rows) < threshold or not fresh:
            break
        times = [dt_to_ms(time_of(r)) for r in rows]
        first, last, oldest, newest = times[0], times[-1], min(times), max(times)
        single_ms = oldest == newest
        if first > last:
            hi = oldest - 1 if single_ms else oldest
            if hi < lo:
                break
        else:
            lo = newest + 1 if single_ms else newest
            if hi is not None and lo > hi:
                break
    return sorted(out, key=time_of)
