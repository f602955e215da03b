"""Asgard rate history: per-protocol lending and borrowing in hourly buckets (rates in
**percent**, newest first), jitoSOL staking APY in hourly buckets (a **decimal**), and the
DeFi Llama daily pool snapshots of Kamino (``apyBase`` / ``apyBaseBorrow`` in **percent**).

An hourly bucket averages the samples taken during ``[hourBucket, hourBucket + 1h)`` and is
known at its end; a daily snapshot is known at its own timestamp.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from datasets.parse import field, iso_time, number, ordering_note, percent, records
from datasets.series import HOUR, Point, Series, series

DAY = timedelta(days=1)


def _buckets(
    path: Path, name: str, value: Callable[[dict[str, Any], str], Decimal], unit: str
) -> Series[Decimal]:
    points: list[Point[Decimal]] = []
    times: list[datetime] = []
    thin = 0
    for n, rec in enumerate(records(path)):
        where = f"{path.name} record {n}"
        bucket = iso_time(field(rec, "hourBucket", where), where)
        times.append(bucket)
        if int(rec.get("sampleCount") or 0) == 1:
            thin += 1
        points.append(Point(bucket + HOUR, value(dict(rec), where), HOUR))
    notes = ordering_note(times, path.name)
    notes.append(f"rates in {unit}; each bucket known at its end (hourBucket + 1 h)")
    if thin:
        notes.append(f"{thin} bucket(s) rest on a single sample")
    return series(name, str(path), points, notes)


def read_rates(path: Path, key: str, name: str) -> Series[Decimal]:
    """One rate of an Asgard ``{protocol}_{token}_hourly`` file: ``key`` is
    ``avgLendingRate`` or ``avgBorrowingRate`` (percent)."""
    return _buckets(
        path, name, lambda rec, where: percent(field(rec, key, where), where), "percent"
    )


def read_staking(path: Path, name: str) -> Series[Decimal]:
    """``asgard_jitosol_staking_hourly``: ``avgApy`` is already a decimal (0.06 = 6%)."""
    return _buckets(
        path, name, lambda rec, where: number(field(rec, "avgApy", where), where), "decimal"
    )


def read_llama_pool(path: Path, key: str, name: str) -> Series[Decimal]:
    """DeFi Llama daily pool snapshots (``timestamp``, ``apyBase``, ``apyBaseBorrow``, percent).
    A snapshot whose ``key`` is null is skipped and counted."""
    points: list[Point[Decimal]] = []
    times: list[datetime] = []
    nulls = 0
    for n, rec in enumerate(records(path)):
        where = f"{path.name} record {n}"
        at = iso_time(field(rec, "timestamp", where), where)
        times.append(at)
        if rec.get(key) is None:
            nulls += 1
            continue
        points.append(Point(at, percent(rec[key], where), DAY))
    notes = ordering_note(times, path.name)
    notes.append(f"{key} in percent; one snapshot a day, known at its timestamp")
    if nulls:
        notes.append(f"{nulls} snapshot(s) without {key} skipped")
    return series(name, str(path), points, notes)
