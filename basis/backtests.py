"""Backtests over data files: the rows a run needs (with declared stand-ins), a leverage
comparison and a sensitivity sweep in one shared pass, and their tables.

``basis backtest --data`` goes through here; ``basis.backtest`` keeps the file format and the
single-run table.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from basis.backtest import DataError, load_rows, parse_start
from basis.intrahour import NOTES, walk
from models.domain import Asset
from models.risk import RiskParams
from strategy.backtest import BacktestConfig, BacktestResult, MarketRow

STAND_INS: dict[Asset, Asset] = {Asset.INF: Asset.JITOSOL}
"""Assets without a history of their own, and the asset whose history stands in for them."""


@dataclass
class DataRun:
    rows: list[MarketRow]
    start: datetime
    notes: list[str] = field(default_factory=list)
    """Stand-ins and adjustments, printed with every result."""
    meta: dict[str, Any] | None = None
    """The dataset's build report, when it has one."""


def stand_in(rows: Sequence[MarketRow], asset: Asset, proxy: Asset) -> list[MarketRow]:
    """Rows where ``asset`` is quoted, and lent, exactly as ``proxy``."""
    out = []
    for r in rows:
        quote = r.assets.get(proxy)
        if quote is None or asset in r.assets:
            out.append(r)
            continue
        terms = tuple(
            t.model_copy(update={"lend_apy": {**t.lend_apy, asset: t.lend_apy[proxy]}})
            if proxy in t.lend_apy
            else t
            for t in r.protocols
        )
        out.append(dataclasses.replace(r, assets={**r.assets, asset: quote}, protocols=terms))
    return out


def prepare_data(
    path: Path,
    asset: Asset,
    start: str | None,
    days: int | None,
    *,
    meta: dict[str, Any] | None,
    intrahour: str = "path",
) -> DataRun:
    """Load a data file for one asset: a declared stand-in for an asset the file does not
    quote, and a trading start no earlier than the asset's first quote (earlier rows still
    feed the funding lookback)."""
    rows = load_rows(path)
    notes: list[str] = []
    if asset.is_lst and not any(asset in r.assets for r in rows):
        proxy = STAND_INS.get(asset)
        if proxy is None or not any(proxy in r.assets for r in rows):
            raise DataError(f"{path.name} has no {asset.value} quotes")
        rows = stand_in(rows, asset, proxy)
        notes.append(
            f"{asset.value}: no history of its own; {proxy.value}'s exchange rate, staking "
            "and supply rates stand in for it"
        )
    begin = parse_start(start, rows[0].time)
    if asset.is_lst:
        first = next((r.time for r in rows if asset in r.assets), None)
        if first is None:  # pragma: no cover - checked above
            raise DataError(f"{path.name} has no {asset.value} quotes")
        if begin < first:
            notes.append(
                f"{asset.value} is quoted from {first:%Y-%m-%d %H:%M}: trading starts there"
            )
            begin = first
    if days is not None:
        stop = begin + timedelta(days=days)
        rows = [r for r in rows if r.time < stop]
    try:
        rows = walk(rows, intrahour, begin)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    notes.append(NOTES[intrahour])
    return DataRun(rows, begin, notes, meta)


def parse_list(raw: str, name: str) -> list[Decimal]:
    out = []
    for part in raw.split(","):
        try:
            out.append(Decimal(part.strip()))
        except ArithmeticError:
            raise DataError(f"{name}: {part!r} is not a number") from None
    if not out or any(not v.is_finite() for v in out):
        raise DataError(f"{name}: expected numbers separated by commas")
    return out


# ---- comparison -----------------------------------------------------------------------------


def _pct(x: Decimal | None) -> str:
    return "-" if x is None else f"{x * 100:.2f}%"


def _usd(x: Decimal) -> str:
    return f"{x:+,.2f}"


_MONEY = ("total", "funding", "staking", "lending", "borrow", "price", "fees")
COMPARISON_HEAD = (
    f"{'lev':>5} {'APY':>7} {'in mkt':>8} "
    + " ".join(f"{m:>10}" for m in _MONEY)
    + f" {'max DD':>7} {'liq':>3} {'trips':>5} {'rebal':>5} {'in mkt':>7}"
)


def comparison_row(r: BacktestResult) -> str:
    p = r.pnl
    lev = f"{r.config.leverage.normalize():f}x"
    money = " ".join(f"{_usd(getattr(p, m)):>10}" for m in _MONEY)
    return (
        f"{lev:>5} {_pct(r.apy):>7} {_pct(r.apy_in_market):>8} {money} "
        f"{_pct(r.max_drawdown_fraction):>7} {r.liquidations:>3} {r.round_trips:>5} "
        f"{r.rebalances:>5} {_pct(r.time_in_market):>7}"
    )


