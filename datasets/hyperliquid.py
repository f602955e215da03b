"""Hyperliquid history: ``fundingHistory`` and ``candleSnapshot`` in the venue's own JSON (or
JSON Lines, as ``basis data fetch`` stores them), and the PietroC21 hourly Parquet.

Funding: a record's ``time`` is its settlement (a few ms to ~15 min after the hour it pays
for, processing delay); it is assigned to that hour boundary. Until the settlement of
2023-06-08 01:00 UTC Hyperliquid settled every 8 hours, each record carrying the **8-hour**
rate: it is divided by 8 and stands for the 8 hours after its settlement (the hourly
equivalent, known only once published: never spread back over the hours it paid for).

The Parquet repeats each 8-hour funding rate over 8 hourly rows, and, until 2025-08-10, its
perp OHLC are **8-hour candles forward-filled over 8 hourly rows** (the row at 00:00 carries
the candle that closes at 08:00): only rows that are genuinely hourly are kept as hourly bars.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from datasets.parse import (
    HistoryError,
    field,
    floor_hour,
    ms_time,
    number,
    ordering_note,
    records,
)
from datasets.series import HOUR, Bar, Point, Series, series

HOURLY_FUNDING_FROM = datetime(2023, 6, 8, 1, tzinfo=UTC)
"""The first hourly settlement; earlier records are 8-hour rates."""
EIGHT_HOURS = timedelta(hours=8)
_EIGHT = Decimal(8)
INTERVALS = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": HOUR,
    "2h": timedelta(hours=2),
    "4h": timedelta(hours=4),
    "8h": EIGHT_HOURS,
    "12h": timedelta(hours=12),
    "1d": timedelta(days=1),
}


def funding_point(settled: datetime, rate: Decimal) -> Point[Decimal]:
    """One settlement as the hourly rate it stands for from its settlement hour on."""
    hour = floor_hour(settled)
    if hour < HOURLY_FUNDING_FROM:
        return Point(hour, rate / _EIGHT, EIGHT_HOURS)
    return Point(hour, rate, HOUR)


def read_funding_history(path: Path, coin: str = "SOL") -> Series[Decimal]:
    """``fundingHistory`` records (``coin, fundingRate, premium, time``) of one coin."""
    points: list[Point[Decimal]] = []
    times: list[datetime] = []
    late = timedelta(0)
    other = 0
    for n, rec in enumerate(records(path)):
        where = f"{path.name} record {n}"
        if field(rec, "coin", where) != coin:
            other += 1
            continue
        settled = ms_time(field(rec, "time", where), where)
        times.append(settled)
        late = max(late, settled - floor_hour(settled))
        points.append(funding_point(settled, number(field(rec, "fundingRate", where), where)))
    notes = ordering_note(times, path.name)
    eight = sum(1 for p in points if p.valid_for == EIGHT_HOURS)
    if eight:
        notes.append(
            f"{eight} settlement(s) before {HOURLY_FUNDING_FROM:%Y-%m-%d %H:%M} are 8-hour rates: "
            "divided by 8, each standing for the 8 hours after it"
        )
    if late:
        notes.append(
            f"settlement stamps run up to {late.total_seconds():.0f} s past the hour; "
            "each is assigned to the hour boundary it settles"
        )
    if other:
        notes.append(f"{other} record(s) of other coins skipped")
    return series(f"hyperliquid fundingHistory {coin}", str(path), points, notes)


def read_candles(path: Path, coin: str = "SOL") -> Series[Bar]:
    """``candleSnapshot`` records (``t, T, s, i, o, h, l, c, v, n``): each candle is known at
    its close, ``t + interval``."""
    points: list[Point[Bar]] = []
    times: list[datetime] = []
    bad = 0
    interval: str | None = None
    for n, rec in enumerate(records(path)):
        where = f"{path.name} record {n}"
        if field(rec, "s", where) != coin:
            continue
        i = str(field(rec, "i", where))
        if i not in INTERVALS:
            raise HistoryError(f"{where}: unknown candle interval {i!r}")
        if interval is not None and i != interval:
            raise HistoryError(f"{where}: mixed candle intervals {interval!r} and {i!r}")
        interval = i
        opened = ms_time(field(rec, "t", where), where)
        bar = Bar(*(number(field(rec, k, where), where) for k in ("o", "h", "l", "c")))
        times.append(opened)
        if not bar.consistent:
            bad += 1
            continue
        points.append(Point(opened + INTERVALS[i], bar, INTERVALS[i]))
    notes = ordering_note(times, path.name)
    if bad:
        notes.append(f"{bad} candle(s) with inconsistent open/high/low/close dropped")
    name = f"hyperliquid candleSnapshot {coin} {interval or '?'}"
    return series(name, str(path), points, notes)


def _bar(rec: dict[str, Any], where: str) -> Bar | None:
    raw = [rec.get(f"{k}_perp") for k in ("open", "high", "low", "close")]
    if any(v is None for v in raw):
        return None
    return Bar(*(number(v, where) for v in raw))


def read_parquet(path: Path) -> tuple[Series[Decimal], Series[Bar]]:
    """The PietroC21 ``hyperliquid_SOL_*.parquet``: its hourly funding (8-hour rates / 8) and
    its genuinely hourly perp bars. Its ``*_spot_*`` columns are not SOL prices: unused."""
    import pyarrow.parquet as pq

    rows: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    funding: list[Point[Decimal]] = []
    spread = mismatched = 0
    block: Decimal | None = None
    for rec in rows:
        t: datetime = rec["timestamp"].astimezone(UTC)
        raw = rec.get("funding_rate_1h_hyperliquid")
        if raw is None:
            continue
        rate = number(raw, f"{path.name} {t.isoformat()}")
        if t >= HOURLY_FUNDING_FROM:
            funding.append(Point(t, rate, HOUR))
        elif t.hour % 8 == 0:
            block = rate
            funding.append(Point(t, rate / _EIGHT, EIGHT_HOURS))
        else:
            spread += 1  # a copy of the block's settlement
            mismatched += block is not None and rate != block
    f_notes = [
        f"8-hour regime before {HOURLY_FUNDING_FROM:%Y-%m-%d %H:%M}: each 8-hour rate is "
        f"repeated over 8 hourly rows; {spread} repeated row(s) dropped, rates divided by 8"
    ]
    if mismatched:
        f_notes.append(f"{mismatched} repeated row(s) differ from their block's settlement")

    bars: list[Point[Bar]] = []
    keys = [
        tuple(rec.get(f"{k}_perp") for k in ("open", "high", "low", "close", "volume"))
        for rec in rows
    ]
    spans: list[list[datetime]] = []  # [first, last] of each run of repeated rows
    for i, rec in enumerate(rows):
        t = rec["timestamp"].astimezone(UTC)
        repeated = (i > 0 and keys[i] == keys[i - 1]) or (
            i + 1 < len(rows) and keys[i] == keys[i + 1]
        )
        if repeated:
            if spans and spans[-1][1] == t - HOUR:
                spans[-1][1] = t
            else:
                spans.append([t, t])
            continue
        bar = _bar(rec, f"{path.name} {t.isoformat()}")
        if bar is not None and bar.consistent:
            bars.append(Point(t + HOUR, bar, HOUR))
    b_notes = []
    if spans:
        filled = sum(int((b - a) / HOUR) + 1 for a, b in spans)
        a0, b0 = spans[0]
        more = f" and {len(spans) - 1} shorter run(s)" if len(spans) > 1 else ""
        b_notes.append(
            f"{filled} row(s) repeat a longer candle over several hourly rows (8-hour candles "
            f"{a0:%Y-%m-%d %H:%M} .. {b0:%Y-%m-%d %H:%M}{more}): not hourly observations, "
            "not used"
        )
    return (
        series("hyperliquid parquet funding", str(path), funding, f_notes),
        series("hyperliquid parquet perp 1h", str(path), bars, b_notes),
    )


def read_derived_funding_csv(path: Path) -> list[tuple[datetime, Decimal]]:
    """``derived/hl_SOL_funding_hourly_*.csv``: ``(row time, funding_rate_1h)``, each row
    holding the latest settlement at or before its time (8-hour rates already divided)."""
    import csv

    with path.open(newline="") as fh:
        return [
            (
                datetime.fromisoformat(r["timestamp_utc"]).astimezone(UTC),
                number(r["funding_rate_1h"], f"{path.name} {r['timestamp_utc']}"),
            )
            for r in csv.DictReader(fh)
        ]
