"""Assembling imported series into the backtester's data-file format (see
``basis.backtest``): one row per UTC hour, every column aligned as known at the hour's close.

``DatasetSpec`` says which series may serve each column, in priority order, and how stale
each may be. ``build`` aligns them all, keeps the longest span where every *required* column
(SOL OHLC, perp close and high, funding, at least one lending protocol) is present, and
refuses a span with a hole in a required column rather than inventing the missing hours.
Optional columns (a protocol, an LST) are simply absent in the hours nobody serves them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from datasets.parse import floor_hour
from datasets.report import DatasetReport, SeriesReport
from datasets.series import HOUR, Bar, ColumnReport, Series, Source, align
from models.domain import Asset, Protocol

Value = Decimal | datetime | str | None
Record = dict[str, Value]


class BuildError(ValueError):
    """The sources cannot make a consecutive hourly dataset over the span asked for."""


@dataclass(frozen=True)
class ProtocolHistory:
    protocol: Protocol
    borrow: Sequence[Source[Decimal]]
    """USDC borrow APY (decimal), in priority order."""
    lend: dict[Asset, Sequence[Source[Decimal]]]
    """Supply APY of each collateral asset with a history."""
    liquidation_ltv: Decimal
    max_leverage: Decimal = Decimal(4)
    assumed_lend: dict[Asset, Decimal] = field(default_factory=dict)
    """Supply APY of collateral assets without a history (declared in the report)."""


@dataclass(frozen=True)
class LstHistory:
    asset: Asset
    exchange_rate: Sequence[Source[Decimal]]
    staking_apy: Sequence[Source[Decimal]]


@dataclass(frozen=True)
class DatasetSpec:
    sol: Sequence[Source[Bar]]
    """SOL oracle price (USD), hourly bars."""
    perp: Sequence[Source[Bar]]
    """Hyperliquid SOL-PERP price, hourly bars."""
    funding: Sequence[Source[Decimal]]
    """Hourly funding rate settled at each hour's close (positive: the short earns)."""
    protocols: Sequence[ProtocolHistory]
    lsts: Sequence[LstHistory] = ()
    assumptions: Sequence[str] = ()


@dataclass(frozen=True)
class Dataset:
    records: list[Record]
    report: DatasetReport


def _all_series(spec: DatasetSpec) -> list[Series[Any]]:
    groups: list[Sequence[Source[Any]]] = [spec.sol, spec.perp, spec.funding]
    for p in spec.protocols:
        groups.append(p.borrow)
        groups.extend(p.lend.values())
    for lst in spec.lsts:
        groups.extend([lst.exchange_rate, lst.staking_apy])
    seen: dict[str, Series[Any]] = {}
    for group in groups:
        for src in group:
            seen.setdefault(src.series.name, src.series)
    return list(seen.values())


def _bounds(spec: DatasetSpec) -> tuple[datetime, datetime]:
    """A grid wide enough for every hour the required columns could serve."""

    def first(group: Sequence[Source[Any]]) -> datetime:
        starts = [s.series.first for s in group if s.series.first is not None]
        if not starts:
            raise BuildError("a required column has no data at all")
        return min(starts)

    def last(group: Sequence[Source[Any]]) -> datetime:
        return max(s.series.last + s.max_age for s in group if s.series.last is not None)

    required = _required(spec)
    lo = max(first(g) for g in required)
    hi = min(last(g) for g in required)
    return floor_hour(lo) - HOUR, floor_hour(hi)


def _required(spec: DatasetSpec) -> list[Sequence[Source[Any]]]:
    borrow = [s for p in spec.protocols for s in p.borrow]
    if not borrow:
        raise BuildError("no lending protocol has a borrow-rate history")
    return [spec.sol, spec.perp, spec.funding, borrow]


def _grid(first: datetime, last: datetime) -> list[datetime]:
    out = []
    t = first
    while t <= last:
        out.append(t)
        t += HOUR
    return out


def _columns(
    spec: DatasetSpec, hours: list[datetime], *, required_only: bool = False
) -> tuple[dict[str, list[object]], list[ColumnReport]]:
    cols: dict[str, list[object]] = {}
    reports: list[ColumnReport] = []

    def put(name: str, sources: Sequence[Source[Any]]) -> None:
        values, rep = align(name, hours, sources)
        cols[name] = values
        reports.append(rep)

    put("sol", spec.sol)
    put("perp", spec.perp)
    put("funding_rate", spec.funding)
    for p in spec.protocols:
        put(f"{p.protocol.label}_borrow_apy", p.borrow)
        if required_only:
            continue
        for asset, sources in p.lend.items():
            put(f"{p.protocol.label}_lend_{asset.value}", sources)
    if not required_only:
        for lst in spec.lsts:
            put(f"{lst.asset.value}_exchange_rate", lst.exchange_rate)
            put(f"{lst.asset.value}_staking_apy", lst.staking_apy)
    return cols, reports