def comparison_table(results: Sequence[BacktestResult], label: str, notes: Sequence[str]) -> str:
    first = results[0]
    c = first.config
    lines = [
        f"Leverage comparison  {label} · {c.asset.value} · capital ${c.capital_usd:,.2f}",
        f"Period    {first.start:%Y-%m-%d %H:%M} -> {first.end:%Y-%m-%d %H:%M} UTC · "
        f"{first.hours} h",
        *(f"Note      {n}" for n in notes),
        "",
        "PnL split in USD (each row: total = funding + staking + lending + borrow + price + fees)",
        COMPARISON_HEAD,
    ]
    lines += [comparison_row(r) for r in results]
    never = [r for r in results if r.round_trips == 0]
    for r in never:
        top = sorted(r.denials.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        lines.append(
            f"{r.config.leverage.normalize():f}x never entered: the entry rules refused every "
            "hour (" + ", ".join(f"{k} {v} h" for k, v in top) + ")"
        )
    return "\n".join(lines)


def results_json(results: Sequence[BacktestResult], source: dict[str, object]) -> str:
    body = {
        "source": source,
        "results": [r.model_dump(mode="json", exclude={"equity_curve"}) for r in results],
    }
    return json.dumps(body, indent=2)


# ---- sweep ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepPoint:
    leverage: Decimal
    min_net_apy: Decimal
    patience_hours: int


def sweep_runs(
    asset: Asset,
    capital: Decimal,
    start: datetime,
    leverages: Sequence[Decimal],
    thresholds: Sequence[Decimal],
    patiences: Sequence[int],
    params: RiskParams,
) -> tuple[list[SweepPoint], list[BacktestConfig], list[RiskParams]]:
    points, configs, per_run = [], [], []
    for th in thresholds:
        for pa in patiences:
            run_params = params.model_copy(
                update={"exit": params.exit.model_copy(update={"patience_hours": pa})}
            )
            for lev in leverages:
                points.append(SweepPoint(lev, th, pa))
                configs.append(
                    BacktestConfig(
                        asset=asset,
                        leverage=lev,
                        capital_usd=capital,
                        start=start,
                        min_net_apy=th,
                        label=f"{lev}x min {th} patience {pa}h",
                    )
                )
                per_run.append(run_params)
    return points, configs, per_run


def survived(r: BacktestResult) -> bool:
    """No liquidation and no loss over the period."""
    return r.liquidations == 0 and r.pnl.total >= 0


def sweep_table(
    points: Sequence[SweepPoint],
    results: Sequence[BacktestResult],
    leverages: Sequence[Decimal],
    label: str,
    seconds: float,
) -> str:
    first = results[0]
    by = {
        (p.min_net_apy, p.patience_hours, p.leverage): r
        for p, r in zip(points, results, strict=True)
    }
    keys = sorted({(p.min_net_apy, p.patience_hours) for p in points})
    head = f"{'min net APY':>11} {'patience':>8} " + " ".join(
        f"{f'{lev.normalize():f}x':>17}" for lev in leverages
    )
    lines = [
        f"Sensitivity sweep  {label} · {first.config.asset.value} · {first.start:%Y-%m-%d} -> "
        f"{first.end:%Y-%m-%d} · {len(results)} runs in {seconds:.1f} s (one shared pass)",
        "Each cell: APY / max drawdown / liquidations; * = survived (no liquidation, no loss)",
        "",
        head,
    ]
    for th, pa in keys:
        cells = []
        for lev in leverages:
            r = by[(th, pa, lev)]
            mark = "*" if survived(r) else " "
            cells.append(
                f"{_pct(r.apy):>7}/{_pct(r.max_drawdown_fraction):>6}/{r.liquidations}{mark}"
            )
        lines.append(f"{_pct(th):>11} {f'{pa} h':>8} " + " ".join(f"{c:>17}" for c in cells))
    best = max(zip(points, results, strict=True), key=lambda pr: pr[1].apy)
    alive = sum(1 for r in results if survived(r))
    lines += [
        "",
        f"Survived: {alive} of {len(results)}. Best APY: {_pct(best[1].apy)} at "
        f"{best[0].leverage.normalize():f}x, min net APY {_pct(best[0].min_net_apy)}, patience "
        f"{best[0].patience_hours} h (max drawdown {_pct(best[1].max_drawdown_fraction)}).",
    ]
    return "\n".join(lines)
