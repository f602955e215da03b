"""Centralised-exchange hourly candles from the PietroC21 wide Parquet files (one row per
hour, stamped with the candle's open, times in UTC without a zone), and a multi-venue median.

None of our sources records an oracle (Hyperliquid's is a weighted median of CEX spot prices;
the Solana lenders read Pyth, Switchboard and Scope, themselves aggregates of venues). The SOL
oracle is therefore taken as the **median of the Binance, OKX and Gate SOL/USDT spot candles**
(open, high, low and close each the median across venues), or as Binance's alone. The two
differ in crashes: on 2025-10-10 21:00 Binance's low was 168.79 while OKX's and Gate's were
144.82 and 144.12. Binance's USDT-margined perp stands in for the perp price wherever
Hyperliquid's own hourly candles are missing. All quoted in USDT, taken as USD.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from datasets.parse import number
from datasets.series import HOUR, Bar, Point, Series, series

Kind = Literal["spot", "perp"]
TWO = Decimal(2)


def read_hourly(path: Path, venue: str, kind: Kind) -> Series[Bar]:
    """``{open,high,low,close}_{kind}_{venue}`` of each hour; a bar is known at its close."""
    import pyarrow.parquet as pq

    cols = [f"{k}_{kind}_{venue}" for k in ("open", "high", "low", "close")]
    table = pq.read_table(path, columns=["timestamp", *cols])
    points: list[Point[Bar]] = []
    empty = bad = 0
    rec: dict[str, Any]
    for rec in table.to_pylist():
        t: datetime = rec["timestamp"]
        t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
        raw = [rec[c] for c in cols]
        if any(v is None for v in raw):
            empty += 1
            continue
        bar = Bar(*(number(v, f"{path.name} {t.isoformat()}") for v in raw))
        if not bar.consistent:
            bad += 1
            continue
        points.append(Point(t + HOUR, bar, HOUR))
    notes = [f"{venue} SOL/USDT {kind}, USDT taken as USD; each hour known at its close"]
    if empty:
        notes.append(f"{empty} hour(s) without a {kind} candle in the file")
    if bad:
        notes.append(f"{bad} hour(s) with inconsistent open/high/low/close dropped")
    return series(f"{venue} {kind} 1h", str(path), points, notes)


def read_binance_hourly(path: Path, kind: Kind) -> Series[Bar]:
    return read_hourly(path, "binance", kind)


def _median(values: Sequence[Decimal]) -> Decimal:
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / TWO


def median_bars(venues: Sequence[Series[Bar]], name: str, *, at_least: int = 2) -> Series[Bar]:
    """Each hour's open, high, low and close as the median across the venues that have the
    hour (at least ``at_least`` of them). Every venue's low is at most its open and close, so
    the medians keep that order: the bar stays consistent."""
    by_close: dict[datetime, list[Bar]] = {}
    for s in venues:
        for p in s.points:
            by_close.setdefault(p.known_at, []).append(p.value)
    points = []
    counts: dict[int, int] = {}
    for close in sorted(by_close):
        bars = by_close[close]
        counts[len(bars)] = counts.get(len(bars), 0) + 1
        if len(bars) < at_least:
            continue
        bar = Bar(
            _median([b.open for b in bars]),
            _median([b.high for b in bars]),
            _median([b.low for b in bars]),
            _median([b.close for b in bars]),
        )
        points.append(Point(close, bar, HOUR))
    sources = ", ".join(s.name for s in venues)
    spread = "; ".join(f"{n} venue(s): {c} h" for n, c in sorted(counts.items(), reverse=True))
    notes = (
        f"median of {sources}, each of open/high/low/close across the venues with the hour",
        f"hours by venues present: {spread} (fewer than {at_least}: not served)",
    )
    return series(name, sources, points, notes)
