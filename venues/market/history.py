"""Hourly backtest rows from the simulator (the scenario side of ``basis backtest``).

Each row carries one tick per ``tick_seconds`` (default a minute, about the monitor's 30 s
cadence), so the backtester can run the urgent risk rules inside a crash hour the way the live
monitor would. Warm-up rows (before ``start``) carry no ticks: they only feed the funding
lookback.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from models.domain import Asset
from strategy.backtest.rows import HOUR, MarketRow, Tick
from strategy.market import AssetQuote, ProtocolTerms
from venues.market.simulator import MarketSimulator, as_decimal
from venues.market.source import USDC, ProtocolMarket

_PRICE_Q = Decimal("0.0001")
_LST_Q = Decimal("0.000000001")
_APY_Q = Decimal("0.000001")


def protocol_terms(p: ProtocolMarket) -> ProtocolTerms:
    """The simulator's (venue-shaped) terms as the strategy reads them."""
    return ProtocolTerms(
        protocol=p.protocol,
        active=p.active,
        lend_apy={a: p.lend_apy[a.value] for a in Asset if a.value in p.lend_apy},
        borrow_apy=p.borrow_apy[USDC],
        max_leverage=p.max_leverage,
        liquidation_ltv=p.liquidation_ltv,
        borrow_capacity_usd=p.borrow_capacity_usd,
    )


def _quotes(sim: MarketSimulator, at: datetime) -> Mapping[Asset, AssetQuote]:
    h = (at - sim.start).total_seconds() / 3600.0
    out: dict[Asset, AssetQuote] = {}
    for a in Asset:
        x = sim.exchange_rate_f(a, h)
        out[a] = AssetQuote(
            exchange_rate=as_decimal(x, _LST_Q),
            market_price_sol=as_decimal(x * (1.0 + sim.peg_f(a, at)), _LST_Q),
            staking_apy=as_decimal(sim.spec.staking_apy.get(a, 0.0), _APY_Q),
        )
    return out


def simulated_rows(
    sim: MarketSimulator,
    start: datetime,
    hours: int,
    *,
    warmup_hours: int = 0,
    tick_seconds: int = 60,
) -> list[MarketRow]:
    """Rows for the hours ``[start - warmup_hours, start + hours)``; ``start`` on the hour."""
    if (start.minute, start.second, start.microsecond) != (0, 0, 0):
        raise ValueError("start must be on the hour")
    if hours < 1 or warmup_hours < 0:
        raise ValueError("hours must be positive and warmup_hours not negative")
    if tick_seconds < 0 or (tick_seconds and 3600 % tick_seconds):
        raise ValueError("tick_seconds must divide an hour (0: no ticks)")
    rows: list[MarketRow] = []
    last_raw: tuple[ProtocolMarket, ...] | None = None
    terms: tuple[ProtocolTerms, ...] = ()
    step = timedelta(seconds=tick_seconds) if tick_seconds else None
    for i in range(-warmup_hours, hours):
        t = start + i * HOUR
        close = t + HOUR
        sol_o, sol_c = sim.sol_f(t), sim.sol_f(close)
        perp_c = sim.perp_f(close)
        ticks: list[Tick] = []
        if step is not None and i >= 0:
            at = t + step
            while at < close:
                ticks.append(
                    Tick(
                        at=at,
                        sol=as_decimal(sim.sol_f(at), _PRICE_Q),
                        perp=as_decimal(sim.perp_f(at), _PRICE_Q),
                    )
                )
                at += step
        if ticks:
            lo = min(min(k.sol for k in ticks), as_decimal(min(sol_o, sol_c), _PRICE_Q))
            hi = max(max(k.sol for k in ticks), as_decimal(max(sol_o, sol_c), _PRICE_Q))
            perp_hi = max(max(k.perp for k in ticks), as_decimal(perp_c, _PRICE_Q))
        else:
            flo, fhi = sim.sol_range_f(t, close)
            lo, hi = as_decimal(flo, _PRICE_Q), as_decimal(fhi, _PRICE_Q)
            perp_hi = as_decimal(fhi * perp_c / sol_c, _PRICE_Q)
        raw = sim.protocols_at(t)
        if raw is not last_raw:  # the simulator hands out one tuple per hour
            terms = tuple(protocol_terms(p) for p in raw)
            last_raw = raw
        rows.append(
            MarketRow(
                time=t,
                sol_open=as_decimal(sol_o, _PRICE_Q),
                sol_high=hi,
                sol_low=lo,
                sol_close=as_decimal(sol_c, _PRICE_Q),
                perp_close=as_decimal(perp_c, _PRICE_Q),
                perp_high=max(perp_hi, as_decimal(perp_c, _PRICE_Q)),
                funding_rate=sim.settled_funding(close),
                predicted_funding=sim.predicted_funding(close),
                assets=_quotes(sim, close),
                protocols=terms,
                outages=sim.outages_between(t, close),
                ticks=tuple(ticks),
            )
        )
    return rows