def _complete(spec: DatasetSpec, cols: dict[str, list[object]], i: int) -> bool:
    return (
        cols["sol"][i] is not None
        and cols["perp"][i] is not None
        and cols["funding_rate"][i] is not None
        and any(cols[f"{p.protocol.label}_borrow_apy"][i] is not None for p in spec.protocols)
    )


def build(
    spec: DatasetSpec, *, start: datetime | None = None, end: datetime | None = None
) -> Dataset:
    """Rows for the hours ``[start, end)``; by default the longest span, from the first hour
    every required column can serve to the last."""
    lo, hi = _bounds(spec)
    wide = _grid(start if start is not None else lo, end - HOUR if end is not None else hi)
    if not wide:
        raise BuildError("empty span: --start must be before --end")
    cols, _ = _columns(spec, wide, required_only=True)
    ok = [_complete(spec, cols, i) for i in range(len(wide))]
    complete = [i for i, good in enumerate(ok) if good]
    if not complete:
        raise BuildError("the required columns (SOL, perp, funding, a protocol) never overlap")
    # An explicit bound is kept as asked (a hole there is reported); a default one is trimmed
    # to the first and last complete hours.
    first = 0 if start is not None else complete[0]
    last = len(ok) - 1 if end is not None else complete[-1]
    holes = [wide[i] for i in range(first, last + 1) if not ok[i]]
    if holes:
        listed = ", ".join(h.strftime("%Y-%m-%d %H:%M") for h in holes[:10])
        raise BuildError(
            f"{len(holes)} hour(s) between {wide[first]:%Y-%m-%d %H:%M} and "
            f"{wide[last]:%Y-%m-%d %H:%M} lack a required column (SOL, perp, funding or every "
            f"protocol): {listed}{' ...' if len(holes) > 10 else ''}; "
            "choose --start/--end around them"
        )
    hours = wide[first : last + 1]
    cols, reports = _columns(spec, hours)
    records = [_record(spec, cols, i, h) for i, h in enumerate(hours)]
    report = DatasetReport(
        start=hours[0],
        end=hours[-1] + HOUR,
        hours=len(hours),
        columns=reports,
        series=[SeriesReport.of(s) for s in _all_series(spec)],
        assumptions=list(spec.assumptions),
    )
    return Dataset(records, report)


def _record(spec: DatasetSpec, cols: dict[str, list[object]], i: int, hour: datetime) -> Record:
    sol = cols["sol"][i]
    perp = cols["perp"][i]
    assert isinstance(sol, Bar)
    assert isinstance(perp, Bar)
    rec: Record = {
        "time": hour,
        "sol_open": sol.open,
        "sol_high": sol.high,
        "sol_low": sol.low,
        "sol_close": sol.close,
        "perp_close": perp.close,
        "perp_high": perp.high,
        "funding_rate": _dec(cols["funding_rate"][i]),
    }
    for lst in spec.lsts:
        a = lst.asset.value
        rec[f"{a}_exchange_rate"] = _dec(cols[f"{a}_exchange_rate"][i])
        rec[f"{a}_staking_apy"] = _dec(cols[f"{a}_staking_apy"][i])
    for p in spec.protocols:
        label = p.protocol.label
        borrow = _dec(cols[f"{label}_borrow_apy"][i])
        rec[f"{label}_borrow_apy"] = borrow
        present = borrow is not None
        rec[f"{label}_liquidation_ltv"] = p.liquidation_ltv if present else None
        rec[f"{label}_max_leverage"] = p.max_leverage if present else None
        for asset in p.lend:
            rec[f"{label}_lend_{asset.value}"] = (
                _dec(cols[f"{label}_lend_{asset.value}"][i]) if present else None
            )
        for asset, apy in p.assumed_lend.items():
            rec[f"{label}_lend_{asset.value}"] = apy if present else None
    return rec


def _dec(v: object) -> Decimal | None:
    assert v is None or isinstance(v, Decimal)
    return v
