"""Hand-made market rows for backtests whose figures can be computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from models.domain import Asset, Protocol, Venue
from models.risk import RiskParams
from strategy import AssetQuote, ProtocolTerms
from strategy.backtest import MarketRow, Tick

D = Decimal
H = timedelta(hours=1)
T0 = datetime(2025, 6, 1, tzinfo=UTC)
WARMUP = 24


def free_params(**updates: object) -> RiskParams:
    """The seed limits with every trading cost set to zero."""
    p = RiskParams()
    costs = p.costs.model_copy(
        update={
            "hyperliquid_taker_bps": D(0),
            "hyperliquid_maker_bps": D(0),
            "asgard_fee_bps": D(0),
            "expected_slippage_bps": D(0),
            "urgent_slippage_bps": D(0),
            "fixed_cost_usd": D(0),
            "transfer_cost_usd": D(0),
        }
    )
    return p.model_copy(update={"costs": costs, **updates})


def protocol(borrow: str = "0.0876", lend: str = "0.0438", ltv: str = "0.9") -> ProtocolTerms:
    return ProtocolTerms(
        protocol=Protocol.MARGINFI,
        lend_apy={Asset.SOL: D(lend), Asset.JITOSOL: D(0)},
        borrow_apy=D(borrow),
        liquidation_ltv=D(ltv),
    )


def row(
    i: int,
    *,
    price: str | Decimal = "100",
    open_: str | Decimal | None = None,
    low: str | Decimal | None = None,
    high: str | Decimal | None = None,
    funding: str = "0.00002",
    borrow: str = "0.0876",
    lend: str = "0.0438",
    outages: frozenset[Venue] = frozenset(),
    ticks: tuple[tuple[int, str], ...] = (),
) -> MarketRow:
    """Row ``i`` hours after ``T0`` (negative: warm-up). Perp = oracle unless ticks say."""
    p = D(price)
    o = D(open_) if open_ is not None else p
    t = T0 + i * H
    tk = tuple(Tick(at=t + timedelta(minutes=m), sol=D(v), perp=D(v)) for m, v in ticks)
    prices = [o, p, *(k.sol for k in tk)]
    lo = D(low) if low is not None else min(prices)
    hi = D(high) if high is not None else max(prices)
    return MarketRow(
        time=t,
        sol_open=o,
        sol_high=hi,
        sol_low=lo,
        sol_close=p,
        perp_close=p,
        perp_high=hi,
        funding_rate=D(funding),
        assets={Asset.SOL: AssetQuote(exchange_rate=D(1), market_price_sol=D(1))},
        protocols=(protocol(borrow, lend),),
        outages=outages,
        ticks=tk,
    )


def flat(hours: int, **kw: object) -> list[MarketRow]:
    """Warm-up plus ``hours`` trading rows of a flat market."""
    return [row(i, **kw) for i in range(-WARMUP, hours)]  # type: ignore[arg-type]
