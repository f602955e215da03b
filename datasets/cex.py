"""Centralised-exchange hourly candles from the PietroC21 wide Parquet files (one row per
hour, stamped with the candle's open, times in UTC without a zone).

The backtest uses Binance's SOLUSDT **spot** hours as the SOL oracle price (Hyperliquid's and
the Solana lenders' oracles are built from such venues' spot prices; none of our sources
records the oracle itself) and its USDT-margined **perp** hours as the perp price wherever
Hyperliquid's own hourly candles are missing. Both are quoted in USDT, taken as USD.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from datasets.parse import number
from datasets.series import HOUR, Bar, Point, Series, series

Kind = Literal["spot", "perp"]


def read_binance_hourly(path: Path, kind: Kind) -> Series[Bar]:
    """``{open,high,low,close}_{kind}_binance`` of each hour; a bar is known at its close."""
    import pyarrow.parquet as pq

    cols = [f"{k}_{kind}_binance" for k in ("open", "high", "low", "close")]
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
    notes = [f"Binance SOLUSDT {kind}, USDT taken as USD; each hour known at its close"]
    if empty:
        notes.append(f"{empty} hour(s) without a {kind} candle in the file")
    if bad:
        notes.append(f"{bad} hour(s) with inconsistent open/high/low/close dropped")
    return series(f"binance {kind} 1h", str(path), points, notes)
