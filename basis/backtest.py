"""The I/O side of ``basis backtest``: a scenario or a data file into market rows, and a
result into a table or JSON. The engine itself (``strategy.backtest``) is pure.

Data files (CSV or Parquet) hold one row per UTC hour, consecutive, with these columns (rates
are decimals, funding is Hyperliquid's hourly rate, positive when shorts earn):

- ``time`` (ISO 8601 or epoch milliseconds, the start of the hour), ``sol_open``, ``sol_high``,
  ``sol_low``, ``sol_close``, ``perp_close``, ``funding_rate`` (settled at the hour's end);
  optional ``perp_high`` (default: ``sol_high x perp_close / sol_close``),
  ``predicted_funding``, ``outages`` (``asgard;hyperliquid``);
- per asset ``A`` (``SOL``, ``jitoSOL``, ``jupSOL``, ``INF``) present: ``A_exchange_rate``
  (SOL per token), optional ``A_market_price_sol`` (default: the exchange rate) and
  ``A_staking_apy`` (default 0); SOL needs none;
- per protocol ``P`` (``marginfi``, ``kamino``, ``solend``, ``drift``) present:
  ``P_borrow_apy`` (USDC), ``P_liquidation_ltv``, ``P_lend_A`` per asset, optional
  ``P_max_leverage`` (default 4) and ``P_capacity_usd``.

An optional column may be empty in some hours: the asset or the protocol is then absent from
that hour (an LST before its history begins, a protocol in a gap of its rate history). Parquet
files from ``basis data build`` store numbers as ``decimal128(38, 18)`` (exact) and carry
their build report in the schema metadata (``datasets.files``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from models.domain import Asset, Protocol, Venue
from strategy.backtest import BacktestResult, MarketRow
from strategy.market import AssetQuote, ProtocolTerms
from venues.market.history import simulated_rows
from venues.market.simulator import MarketSimulator

REQUIRED = ("time", "sol_open", "sol_high", "sol_low", "sol_close", "perp_close", "funding_rate")


def scenario_rows(
    name: str,
    *,
    seed: int,
    start: datetime,
    days: int | None,
    warmup_hours: int,
    tick_seconds: int = 60,
) -> tuple[MarketSimulator, list[MarketRow]]:
    sim = MarketSimulator(name, seed=seed, start=start)
    n_days = days if days is not None else sim.spec.default_days
    if n_days < 1:
        raise ValueError("--days must be at least 1")
    rows = simulated_rows(
        sim, start, n_days * 24, warmup_hours=warmup_hours, tick_seconds=tick_seconds
    )
    return sim, rows


# ---- data files -----------------------------------------------------------------------------


class DataError(ValueError):
    """A data file that cannot be read as market rows; the message names row and column."""


def _dec(raw: Any, where: str) -> Decimal:
    if isinstance(raw, Decimal) and raw.is_finite():
        # Parquet decimals carry the column's scale (18 places): drop the trailing zeros.
        tidy = raw.normalize()
        exponent = tidy.as_tuple().exponent
        return tidy.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else tidy
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise DataError(f"{where}: {raw!r} is not a number") from None
    if not value.is_finite():
        raise DataError(f"{where}: {raw!r} is not finite")
    return value


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _time(raw: Any, where: str) -> datetime:
    if isinstance(raw, datetime):
        t = raw
    elif isinstance(raw, int | float) or (isinstance(raw, str) and raw.strip().isdigit()):
        t = datetime.fromtimestamp(int(raw) / 1000, tz=UTC)
    else:
        try:
            t = datetime.fromisoformat(str(raw).strip())
        except ValueError:
            raise DataError(f"{where}: {raw!r} is not a time") from None
    if t.tzinfo is None:
        raise DataError(f"{where}: {raw!r} has no time zone (use UTC)")
    return t.astimezone(UTC)


def _row(rec: Mapping[str, Any], n: int) -> MarketRow:
    def need(col: str) -> Decimal:
        raw = rec.get(col)
        if _blank(raw):
            raise DataError(f"row {n}: column {col} is missing")
        return _dec(raw, f"row {n}, {col}")

    def opt(col: str, default: Decimal | None) -> Decimal | None:
        raw = rec.get(col)
        return default if _blank(raw) else _dec(raw, f"row {n}, {col}")

    sol_close, perp_close, sol_high = need("sol_close"), need("perp_close"), need("sol_high")
    assets: dict[Asset, AssetQuote] = {}
    for a in Asset:
        x = opt(f"{a.value}_exchange_rate", Decimal(1) if a is Asset.SOL else None)
        if x is None:
            continue
        m = opt(f"{a.value}_market_price_sol", x)
        assets[a] = AssetQuote(
            exchange_rate=x,
            market_price_sol=m if m is not None else x,
            staking_apy=opt(f"{a.value}_staking_apy", Decimal(0)) or Decimal(0),
        )
    protocols = []
    for p in Protocol:
        borrow = opt(f"{p.label}_borrow_apy", None)
        if borrow is None:
            continue
        lend = {a: v for a in assets if (v := opt(f"{p.label}_lend_{a.value}", None)) is not None}
        protocols.append(
            ProtocolTerms(
                protocol=p,
                lend_apy=lend,
                borrow_apy=borrow,
                liquidation_ltv=need(f"{p.label}_liquidation_ltv"),
                max_leverage=opt(f"{p.label}_max_leverage", Decimal(4)) or Decimal(4),
                borrow_capacity_usd=opt(f"{p.label}_capacity_usd", None),
            )
        )
    if not protocols:
        raise DataError(f"row {n}: no lending protocol columns (<protocol>_borrow_apy)")
    outages_raw = rec.get("outages")
    outages = frozenset(
        Venue(v.strip()) for v in ("" if _blank(outages_raw) else str(outages_raw)).split(";") if v
    )
    perp_high = opt("perp_high", None)
    return MarketRow(
        time=_time(rec.get("time"), f"row {n}, time"),
        sol_open=need("sol_open"),
        sol_high=sol_high,
        sol_low=need("sol_low"),
        sol_close=sol_close,
        perp_close=perp_close,
        perp_high=perp_high if perp_high is not None else sol_high * perp_close / sol_close,
        funding_rate=need("funding_rate"),
        predicted_funding=opt("predicted_funding", None),
        assets=assets,
        protocols=tuple(protocols),
        outages=outages,
    )


def _records(path: Path) -> Iterable[Mapping[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with path.open(newline="") as fh:
            yield from csv.DictReader(fh)
    elif suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        yield from pq.read_table(path).to_pylist()
    else:
        raise DataError(f"{path}: expected a .csv or .parquet file")


def load_rows(path: Path) -> list[MarketRow]:
    if not path.exists():
        raise DataError(f"{path} does not exist")
    rows: list[MarketRow] = []
    for n, rec in enumerate(_records(path), start=2 if path.suffix.lower() == ".csv" else 1):
        missing = [c for c in REQUIRED if c not in rec]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}")
        rows.append(_row(rec, n))
    if not rows:
        raise DataError(f"{path}: no rows")
    return rows


def write_rows_csv(rows: Iterable[MarketRow], path: Path) -> None:
    """Write rows in the data-file format above (ticks are not kept)."""
    records: list[dict[str, str]] = []
    for r in rows:
        rec = {
            "time": r.time.isoformat(),
            "sol_open": str(r.sol_open),
            "sol_high": str(r.sol_high),
            "sol_low": str(r.sol_low),
            "sol_close": str(r.sol_close),
            "perp_close": str(r.perp_close),
            "perp_high": str(r.perp_high),
            "funding_rate": str(r.funding_rate),
            "predicted_funding": "" if r.predicted_funding is None else str(r.predicted_funding),
            "outages": ";".join(sorted(v.value for v in r.outages)),
        }
        for a, q in r.assets.items():
            rec[f"{a.value}_exchange_rate"] = str(q.exchange_rate)
            rec[f"{a.value}_market_price_sol"] = str(q.market_price_sol)
            rec[f"{a.value}_staking_apy"] = str(q.staking_apy)
        for t in r.protocols:
            p = t.protocol.label
            rec[f"{p}_borrow_apy"] = str(t.borrow_apy)
            rec[f"{p}_liquidation_ltv"] = str(t.liquidation_ltv)
            rec[f"{p}_max_leverage"] = str(t.max_leverage)
            rec[f"{p}_capacity_usd"] = (
                "" if t.borrow_capacity_usd is None else str(t.borrow_capacity_usd)
            )
            for a, v in t.lend_apy.items():
                rec[f"{p}_lend_{a.value}"] = str(v)
        records.append(rec)
    if not records:
        raise ValueError("no rows to write")
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)


# ---- output ---------------------------------------------------------------------------------


def _usd(x: Decimal, sign: bool = True) -> str:
    return f"{x:+,.2f}" if sign else f"{x:,.2f}"


def _pct(x: Decimal) -> str:
    return f"{x * 100:.2f}%"


def _when(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M")


def format_table(result: BacktestResult, source: str, *, trades: bool = True) -> str:
    c = result.config
    p = result.pnl
    lines = [
        f"Backtest  {source} · {c.asset.value} · {c.leverage}x · "
        f"capital ${_usd(c.capital_usd, False)}",
        f"Period    {_when(result.start)} -> {_when(result.end)} UTC · {result.hours} h · "
        f"in market {result.hours_in_market} h ({_pct(result.time_in_market)})",
        "",
        "PnL split (USD)",
    ]
    for name in ("funding", "staking", "lending", "borrow", "price", "fees"):
        value: Decimal = getattr(p, name)
        extra = ""
        if name == "fees":
            extra = (
                f"   of which slippage {_usd(result.slippage_usd, False)}, "
                f"liquidation penalties {_usd(result.liquidation_penalty_usd, False)}"
            )
        lines.append(f"  {name:<9}{_usd(value):>14}{extra}")
    lines += [
        "  " + "-" * 23,
        f"  {'total':<9}{_usd(p.total):>14}",
        "",
        f"APY {_pct(result.apy)}"
        + (f" (in market {_pct(result.apy_in_market)})" if result.apy_in_market is not None else "")
        + f" · max drawdown ${_usd(result.max_drawdown_usd, False)} "
        f"({_pct(result.max_drawdown_fraction)}) · final equity "
        f"${_usd(result.final_equity_usd, False)}",
        f"Round trips {result.round_trips} · rebalances {result.rebalances} · "
        f"liquidations {result.liquidations}",
    ]
    if result.exits:
        lines.append("Exits     " + ", ".join(f"{k} x{v}" for k, v in sorted(result.exits.items())))
    if result.denials:
        top = sorted(result.denials.items(), key=lambda kv: (-kv[1], kv[0]))
        lines.append("Flat (h)  " + ", ".join(f"{k} {v}" for k, v in top))
    if trades and result.trades:
        lines += ["", "Trades"]
        for t in result.trades:
            lines.append(
                f"  {_when(t.opened_at)} -> {_when(t.closed_at)}  {t.protocol.label:<8} "
                f"SOL {t.entry_sol_price:.2f} -> {t.exit_sol_price:.2f}  "
                f"{t.exit_reason.value} ({t.urgency.value})  {_usd(t.pnl.total)}"
            )
    return "\n".join(lines)


def result_json(result: BacktestResult, source: dict[str, object]) -> str:
    body = {"source": source, **result.model_dump(mode="json", exclude={"equity_curve"})}
    return json.dumps(body, indent=2)


def parse_start(raw: str | None, default: datetime) -> datetime:
    if raw is None:
        return default
    t = _time(raw, "--start")
    if t != t.replace(minute=0, second=0, microsecond=0):
        raise DataError("--start must be on the hour")
    return t
