"""Time-ranged reads come back complete whichever way the venue orders and cuts its pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from venues.hyperliquid.paging import read_all

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    id: int
    time: datetime


def _rows(n: int, *, per_ms: int = 1) -> list[Row]:
    """``n`` rows, ``per_ms`` of them sharing each millisecond (like one funding payment per
    coin each hour)."""
    return [Row(i, T0 + timedelta(milliseconds=i // per_ms)) for i in range(n)]


def _venue(rows: list[Row], cap: int, *, newest_first: bool):
    calls: list[tuple[int, int | None]] = []

    async def page(start_ms: int, end_ms: int | None) -> list[Row]:
        calls.append((start_ms, end_ms))

        def ms(r: Row) -> int:
            return int(r.time.timestamp() * 1000)

        window = [r for r in rows if ms(r) >= start_ms and (end_ms is None or ms(r) <= end_ms)]
        if newest_first:
            return list(reversed(window))[:cap]
        return window[:cap]

    return page, calls


@pytest.mark.parametrize("newest_first", [False, True])
@pytest.mark.parametrize(("n", "per_ms", "cap"), [(1234, 1, 500), (1234, 7, 500), (2600, 3, 2000)])
async def test_every_row_is_read_once_in_time_order(newest_first, n, per_ms, cap) -> None:
    rows = _rows(n, per_ms=per_ms)
    page, calls = _venue(rows, cap, newest_first=newest_first)
    got = await read_all(page, T0, None, time_of=lambda r: r.time, key=lambda r: r.id)
    assert sorted(r.id for r in got) == [r.id for r in rows]
    assert [r.time for r in got] == sorted(r.time for r in got)
    assert len(calls) <= n // cap + 3


async def test_a_short_page_ends_the_read_in_one_call() -> None:
    page, calls = _venue(_rows(42), 500, newest_first=False)
    got = await read_all(page, T0, None, time_of=lambda r: r.time, key=lambda r: r.id)
    assert len(got) == 42 and len(calls) == 1


async def test_the_end_of_the_window_is_respected() -> None:
    rows = _rows(1500)
    page, _ = _venue(rows, 500, newest_first=False)
    end = T0 + timedelta(milliseconds=999)
    got = await read_all(page, T0, end, time_of=lambda r: r.time, key=lambda r: r.id)
    assert [r.id for r in got] == list(range(1000))
