"""Time series as they were *known*, and their alignment on the backtester's hourly grid.

Every imported value is a ``Point``: the instant it became observable (``known_at``) and how
long it is meant to stand for (``valid_for``: an hour for an hourly bucket, eight hours for an
8-hourly funding settlement, about an epoch for an LST rate). Alignment is an as-of join: the
row of the hour ``[R, R+1h)`` is decided at its close ``R+1h``, so it takes, from the first
source in priority order that has one, the latest point with ``known_at <= R+1h`` no older
than that source's ``max_age`` (a fresh value from a later source beats a stale one from an
earlier source). A point known even a microsecond after the close cannot reach
the row: look-ahead is impossible by construction, not by care.

A value older than its own ``valid_for`` at the close has been *carried forward*: it is still
used (up to ``max_age``) but counted, and an hour no source can serve is *missing*; both are
reported per column, never silently invented.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Generic, TypeVar

V = TypeVar("V")
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Point(Generic[V]):
    known_at: datetime
    """When the value became observable (UTC)."""
    value: V
    valid_for: timedelta = HOUR
    """How long the value is meant to stand for; older than this it is carried forward."""


@dataclass(frozen=True, slots=True)
class Bar:
    """One candle's prices."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal

    @property
    def consistent(self) -> bool:
        return 0 < self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high


@dataclass(frozen=True, slots=True)
class Series(Generic[V]):
    """One imported series, points in ``known_at`` order (one point per instant)."""

    name: str
    source: str
    """Where it came from (a file, a URL)."""
    points: tuple[Point[V], ...]
    notes: tuple[str, ...] = ()
    """What the importer normalised or dropped (units, ordering, regimes, duplicates)."""

    def __post_init__(self) -> None:
        for a, b in pairwise(self.points):
            if b.known_at <= a.known_at:
                raise ValueError(f"{self.name}: points out of order at {b.known_at.isoformat()}")

    @property
    def first(self) -> datetime | None:
        return self.points[0].known_at if self.points else None

    @property
    def last(self) -> datetime | None:
        return self.points[-1].known_at if self.points else None


def series(
    name: str, source: str, points: Sequence[Point[V]], notes: Sequence[str] = ()
) -> Series[V]:
    """Sort by ``known_at``; a later duplicate of an instant replaces the earlier one (and
    is noted), as a re-fetched page supersedes what was read before."""
    by_time: dict[datetime, Point[V]] = {}
    for p in points:
        by_time[p.known_at] = p
    dropped = len(points) - len(by_time)
    extra = [f"{dropped} duplicate point(s) dropped (the last one read kept)"] if dropped else []
    ordered = tuple(by_time[t] for t in sorted(by_time))
    return Series(name, source, ordered, (*notes, *extra))


@dataclass(frozen=True, slots=True)
class Source(Generic[V]):
    """A series as one candidate for a column, with how stale it may be and still serve."""

    series: Series[V]
    max_age: timedelta
    within_period: bool = False
    """Serve a point only while it is younger than its own period: never carry it forward
    (a missing funding settlement is a gap, not the previous hour's rate)."""


@dataclass
class ColumnReport:
    """How one column was filled over the grid."""

    column: str
    hours: int = 0
    served: dict[str, int] = field(default_factory=dict)
    """Hours served by each source (by series name)."""
    carried: dict[str, int] = field(default_factory=dict)
    """Of those, hours where the value was older than its own period (forward-filled)."""
    max_age_hours: dict[str, float] = field(default_factory=dict)
    missing: list[tuple[datetime, datetime]] = field(default_factory=list)
    """Hour ranges ``[start, end)`` no source could serve."""

    @property
    def missing_hours(self) -> int:
        return sum(int((b - a) / HOUR) for a, b in self.missing)

    def _miss(self, hour: datetime) -> None:
        if self.missing and self.missing[-1][1] == hour:
            self.missing[-1] = (self.missing[-1][0], hour + HOUR)
        else:
            self.missing.append((hour, hour + HOUR))


class _Cursor(Generic[V]):
    """Walks one series forward as the grid advances (the grid is in time order)."""

    __slots__ = ("i", "src", "times")

    def __init__(self, src: Source[V]) -> None:
        self.src = src
        self.times = [p.known_at for p in src.series.points]
        self.i = 0

    def at(self, close: datetime) -> Point[V] | None:
        """The latest point known at or before ``close`` and no older than ``max_age``."""
        # bisect from the previous position: closes only move forward
        self.i = bisect.bisect_right(self.times, close, lo=self.i)
        if self.i == 0:
            return None
        p = self.src.series.points[self.i - 1]
        age = close - p.known_at
        if age > self.src.max_age or (self.src.within_period and age >= p.valid_for):
            return None
        return p


def align(
    column: str, hours: Sequence[datetime], sources: Sequence[Source[V]]
) -> tuple[list[V | None], ColumnReport]:
    """The column's value for each hour ``R`` of ``hours`` (in time order), as known at the
    close ``R + 1h``; ``None`` where no source can serve it.

    A fresh value (younger than its own period) from any source beats a carried one; among
    equals the earlier source in ``sources`` wins."""
    report = ColumnReport(column, hours=len(hours))
    cursors = [_Cursor(s) for s in sources]
    out: list[V | None] = []
    for hour in hours:
        close = hour + HOUR
        found = [(cur.src.series.name, cur.at(close)) for cur in cursors]
        pick: tuple[str, Point[V]] | None = None
        for name, p in found:
            if p is not None and close - p.known_at < p.valid_for:
                pick = (name, p)
                break
        if pick is None:
            pick = next(((n, p) for n, p in found if p is not None), None)
        if pick is None:
            report._miss(hour)
            out.append(None)
            continue
        name, p = pick
        report.served[name] = report.served.get(name, 0) + 1
        age = close - p.known_at
        if age >= p.valid_for:
            report.carried[name] = report.carried.get(name, 0) + 1
        age_h = round(age / HOUR, 2)
        if age_h > report.max_age_hours.get(name, 0.0):
            report.max_age_hours[name] = age_h
        out.append(p.value)
    return out, report
