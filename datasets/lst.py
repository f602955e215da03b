"""Liquid-staking token exchange rates (the glitchful-dev ``sol-stake-pool-apy`` CSVs:
``timestamp, epoch, price``, price = SOL per token, one row per epoch of ~2 days) and the
staking APY they imply.

A rate is known from its row's timestamp and holds until the next epoch's. The implied APY at
an epoch compounds the growth over the trailing week (never the epochs after it).
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from datasets.parse import HistoryError, iso_time, number, ordering_note
from datasets.series import Point, Series, series

EPOCH_VALID = timedelta(days=3)
"""A rate older than this at a close has outlived its epoch (Solana epochs run ~2-2.5 days)."""
APY_WINDOW = timedelta(days=7)
MIN_APY_SPAN = timedelta(days=2)
_YEAR_SECONDS = Decimal(365 * 86400)
_APY_Q = Decimal("0.000001")


def read_exchange_rates(path: Path, name: str) -> Series[Decimal]:
    points: list[Point[Decimal]] = []
    times: list[datetime] = []
    epochs: list[int] = []
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"timestamp", "epoch", "price"} - set(reader.fieldnames or ())
        if missing:
            raise HistoryError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for n, rec in enumerate(reader, start=2):
            where = f"{path.name} line {n}"
            at = iso_time(rec["timestamp"], where)
            price = number(rec["price"], where)
            if price <= 0:
                raise HistoryError(f"{where}: exchange rate {price} is not positive")
            times.append(at)
            epochs.append(int(rec["epoch"]))
            points.append(Point(at, price, EPOCH_VALID))
    notes = ordering_note(times, path.name)
    notes.append("SOL per token, one row per epoch, known from the row's timestamp")
    ordered = sorted(points, key=lambda p: p.known_at)
    falls = sum(1 for a, b in pairwise(ordered) if b.value < a.value)
    if falls:
        notes.append(f"{falls} epoch(s) where the rate fell (a slashing or a data error)")
    skipped = sum(1 for a, b in pairwise(epochs) if b - a > 1)
    if skipped:
        notes.append(f"{skipped} place(s) where epochs are skipped")
    return series(name, str(path), points, notes)


def implied_apy(rates: Series[Decimal], name: str) -> Series[Decimal]:
    """The staking APY implied at each epoch by the trailing week's exchange-rate growth,
    compounded to a year; epochs with less than two days behind them are skipped."""
    pts = rates.points
    out: list[Point[Decimal]] = []
    k = 0
    for p in pts:
        while pts[k].known_at < p.known_at - APY_WINDOW:
            k += 1
        base = pts[k]
        span = p.known_at - base.known_at
        if span < MIN_APY_SPAN:
            continue
        years = Decimal(span.total_seconds()) / _YEAR_SECONDS
        apy = (p.value / base.value) ** (1 / years) - 1
        out.append(Point(p.known_at, apy.quantize(_APY_Q), EPOCH_VALID))
    notes = (
        f"implied by {rates.name}: growth over the trailing {APY_WINDOW.days} days, "
        "compounded to a year",
    )
    return series(name, rates.source, out, notes)
